import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import notifications from "../../../services/notifications.service";

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
	broker = new ServiceBroker({ logger: false, middlewares: [ChannelsMiddleware({ adapter: { type: "Fake", options: {} }, sendMethodName: "sendToChannel" } as any)] });
	broker.createService(usersStub as ServiceSchema);
	svc = broker.createService(notifications);
	await broker.start();
});
afterAll(async () => {
	vi.useRealTimers();
	delete process.env.LIKE_GROUP_WINDOW_MS;
	await broker.stop();
});

const inbox = async () => (await broker.call<any, any>("notifications.list", {}, { meta: { user: { id: "owner", username: "owner", roles: ["user"] } } })).items;

describe("like grouping", () => {
	it("likes inside the window join one notification; after it a new one opens", async () => {
		vi.useFakeTimers({ toFake: ["Date"] });
		const t0 = Date.UTC(2026, 0, 1, 12, 0, 0);
		vi.setSystemTime(t0);
		const like = (userId: string) => svc.deliverLike({ userId, targetType: "post", targetId: "p1", targetOwnerId: "owner" });

		await like("u1");
		vi.setSystemTime(t0 + 30_000);
		await Promise.all([like("u2"), like("u2")]); // a redelivered message counts once
		let items = await inbox();
		expect(items).toHaveLength(1);
		expect(items[0]).toMatchObject({ type: "like", title: "bob and alice liked your post", data: { count: 2, users: ["bob", "alice"] } });

		vi.setSystemTime(t0 + 61_000);
		await like("u3");
		items = await inbox();
		expect(items.map((n: any) => n.title)).toEqual(["carol liked your post", "bob and alice liked your post"]);
		// Self-likes never notify.
		await svc.deliverLike({ userId: "owner", targetType: "post", targetId: "p1", targetOwnerId: "owner" });
		expect(await inbox()).toHaveLength(2);
	});
});
