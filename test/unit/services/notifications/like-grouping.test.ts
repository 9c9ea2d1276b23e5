import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import notifications from "../../../../services/notifications/notifications.service";
import { channelBroker } from "../../../support/unit-broker";

/** Like grouping across the window boundary, with the clock moved instead of waited on. */
const people: Record<string, { id: string; username: string; displayName: string }> = {
	u1: { id: "u1", username: "alice", displayName: "alice" },
	u2: { id: "u2", username: "bob", displayName: "bob" },
	u3: { id: "u3", username: "carol", displayName: "carol" },
};
const usersStub: Partial<ServiceSchema> = {
	name: "users",
	actions: {
		identities: { handler: (ctx: any) => ctx.params.ids.map((id: string) => people[id]).filter(Boolean) },
		get: { handler: (ctx: any) => ({ id: ctx.params.id, username: "owner", email: "owner@example.test", settings: { email: {} } }) },
	},
};

let broker: ServiceBroker;
let svc: any;

beforeAll(async () => {
	process.env.LIKE_GROUP_WINDOW_MS = "60000";
	broker = channelBroker();
	broker.createService(usersStub as ServiceSchema);
	svc = broker.createService(notifications);
	await broker.start();
});
afterAll(async () => {
	vi.useRealTimers();
	delete process.env.LIKE_GROUP_WINDOW_MS;
	await broker.stop();
});

const inbox = async () =>
	(await broker.call<any, any>("notifications.list", {}, { meta: { user: { id: "owner", username: "owner", roles: ["user"] } } })).items;

describe("like grouping", () => {
	it("likes inside the window join one notification; after it a new one opens", async () => {
		vi.useFakeTimers({ toFake: ["Date"] });
		const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
		vi.setSystemTime(t0);
		const like = (userId: string) => svc.deliverLike({ userId, targetType: "post", targetId: "p1", targetOwnerId: "owner" });

		await like("u1");
		vi.setSystemTime(t0 + 30_000);
		// A message delivered twice at once: one counts it, the other waits (and is retried). Which
		// one wins is the store's race (NeDB runs them in call order, PostgreSQL in parallel).
		const both = await Promise.allSettled([like("u2"), like("u2")]);
		expect(both.filter((r) => r.status === "fulfilled")).toHaveLength(1);
		expect(both.find((r) => r.status === "rejected")).toMatchObject({ reason: { message: expect.stringContaining("will retry") } });
		await like("u2"); // the retry: already counted
		let items = await inbox();
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({ type: "like", title: "bob and alice liked your post", data: { count: 2, users: ["bob", "alice"] } });

		vi.setSystemTime(t0 + 61_000);
		await like("u3");
		items = await inbox();
		expect(items.map((n: any) => n.title)).toEqual(["carol liked your post", "bob and alice liked your post"]);
		// A delivery that failed after claiming its like is finished by the next one, once the
		// lease has passed; it is neither dropped nor counted twice.
		const insert = svc.store.insert.bind(svc.store);
		svc.store.insert = async () => {
			throw new Error("disk full");
		};
		await expect(svc.deliverLike({ userId: "u1", targetType: "post", targetId: "p2", targetOwnerId: "owner" })).rejects.toThrow("disk full");
		svc.store.insert = insert;
		await expect(svc.deliverLike({ userId: "u1", targetType: "post", targetId: "p2", targetOwnerId: "owner" })).rejects.toThrow("will retry");
		vi.setSystemTime(t0 + 61_000 + 11_000);
		await svc.deliverLike({ userId: "u1", targetType: "post", targetId: "p2", targetOwnerId: "owner" });
		await svc.deliverLike({ userId: "u1", targetType: "post", targetId: "p2", targetOwnerId: "owner" });
		items = await inbox();
		expect(items.map((n: any) => n.title)).toEqual(["alice liked your post", "carol liked your post", "bob and alice liked your post"]);
		// Self-likes never notify.
		await svc.deliverLike({ userId: "owner", targetType: "post", targetId: "p1", targetOwnerId: "owner" });
		expect(await inbox()).toHaveLength(3);
	});
});
