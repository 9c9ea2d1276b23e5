import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ServiceBroker } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { InProcessAdapter } from "../../../../lib/channels/in-process-adapter";
import { ChannelJournal } from "../../../../lib/channels/journal";
import { storageUnavailable } from "../../../../lib/tools/errors";
import { storageFailure, storageWorked } from "../../../../lib/db/storage-health";
import { failingDisk, type FailingDisk } from "../../../support/failing-disk";
import { waitFor } from "../../../support/harness";

/**
 * The channel journal and the in-process adapter on a disk that refuses writes (the real file
 * system, with `fs.writeSync` failing as on a full disk): nothing is acknowledged that was not
 * journaled, nothing crashes the process, and everything goes on once space is back.
 */

type Broker = ServiceBroker & { sendToChannel(name: string, payload: unknown, opts?: unknown): Promise<void> };

const dirs: string[] = [];
let broker: Broker | undefined;
let disk: FailingDisk | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);

beforeEach(() => {
	unhandled.length = 0;
	process.on("unhandledRejection", onUnhandled);
	process.on("uncaughtException", onUnhandled);
	storageWorked();
});
afterEach(async () => {
	disk?.restore();
	disk = undefined;
	await broker?.stop();
	broker = undefined;
	process.off("unhandledRejection", onUnhandled);
	process.off("uncaughtException", onUnhandled);
	for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
	expect(unhandled).toEqual([]);
});

function tmpJournal() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-journal-"));
	dirs.push(dir);
	return path.join(dir, "channels.journal");
}

async function journaled(file: string, services: any[]): Promise<Broker> {
	const adapter = new InProcessAdapter({ maxInFlight: 5, maxRetries: 1, deadLettering: { enabled: true, queueName: "DEAD_LETTER" }, journal: file });
	broker = new ServiceBroker({ logger: false, middlewares: [ChannelsMiddleware({ adapter, sendMethodName: "sendToChannel" } as any)] }) as Broker;
	for (const s of services) broker.createService(s);
	await broker.start();
	return broker;
}

/** What a restart would find unfinished in the journal, per channel. */
function unfinishedOnDisk(file: string, groups: Record<string, string[]>) {
	const j = new ChannelJournal(file, (c) => groups[c] ?? []);
	j.load();
	return j
		.unfinished()
		.filter((e) => (groups[e.channel] ?? []).some((g) => !e.done.has(g)))
		.map((e) => ({ channel: e.channel, payload: e.payload, done: [...e.done].sort() }));
}

function wholeLines(file: string) {
	const text = fs.readFileSync(file, "utf8");
	return text
		.split("\n")
		.filter(Boolean)
		.every((l) => {
			try {
				JSON.parse(l);
				return true;
			} catch {
				return false;
			}
		});
}

describe("channel journal on a disk that refuses writes", () => {
	it.each(["ENOSPC", "EDQUOT", "EROFS", "EIO"])(
		"a publish refused with %s throws 503 STORAGE_UNAVAILABLE, records nothing and leaves no torn line",
		(code) => {
			const file = tmpJournal();
			const j = new ChannelJournal(file, () => ["g"]);
			j.published({ id: "m1", channel: "work", payload: { n: 1 } });
			disk = failingDisk(code);
			expect(() => j.published({ id: "m2", channel: "work", payload: { n: 2 } })).toThrow(
				expect.objectContaining({ code: 503, type: "STORAGE_UNAVAILABLE", data: expect.objectContaining({ reason: code }) }),
			);
			expect(() => j.finished("m1", "g")).toThrow(expect.objectContaining({ type: "STORAGE_UNAVAILABLE" }));
			expect(j.unfinished().map((e) => [e.id, [...e.done]])).toEqual([["m1", []]]);
			expect(storageFailure()).toMatchObject({ reason: code, where: "channel journal" });
			disk.free();
			j.published({ id: "m3", channel: "work", payload: { n: 3 } });
			expect(storageFailure()).toBeNull();
			j.close();
			expect(wholeLines(file)).toBe(true);
			expect(unfinishedOnDisk(file, { work: ["g"] }).map((e) => e.payload)).toEqual([{ n: 1 }, { n: 3 }]);
		},
	);
});

describe("in-process adapter on a disk that refuses writes", () => {
	it("a message failing into the dead-letter channel while the disk is full neither crashes nor is acknowledged, and is parked once space is back", async () => {
		const file = tmpJournal();
		const parked: unknown[] = [];
		const b = await journaled(file, [
			{ name: "broken", channels: { work: { group: "g", handler: async () => Promise.reject(new Error("always")) } } },
			{ name: "ops", channels: { DEAD_LETTER: { group: "ops", handler: async (p: unknown) => void parked.push(p) } } },
		]);
		disk = failingDisk();
		await expect(b.sendToChannel("work", { id: 0 })).rejects.toMatchObject({ code: 503, type: "STORAGE_UNAVAILABLE" });
		disk.free();
		await b.sendToChannel("work", { id: 1 });
		disk.fill();
		// The handler failed past maxRetries; the move to DEAD_LETTER is refused again and again.
		await waitFor(() => disk!.refused >= 4, 5000, "dead-lettering tried several times");
		expect(parked).toEqual([]);
		expect(unfinishedOnDisk(file, { work: ["g"], DEAD_LETTER: ["ops"] })).toEqual([{ channel: "work", payload: { id: 1 }, done: [] }]);
		disk.free();
		await waitFor(() => parked.length === 1, 8000, "parked once space is back");
		expect(parked).toEqual([{ id: 1 }]);
		await waitFor(() => unfinishedOnDisk(file, { work: ["g"], DEAD_LETTER: ["ops"] }).length === 0, 3000, "both acknowledged");
		expect(wholeLines(file)).toBe(true);
	});

	it("a handler failing on storage is retried until storage is back, past maxRetries and without dead-lettering", async () => {
		const file = tmpJournal();
		let storageDown = true;
		let tries = 0;
		const handled: unknown[] = [];
		const parked: unknown[] = [];
		const b = await journaled(file, [
			{
				name: "writer",
				channels: {
					work: {
						group: "g",
						async handler(p: unknown) {
							tries++;
							if (storageDown) throw storageUnavailable({ code: "ENOSPC" });
							handled.push(p);
						},
					},
				},
			},
			{ name: "ops", channels: { DEAD_LETTER: { group: "ops", handler: async (p: unknown) => void parked.push(p) } } },
		]);
		await b.sendToChannel("work", { id: 7 });
		await waitFor(() => tries >= 4, 5000, "several tries (maxRetries is 1)");
		storageDown = false;
		await waitFor(() => handled.length === 1, 8000, "handled once storage is back");
		expect(parked).toEqual([]);
		await waitFor(() => unfinishedOnDisk(file, { work: ["g"], DEAD_LETTER: ["ops"] }).length === 0, 3000, "acknowledged");
	});

	it("a start whose journal compaction finds no room keeps the old journal and delivers what was unfinished", async () => {
		const file = tmpJournal();
		const j = new ChannelJournal(file, () => ["g"]);
		j.published({ id: "m1", channel: "work", payload: { n: 1 } });
		j.published({ id: "m2", channel: "work", payload: { n: 2 } });
		j.finished("m1", "g");
		j.close();
		const noRoom = vi.spyOn(fs, "writeFileSync").mockImplementation(() => {
			throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
		});
		const handled: unknown[] = [];
		try {
			await journaled(file, [{ name: "w", channels: { work: { group: "g", handler: async (p: unknown) => void handled.push(p) } } }]);
			await waitFor(() => handled.length === 1, 3000, "the unfinished message delivered");
		} finally {
			noRoom.mockRestore();
		}
		expect(handled).toEqual([{ n: 2 }]);
		await waitFor(() => unfinishedOnDisk(file, { work: ["g"] }).length === 0, 3000, "acknowledged in the old journal");
	});

	it("a handled message whose acknowledgement cannot be journaled stays unfinished until it can", async () => {
		const file = tmpJournal();
		const handled: unknown[] = [];
		let release: () => void = () => undefined;
		const gate = new Promise<void>((r) => (release = r));
		const b = await journaled(file, [
			{
				name: "reader",
				channels: {
					work: {
						group: "g",
						async handler(p: unknown) {
							await gate;
							handled.push(p);
						},
					},
				},
			},
		]);
		await b.sendToChannel("work", { id: 9 });
		disk = failingDisk();
		release();
		await waitFor(() => handled.length === 1 && disk!.refused >= 2, 5000, "handled, acknowledgement refused twice");
		expect(unfinishedOnDisk(file, { work: ["g"] })).toEqual([{ channel: "work", payload: { id: 9 }, done: [] }]);
		disk.free();
		await waitFor(() => unfinishedOnDisk(file, { work: ["g"] }).length === 0, 5000, "acknowledged once space is back");
		expect(handled).toEqual([{ id: 9 }]);
	});
});
