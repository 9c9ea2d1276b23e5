import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ServiceSchema } from "moleculer";
import likes from "../../../../services/social/likes.service";
import { waitFor } from "../../../support/harness";
import { channelBroker, type ChannelBroker } from "../../../support/unit-broker";

/** A like whose notification could not be queued is re-sent by the sweep, exactly once. */
const received: any[] = [];
const postsStub: Partial<ServiceSchema> = {
	name: "posts",
	actions: { exists: { handler: (ctx: any) => (ctx.params.id === "p1" ? { exists: true, ownerId: "owner" } : { exists: false }) } },
};
const consumer: Partial<ServiceSchema> = {
	name: "probe",
	channels: { "social.liked": { group: "probe", handler: (payload: unknown) => void received.push(payload) } },
} as any;

let broker: ChannelBroker;
let svc: any;

beforeAll(async () => {
	broker = channelBroker();
	broker.createService(postsStub as ServiceSchema);
	broker.createService(consumer as ServiceSchema);
	svc = broker.createService(likes);
	await broker.start();
});
afterAll(async () => {
	vi.useRealTimers();
	await broker.stop();
});

describe("social notification re-drive", () => {
	it("queues a like's notification later when the channel was unavailable", async () => {
		const real = broker.sendToChannel.bind(broker);
		broker.sendToChannel = async () => {
			throw new Error("channel adapter down");
		};
		const res = await broker.call<any, any>("likes.like", { type: "post", id: "p1" }, { meta: { user: { id: "fan", username: "fan", roles: ["user"] } } });
		expect(res).toEqual({ count: 1, liked: true });
		broker.sendToChannel = real;
		expect(received).toEqual([]);

		// Too fresh to re-drive: the request that made it may still be sending.
		await svc.redrive();
		expect(received).toEqual([]);

		vi.useFakeTimers({ toFake: ["Date"] });
		vi.setSystemTime(Date.now() + 60_000);
		await svc.redrive();
		await waitFor(() => received.length === 1, 2000, "re-driven message");
		expect(received[0]).toEqual({ userId: "fan", targetType: "post", targetId: "p1", targetOwnerId: "owner" });
		// The flag is cleared: another sweep sends nothing more.
		await svc.redrive();
		expect(await svc.store.count({ effectsDue: true })).toBe(0);
		expect(received).toHaveLength(1);
	});
});
