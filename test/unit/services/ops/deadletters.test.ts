import { afterAll, beforeAll, describe, expect, it } from "vitest";
import DeadLetters, { DEAD_LETTER_CHANNEL, deadLetterKey, keptHeaders, stripPrefix } from "../../../../services/ops/deadletters.service";
import { waitFor } from "../../../support/harness";
import { channelBroker, type ChannelBroker } from "../../../support/unit-broker";

describe("deadletters service", () => {
	const received: unknown[] = [];
	let broker: ChannelBroker;

	beforeAll(async () => {
		broker = channelBroker();
		broker.createService(DeadLetters);
		// The original consumer, which failed before and now succeeds.
		broker.createService({
			name: "alertsStub",
			channels: { "donations.paid": { group: "alerts", handler: (payload: unknown) => void received.push(payload) } },
		} as any);
		await broker.start();
	});
	afterAll(() => broker.stop());

	async function park(payload: unknown, channel = "donations.paid") {
		// Messages parked by earlier tests are still listed: wait for this one, not any parked one.
		const before = new Set(((await broker.call<any, any>("deadletters.list", { channel, limit: 100 })).items as any[]).map((m) => m.id));
		await broker.sendToChannel(DEAD_LETTER_CHANNEL, payload, { headers: { "x-original-channel": channel, "x-original-group": "alerts" } });
		return waitFor(
			async () => {
				const page = await broker.call<any, any>("deadletters.list", { channel });
				return page.items.find((m: any) => m.status === "parked" && !before.has(m.id));
			},
			3000,
			"parked message",
		);
	}

	it("stores a dead-lettered message with its original channel and group", async () => {
		const msg = await park({ donation: { id: "D1" } });
		expect(msg).toMatchObject({ channel: "donations.paid", group: "alerts", status: "parked", retries: 0 });
		const full = await broker.call<any, any>("deadletters.get", { id: msg.id });
		expect(full.payload).toEqual({ donation: { id: "D1" } });
		expect(full.headers["x-original-channel"]).toBe("donations.paid");
	});

	it("retry re-publishes to the original channel once; a second retry is refused", async () => {
		const msg = await park({ donation: { id: "D2" } });
		const res = await broker.call<any, any>("deadletters.retry", { id: msg.id });
		expect(res.status).toBe("retried");
		await waitFor(() => received.some((p: any) => p?.donation?.id === "D2"), 3000, "redelivery");
		await expect(broker.call("deadletters.retry", { id: msg.id })).rejects.toMatchObject({ code: 409, type: "NOT_PARKED" });
		const retried = await broker.call<any, any>("deadletters.list", { status: "retried" });
		expect(retried.items.map((m: any) => m.id)).toContain(msg.id);
	});

	it("discard marks a parked message handled; unknown ids are 404", async () => {
		const msg = await park({ donation: { id: "D3" } }, "chat.dm");
		expect((await broker.call<any, any>("deadletters.discard", { id: msg.id })).status).toBe("discarded");
		expect((await broker.call<any, any>("deadletters.list", { channel: "chat.dm" })).items.find((m: any) => m.id === msg.id).status).toBe("discarded");
		expect((await broker.call<any, any>("deadletters.list", { channel: "chat.dm", status: "parked" })).items).toEqual([]);
		await expect(broker.call("deadletters.get", { id: "01HNOPE0000000000000000000" })).rejects.toMatchObject({ code: 404 });
	});

	it("a redelivered copy of the same message is stored once", async () => {
		const svc = broker.getLocalService("deadletters") as any;
		const headers = { "x-original-channel": "social.liked", "x-original-group": "notifications" };
		expect(await svc.park({ a: 1 }, headers, 42)).not.toBeNull();
		expect(await svc.park({ a: 1 }, headers, 42)).toBeNull();
		expect((await broker.call<any, any>("deadletters.list", { channel: "social.liked" })).items).toHaveLength(1);
	});

	it("keys and headers", () => {
		expect(stripPrefix("mediashar.donations.paid", "mediashar")).toBe("donations.paid");
		expect(stripPrefix("donations.paid", "")).toBe("donations.paid");
		expect(deadLetterKey("c", "g", { a: 1 }, 1)).not.toBe(deadLetterKey("c", "g", { a: 1 }, 2));
		expect(keptHeaders({ $meta: "xxx", $headers: "yyy", "x-original-channel": "c", $requestID: "r" })).toEqual({
			"x-original-channel": "c",
			$requestID: "r",
		});
	});
});
