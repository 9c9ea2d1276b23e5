import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { InProcessAdapter, retryDelayMs } from "../../../../lib/channels/in-process-adapter";
import { waitFor } from "../../../support/harness";

type Broker = ServiceBroker & { sendToChannel(name: string, payload: unknown, opts?: unknown): Promise<void> };

let broker: Broker | undefined;

async function start(services: any[], opts: { maxInFlight?: number; maxRetries?: number } = {}): Promise<Broker> {
	const adapter = new InProcessAdapter({
		maxInFlight: opts.maxInFlight ?? 5,
		maxRetries: opts.maxRetries ?? 3,
		deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
	});
	// A small bulkhead queue: the Fake adapter would drop everything past it.
	broker = new ServiceBroker({
		logger: false,
		bulkhead: { enabled: true, concurrency: 5, maxQueueSize: 10 },
		middlewares: [ChannelsMiddleware({ adapter, sendMethodName: "sendToChannel" } as any)],
	}) as Broker;
	for (const s of services) broker.createService(s);
	await broker.start();
	return broker;
}

afterEach(async () => {
	await broker?.stop();
	broker = undefined;
});

describe("in-process channels adapter", () => {
	it("delivers a burst far larger than the event bulkhead's queue, never more than maxInFlight at once", async () => {
		const seen = new Set<number>();
		let running = 0;
		let peak = 0;
		const b = await start(
			[
				{
					name: "consumer",
					channels: {
						work: {
							group: "g",
							async handler(payload: { n: number }) {
								running++;
								peak = Math.max(peak, running);
								await new Promise((r) => setTimeout(r, 1));
								seen.add(payload.n);
								running--;
							},
						},
					},
				},
			],
			{ maxInFlight: 4 },
		);
		for (let n = 0; n < 1000; n++) await b.sendToChannel("work", { n });
		await waitFor(() => seen.size === 1000, 10_000, "every message handled");
		expect(peak).toBe(4);
	});

	it("redelivers a message whose handler failed, with the redelivery count in its headers", async () => {
		const attempts: unknown[] = [];
		const b = await start([
			{
				name: "consumer",
				channels: {
					flaky: {
						group: "g",
						async handler(_payload: unknown, raw: { headers?: Record<string, unknown> }) {
							attempts.push(raw.headers?.["x-redelivered-count"] ?? 0);
							if (attempts.length < 3) throw new Error("database hiccup");
						},
					},
				},
			},
		]);
		await b.sendToChannel("flaky", { id: 1 });
		await waitFor(() => attempts.length === 3, 5_000, "third attempt");
		expect(attempts).toEqual([0, 1, 2]);
		await new Promise((r) => setTimeout(r, retryDelayMs(3) + 100));
		expect(attempts).toHaveLength(3);
	});

	it("moves a message that keeps failing to the dead-letter channel after maxRetries", async () => {
		let attempts = 0;
		const parked: { payload: unknown; headers: Record<string, unknown> }[] = [];
		const b = await start(
			[
				{
					name: "consumer",
					channels: {
						broken: {
							group: "alerts",
							async handler() {
								attempts++;
								throw new Error("always");
							},
						},
					},
				},
				{
					name: "parking",
					channels: {
						DEAD_LETTER: {
							group: "ops",
							handler: async (payload: unknown, raw: { headers: Record<string, unknown> }) => void parked.push({ payload, headers: raw.headers }),
						},
					},
				},
			],
			{ maxRetries: 2 },
		);
		await b.sendToChannel("broken", { donation: "D1" }, { headers: { $requestID: "req-1" } });
		await waitFor(() => parked.length === 1, 5_000, "dead-lettered");
		expect(attempts).toBe(3); // the first delivery and two retries
		expect(parked[0].payload).toEqual({ donation: "D1" });
		expect(parked[0].headers).toMatchObject({ "x-original-channel": "broken", "x-original-group": "alerts", $requestID: "req-1" });
	});

	it("lets the messages being handled finish when the broker stops", async () => {
		let finished = 0;
		const b = await start([
			{
				name: "consumer",
				channels: {
					slow: {
						group: "g",
						async handler() {
							await new Promise((r) => setTimeout(r, 200));
							finished++;
						},
					},
				},
			},
		]);
		await b.sendToChannel("slow", {});
		await waitFor(() => (b as any).channelAdapter.pending()[Object.keys((b as any).channelAdapter.pending())[0]]?.active === 1, 2_000, "in flight");
		await b.stop();
		broker = undefined;
		expect(finished).toBe(1);
	});

	it("backs off 100 ms, 200 ms, 400 ms … up to 5 s", () => {
		expect([1, 2, 3, 4, 10].map(retryDelayMs)).toEqual([100, 200, 400, 800, 5000]);
	});
});

describe("in-process channels adapter with a journal", () => {
	const dirs: string[] = [];
	afterEach(() => {
		for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
	});
	const tmpJournal = () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-journal-"));
		dirs.push(dir);
		return path.join(dir, "channels.journal");
	};

	async function journaled(file: string, services: any[], opts: { maxInFlight?: number } = {}): Promise<Broker> {
		const adapter = new InProcessAdapter({
			maxInFlight: opts.maxInFlight ?? 5,
			maxRetries: 1,
			deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
			journal: file,
		});
		const b = new ServiceBroker({ logger: false, middlewares: [ChannelsMiddleware({ adapter, sendMethodName: "sendToChannel" } as any)] }) as Broker;
		for (const s of services) b.createService(s);
		await b.start();
		return b;
	}

	it("delivers after a restart what was queued or being handled when the process stopped, to the groups that had not finished", async () => {
		const file = tmpJournal();
		const handled: Record<string, number[]> = { alerts: [], notifications: [] };
		let release: () => void = () => undefined;
		const gate = new Promise<void>((r) => (release = r));
		// First run: notifications handles everything, alerts gets stuck on the first message.
		const first = await journaled(
			file,
			[
				{
					name: "notifications",
					channels: { paid: { group: "notifications", handler: async (p: { n: number }) => void handled.notifications.push(p.n) } },
				},
				{
					name: "alerts",
					channels: {
						paid: {
							group: "alerts",
							async handler(p: { n: number }) {
								if (p.n === 0) await gate;
								handled.alerts.push(p.n);
							},
						},
					},
				},
			],
			{ maxInFlight: 1 },
		);
		for (let n = 0; n < 4; n++) await first.sendToChannel("paid", { n });
		await waitFor(() => handled.notifications.length === 4, 2000, "notifications done");
		expect(handled.alerts).toEqual([]);
		// Stopped while alerts still holds message 0, with 1–3 queued: message 0 is let go once the
		// stop has unsubscribed the consumer (its queue emptied).
		const adapter = (first as any).channelAdapter as InProcessAdapter;
		const alertsQueue = () => Object.entries(adapter.pending()).find(([id]) => id.includes("alerts"))?.[1];
		expect(alertsQueue()).toMatchObject({ queued: 3, active: 1 });
		const stopping = first.stop();
		await waitFor(() => alertsQueue()?.queued === 0, 3000, "the stop emptying the queue");
		release();
		await stopping;
		expect(handled.alerts).toEqual([0]);

		const second: Record<string, number[]> = { alerts: [], notifications: [] };
		const again = await journaled(file, [
			{ name: "notifications", channels: { paid: { group: "notifications", handler: async (p: { n: number }) => void second.notifications.push(p.n) } } },
			{ name: "alerts", channels: { paid: { group: "alerts", handler: async (p: { n: number }) => void second.alerts.push(p.n) } } },
		]);
		try {
			await waitFor(() => second.alerts.length === 3, 2000, "the queued messages delivered again");
			expect(second.alerts.sort()).toEqual([1, 2, 3]);
			expect(second.notifications).toEqual([]);
		} finally {
			await again.stop();
		}
		// Everything finished: the journal is empty after the next start's compaction.
		const third = await journaled(file, [{ name: "alerts", channels: { paid: { group: "alerts", handler: async () => undefined } } }]);
		await third.stop();
		expect(fs.readFileSync(file, "utf8")).toBe("");
	});

	it("a message that was dead-lettered counts as finished; a line cut short by a crash is skipped", async () => {
		const file = tmpJournal();
		const parked: unknown[] = [];
		const b = await journaled(file, [
			{ name: "broken", channels: { work: { group: "g", handler: async () => Promise.reject(new Error("always")) } } },
			{ name: "ops", channels: { DEAD_LETTER: { group: "ops", handler: async (p: unknown) => void parked.push(p) } } },
		]);
		await b.sendToChannel("work", { id: 1 });
		await waitFor(() => parked.length === 1, 3000, "dead-lettered");
		await b.stop();
		fs.appendFileSync(file, '{"p":"cut-sho');
		const seen: unknown[] = [];
		const again = await journaled(file, [{ name: "broken", channels: { work: { group: "g", handler: async (p: unknown) => void seen.push(p) } } }]);
		await again.stop();
		expect(seen).toEqual([]);
	});
});
