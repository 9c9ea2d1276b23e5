import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ServiceBroker } from "moleculer";
import integrations from "../../../../services/notifications/integrations.service";
import { waitFor } from "../../../support/harness";
import { channelBroker } from "../../../support/unit-broker";

/** The webhook outbox gives up after the retry window and says so in the owner's log. */
let broker: ServiceBroker;
let svc: any;
let receiver: http.Server;
let hits = 0;
const owner = { id: "owner1", username: "owner", roles: ["user"] };
const meta = { meta: { user: owner } };

beforeAll(async () => {
	receiver = http.createServer((req, res) => {
		hits++;
		req.resume();
		req.on("end", () => res.writeHead(503).end());
	});
	await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
	Object.assign(process.env, { WEBHOOK_RETRY_WINDOW_MS: "60000", WEBHOOK_RETRY_BASE_MS: "10", WEBHOOK_SWEEP_MS: "600000" });
	broker = channelBroker();
	svc = broker.createService(integrations);
	await broker.start();
});
afterAll(async () => {
	vi.useRealTimers();
	for (const k of ["WEBHOOK_RETRY_WINDOW_MS", "WEBHOOK_RETRY_BASE_MS", "WEBHOOK_SWEEP_MS"]) delete process.env[k];
	await broker.stop();
	await new Promise<void>((r) => receiver.close(() => r()));
});

describe("webhook outbox", () => {
	it("retries a failing receiver until the window closes, then marks the delivery failed", async () => {
		const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
		await broker.call("integrations.setWebhook", { url }, meta);
		vi.useFakeTimers({ toFake: ["Date"] });
		const t0 = Date.now();
		vi.setSystemTime(t0);
		await svc.enqueue("donation.paid", { id: "d1", recipientId: owner.id, amount: 1, currency: "USD", status: "paid" });
		const list = async () => (await broker.call<any, any>("integrations.deliveries", {}, meta)).items;
		// The doorbell makes the first attempt.
		await waitFor(async () => (await list())[0]?.attempts === 1, 5000, "first attempt");
		let [row] = await list();
		expect(row).toMatchObject({ status: "pending", attempts: 1, lastStatusCode: 503 });

		vi.setSystemTime(t0 + 30_000);
		await svc.sweep();
		[row] = await list();
		expect(row).toMatchObject({ status: "pending", attempts: 2 });

		vi.setSystemTime(t0 + 61_000);
		await svc.sweep();
		[row] = await list();
		expect(row).toMatchObject({ status: "failed", attempts: 3, nextAttemptAt: null });
		expect(row.log.map((a: any) => a.statusCode)).toEqual([503, 503, 503]);
		expect(hits).toBe(3);

		// Redeliver by hand reopens it with the same event id.
		const again = await broker.call<any, any>("integrations.redeliver", { id: row.id }, meta);
		expect(again).toMatchObject({ status: "pending", eventId: row.eventId });
	});
});
