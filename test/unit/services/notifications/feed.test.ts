import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Context, ServiceBroker } from "moleculer";
import feed from "../../../../services/notifications/feed.service";
import { waitFor } from "../../../support/harness";
import { channelBroker, type ChannelBroker } from "../../../support/unit-broker";
import type { WsEmit } from "../../../../lib/domain/rooms";

/** The event feed: stored once per event id, pushed to the owner's `/events` room, kept one hour. */
let broker: ChannelBroker;
let svc: any;
const pushed: WsEmit[] = [];

beforeAll(async () => {
	broker = channelBroker();
	svc = broker.createService(feed);
	// What a gateway receives.
	broker.createService({ name: "gw", events: { "ws.emit": (ctx: Context<WsEmit>) => void pushed.push(ctx.params) } });
	await broker.start();
});
afterAll(() => (broker as ServiceBroker).stop());

const donation = (id: string, recipientId = "owner1") => ({ id, recipientId, amount: 1000, currency: "IDR", donorId: "d1", email: "x@example.test" });

describe("feed", () => {
	it("stores each event once and pushes it to the owner's room of /events", async () => {
		await broker.sendToChannel("donations.paid", { donation: donation("dn1") });
		await broker.sendToChannel("donations.paid", { donation: donation("dn1") });
		await waitFor(() => pushed.length === 2, 3000, "two pushes");
		expect(pushed[0]).toMatchObject({ namespace: "/events", rooms: ["events:owner1"], event: "event" });
		expect((pushed[0].data as { id: string }).id).toBe((pushed[1].data as { id: string }).id);
		expect(await svc.store.count({ ownerId: "owner1" })).toBe(1);
		expect(JSON.stringify(pushed[0].data)).not.toContain("x@example.test");
	});

	it("answers the events after `since`, or the whole hour for an unknown id, and forgets them after the hour", async () => {
		// One after the other (two queues race otherwise): the replay order is the order stored.
		await broker.sendToChannel("donations.reversed", { donation: donation("dn2", "owner2") });
		await waitFor(async () => (await svc.store.count({ ownerId: "owner2" })) === 1, 3000, "first stored");
		await broker.sendToChannel("donations.paid", { donation: donation("dn3", "owner2") });
		await waitFor(async () => (await svc.store.count({ ownerId: "owner2" })) === 2, 3000, "stored");
		const all = await broker.call<Array<{ id: string; type: string }>, object>("feed.since", { ownerId: "owner2" });
		expect(all.map((e) => e.type)).toEqual(["donation.reversed", "donation.paid"]);
		expect(await broker.call("feed.since", { ownerId: "owner2", since: all[0].id })).toEqual([all[1]]);
		expect(await broker.call("feed.since", { ownerId: "owner2", since: "evt_unknown" })).toEqual(all);
		// Events stored up to 2 s before `since` come again (a client dedupes them), older ones do not.
		expect(await broker.call("feed.since", { ownerId: "owner2", since: all[1].id })).toEqual([all[0]]);
		await svc.store.updateMany({ eventId: all[0].id }, { $set: { at: Date.now() - 10_000 } });
		expect(await broker.call("feed.since", { ownerId: "owner2", since: all[1].id })).toEqual([]);

		await svc.store.updateMany({ ownerId: "owner2" }, { $set: { at: Date.now() - 61 * 60_000 } });
		expect(await broker.call("feed.since", { ownerId: "owner2" })).toEqual([]);
		await svc.runSweep("prune");
		expect(await svc.store.count({ ownerId: "owner2" })).toBe(0);
		expect(await svc.store.count({ ownerId: "owner1" })).toBe(1);
	});

	it("ignores messages without an owner or a subject", async () => {
		const before = await svc.store.count({});
		await broker.sendToChannel("donations.paid", { donation: { id: "dn9" } });
		await broker.sendToChannel("payouts.paid", { payout: { userId: "owner1" } });
		await broker.sendToChannel("social.followed", {});
		await broker.sendToChannel("donations.paid", { donation: donation("dn10", "owner3") });
		await waitFor(async () => (await svc.store.count({ ownerId: "owner3" })) === 1, 3000, "the valid one");
		expect(await svc.store.count({})).toBe(before + 1);
	});
});
