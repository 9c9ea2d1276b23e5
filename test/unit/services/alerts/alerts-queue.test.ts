import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import alerts from "../../../../services/alerts/alerts.service";
import { orderKey } from "../../../../lib/domain/alerts";
import { waitFor } from "../../../support/harness";
import { channelBroker } from "../../../support/unit-broker";

/**
 * The queue reads only queued (`queueKey`) and held (`heldOf`) alerts, in payment order, and
 * alerts stored before those marks existed join the queue when the service starts.
 */
const shown: { userId: string; id: string }[] = [];
const usersStub = { name: "users", actions: { get: () => ({ id: "s1", settings: {} }) } };
const gatewayStub = {
	name: "api",
	events: {
		"ws.emit": (ctx: any) =>
			ctx.params.event === "alert" && void shown.push({ userId: ctx.params.rooms[0].slice("overlay:".length), id: ctx.params.data.id }),
	},
};

let broker: ServiceBroker;
let svc: any;

function oldAlert(id: string, userId: string, paidAt: string, status: "queued" | "held" | "done") {
	return {
		_id: id,
		key: `donation:${id}`,
		userId,
		donationId: id,
		type: "donation",
		status,
		order: orderKey(paidAt, id),
		payload: {
			id,
			donationId: id,
			type: "donation",
			donorName: "Budi",
			amount: 100,
			currency: "IDR",
			formattedAmount: "Rp 1",
			message: "m",
			tts: false,
			displaySeconds: 8,
			createdAt: paidAt,
		},
		original: { originalMessage: `raw ${id}` },
		createdAt: paidAt,
	};
}

beforeAll(async () => {
	broker = channelBroker();
	broker.createService(usersStub as ServiceSchema);
	broker.createService(gatewayStub as ServiceSchema);
	svc = broker.createService(alerts);
	await broker.start();
});
afterAll(() => broker.stop());

describe("alert queue marks", () => {
	it("queues alerts stored without marks in payment order and lists held ones", async () => {
		// Inserted out of order, for two channels, plus finished and held ones.
		await svc.store.insert(oldAlert("a3", "s1", "2026-01-01T00:00:03.000Z", "queued"));
		await svc.store.insert(oldAlert("a1", "s1", "2026-01-01T00:00:01.000Z", "queued"));
		await svc.store.insert(oldAlert("b1", "s2", "2026-01-01T00:00:00.500Z", "queued"));
		await svc.store.insert(oldAlert("a2", "s1", "2026-01-01T00:00:02.000Z", "held"));
		await svc.store.insert(oldAlert("a0", "s1", "2026-01-01T00:00:00.000Z", "done"));
		expect((await svc.queueState("s1")).depth).toBe(0);

		await svc.addMarks();
		const state = await svc.queueState("s1");
		expect(state.queued.map((a: any) => a.id)).toEqual(["a1", "a3"]);
		expect(state.held).toBe(1);
		const held = await broker.call<any, any>("alerts.held", {}, { meta: { user: { id: "s1", username: "s1", roles: ["user"] } } });
		expect(held.items.map((a: any) => [a.id, a.originalMessage])).toEqual([["a2", "raw a2"]]);

		// (their channel documents exist: enqueue made them when the alerts were stored)
		await Promise.all([svc.ensureChannel("s1"), svc.ensureChannel("s2")]);
		await svc.pump("s1");
		await svc.pump("s2");
		await waitFor(() => shown.length === 2, 2000, "two alerts on screen");
		expect(shown).toEqual([
			{ userId: "s1", id: "a1" },
			{ userId: "s2", id: "b1" },
		]);
		// The one on screen left the queue; finishing it brings the next in order.
		expect((await svc.queueState("s1")).queued.map((a: any) => a.id)).toEqual(["a3"]);
		await svc.finish("s1", "a1", "done");
		await waitFor(() => shown.length === 3, 2000, "the next alert");
		expect(shown.at(-1)).toEqual({ userId: "s1", id: "a3" });
		expect((await svc.queueState("s1")).depth).toBe(0);
	});

	it("an approved held alert joins the queue; a cancelled one leaves no mark", async () => {
		const me = { user: { id: "s1", username: "s1", roles: ["user"] } };
		await svc.finish("s1", "a3", "done");
		await broker.call("alerts.approve", { donationId: "a2" }, { meta: me });
		await waitFor(() => shown.length === 4, 2000, "the approved alert");
		expect(shown.at(-1)).toEqual({ userId: "s1", id: "a2" });
		expect((await svc.queueState("s1")).held).toBe(0);
		await svc.store.insert(oldAlert("a4", "s1", "2026-01-01T00:00:04.000Z", "held"));
		await svc.addMarks();
		expect((await svc.queueState("s1")).held).toBe(1);
		// The donation is refunded: its held alert is cancelled and leaves the held list.
		await (broker as any).sendToChannel("donations.reversed", { donation: { id: "a4", recipientId: "s1" } });
		await waitFor(async () => (await svc.store.findById("a4")).status === "cancelled", 2000, "cancelled");
		expect((await svc.queueState("s1")).held).toBe(0);
		expect((await svc.store.findById("a4")).heldOf).toBeUndefined();
	});
});
