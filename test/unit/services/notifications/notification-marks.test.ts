import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import notifications from "../../../../services/notifications/notifications.service";
import { channelBroker } from "../../../support/unit-broker";

/**
 * Unread counts and the email sweep read only the rows that are unread / waiting for an email
 * (sparse `unreadOf` and `emailDue` marks); rows stored before those marks existed get them when
 * the service starts, so nothing unread or unsent is forgotten.
 */
const enqueued: string[] = [];
const usersStub: Partial<ServiceSchema> = {
	name: "users",
	actions: { get: { handler: (ctx: any) => ({ id: ctx.params.id, username: "owner", email: "owner@example.test", settings: { email: { dm: true } } }) } },
};
const mailerStub: Partial<ServiceSchema> = { name: "mailer", actions: { enqueue: { handler: (ctx: any) => void enqueued.push(ctx.params.key) } } };
const owner = { user: { id: "owner", username: "owner", roles: ["user"] } };

let broker: ServiceBroker;
let svc: any;

function oldRow(id: string, extra: Record<string, unknown>) {
	const now = new Date().toISOString();
	return {
		_id: id,
		userId: "owner",
		type: "follow",
		title: "t",
		body: "",
		data: {},
		sourceKey: `old:${id}`,
		createdAt: now,
		updatedAt: now,
		emailDueAt: 0,
		...extra,
	};
}

beforeAll(async () => {
	process.env.NOTIFY_EMAIL_RETRY_MS = "100";
	broker = channelBroker();
	broker.createService(usersStub as ServiceSchema);
	broker.createService(mailerStub as ServiceSchema);
	svc = broker.createService(notifications);
	await broker.start();
});
afterAll(async () => {
	delete process.env.NOTIFY_EMAIL_RETRY_MS;
	await broker.stop();
});

describe("notification marks", () => {
	it("marks rows stored without them: unread ones count, pending emails get sent", async () => {
		await svc.store.insert(oldRow("n1", { read: false, emailState: "skipped" }));
		await svc.store.insert(oldRow("n2", { read: true, emailState: "pending", type: "dm" }));
		await svc.store.insert(oldRow("n3", { read: true, emailState: "done" }));
		expect(await broker.call("notifications.unreadCount", {}, { meta: owner })).toEqual({ count: 0 });

		await svc.addMarks();
		expect(await broker.call("notifications.unreadCount", {}, { meta: owner })).toEqual({ count: 1 });
		const unread = await broker.call<any, any>("notifications.list", { unread: true }, { meta: owner });
		expect(unread.items.map((n: any) => n.id)).toEqual(["n1"]);
		await svc.sweep();
		expect(enqueued).toEqual(["notification:n2"]);
		expect(await svc.store.findById("n2")).toMatchObject({ emailState: "done" });
		expect((await svc.store.findById("n2")).emailDue).toBeUndefined();
	});

	it("a new notification is unread until read, and its email step runs once", async () => {
		await svc.deliver({ userId: "owner", type: "dm", title: "hi", body: "", data: {}, sourceKey: "dm:1" });
		await svc.deliver({ userId: "owner", type: "follow", title: "f", body: "", data: {}, sourceKey: "follow:1" });
		expect(enqueued.filter((k) => k !== "notification:n2")).toHaveLength(1); // only the dm: follow emails are off
		expect(await broker.call("notifications.unreadCount", {}, { meta: owner })).toEqual({ count: 3 });
		const rows = await svc.store.find({ query: { sourceKey: { $in: ["dm:1", "follow:1"] } } });
		expect(rows.map((r: any) => r.emailState).sort()).toEqual(["done", "skipped"]);
		expect(rows.every((r: any) => r.emailDue === undefined)).toBe(true);

		await broker.call("notifications.markRead", { id: rows[0]._id }, { meta: owner });
		expect(await broker.call("notifications.unreadCount", {}, { meta: owner })).toEqual({ count: 2 });
		expect(await broker.call("notifications.markAllRead", {}, { meta: owner })).toEqual({ updated: 2 });
		expect(await broker.call("notifications.unreadCount", {}, { meta: owner })).toEqual({ count: 0 });
		expect(await svc.store.count({ unreadOf: { $exists: true } })).toBe(0);
	});
});
