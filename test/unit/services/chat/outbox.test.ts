import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type Context } from "moleculer";
import chatSchema from "../../../../services/chat/chat.service";
import { idFloor, newId } from "../../../../lib/tools/ids";
import { waitFor } from "../../../support/harness";
import { channelBroker } from "../../../support/unit-broker";

const people = [
	{ id: "U_OWNER", username: "owner", displayName: "Owner", roles: ["user"] },
	{ id: "U_ALICE", username: "alice", displayName: "Alice", roles: ["user"] },
	{ id: "U_BOB", username: "bob", displayName: "Bob", roles: ["user"] },
];
const mentioned: any[] = [];
const emitted: any[] = [];
let broker: ServiceBroker;

beforeAll(async () => {
	broker = channelBroker();
	broker.createService({
		name: "users",
		actions: {
			get(ctx: Context<{ id?: string; username?: string }>) {
				return people.find((p) => p.id === ctx.params.id || p.username === ctx.params.username) ?? null;
			},
			identities(ctx: Context<{ ids: string[] }>) {
				return people.filter((p) => ctx.params.ids.includes(p.id));
			},
		},
	});
	broker.createService({ name: "sink", channels: { "chat.mentioned": { group: "sink", handler: (p: unknown) => void mentioned.push(p) } } } as any);
	broker.createService({ name: "api", events: { "ws.emit": { handler: (ctx: Context) => void emitted.push(ctx.params) } } });
	broker.createService(chatSchema);
	await broker.start();
});
afterAll(() => broker?.stop());

const chat = () => broker.getLocalService("chat") as any;

describe("chat notifications outbox", () => {
	it("hands mentions to chat.mentioned, skipping the sender and unknown names, then clears the flag", async () => {
		const alice = people[1];
		const res: any = await broker.call("chat.send", { channel: "owner", text: "hey @bob @alice @ghost_user" }, { meta: { user: alice } });
		await waitFor(() => mentioned.find((m) => m.messageId === res.message.id), 3000, "mention");
		expect(mentioned.find((m) => m.messageId === res.message.id)).toEqual({
			messageId: res.message.id,
			channel: "owner",
			from: { id: "U_ALICE", username: "alice", displayName: "Alice" },
			userIds: ["U_BOB"],
			text: "hey @bob @alice @ghost_user",
		});
		const doc = await chat().store.findById(res.message.id);
		expect(doc.effectsDue).toBeUndefined();
		expect(emitted.find((e) => e.event === "chat:message" && e.data.id === res.message.id)).toMatchObject({ rooms: ["chat:owner"] });
	});

	it("re-drives a notification that was stored but never handed over", async () => {
		const id = newId();
		await chat().store.insert({
			_id: id,
			room: "chat:owner",
			kind: "channel",
			channel: "owner",
			channelId: "U_OWNER",
			userId: "U_ALICE",
			username: "alice",
			displayName: "Alice",
			text: "@bob look",
			createdAt: new Date().toISOString(),
			deletedAt: null,
			effectsDue: true,
			mentionIds: ["U_BOB"],
		});
		broker.broadcastLocal("$broker.started");
		await waitFor(() => mentioned.find((m) => m.messageId === id), 3000, "re-driven mention");
		await waitFor(async () => (await chat().store.findById(id)).effectsDue === undefined, 3000, "flag cleared");
		expect(mentioned.filter((m) => m.messageId === id)).toHaveLength(1);
	});

	it("refuses a send from an anonymous caller without storing anything", async () => {
		const before = await chat().store.count({});
		await expect(broker.call("chat.send", { channel: "owner", text: "hi" }, { meta: { user: null } })).rejects.toMatchObject({
			type: "UNAUTHORIZED",
			code: 401,
		});
		expect(await chat().store.count({})).toBe(before);
	});
});

describe("chat housekeeping", () => {
	it("drops channel messages past the retention, expired timeouts and stale slow-mode marks, keeping DMs and live bans", async () => {
		const now = Date.now();
		const old = now - 40 * 86_400_000;
		const base = { userId: "U_ALICE", username: "alice", displayName: "Alice", text: "x", createdAt: new Date(old).toISOString(), deletedAt: null };
		// newId() is monotonic (never goes back in time), so build ids of 40 days ago by hand.
		const oldChannel = idFloor(old).slice(0, 10) + "0000000000000001";
		const oldDm = idFloor(old).slice(0, 10) + "0000000000000002";
		const recent = newId(now);
		await chat().store.insert({ ...base, _id: oldChannel, room: "chat:owner", kind: "channel", channel: "owner" });
		await chat().store.insert({ ...base, _id: oldDm, room: "dm:X", kind: "dm", conversationId: "X" });
		await chat().store.insert({ ...base, _id: recent, room: "chat:owner", kind: "channel", channel: "owner" });
		await chat().stores.chat_bans.insert({
			_id: newId(),
			key: "U_OWNER:U_1",
			channelId: "U_OWNER",
			userId: "U_1",
			until: now - 1000,
			reason: null,
			by: "U_OWNER",
			createdAt: "",
		});
		await chat().stores.chat_bans.insert({
			_id: newId(),
			key: "U_OWNER:U_2",
			channelId: "U_OWNER",
			userId: "U_2",
			until: null,
			reason: null,
			by: "U_OWNER",
			createdAt: "",
		});
		await chat().stores.chat_bans.insert({
			_id: newId(),
			key: "U_OWNER:U_3",
			channelId: "U_OWNER",
			userId: "U_3",
			until: now + 60_000,
			reason: null,
			by: "U_OWNER",
			createdAt: "",
		});
		await chat().stores.chat_slow.insert({ _id: "U_OWNER:U_1", lastAt: now - 2 * 3600_000 });
		await chat().stores.chat_slow.insert({ _id: "U_OWNER:U_2", lastAt: now });

		const removed = await chat().prune(now);
		expect(removed).toEqual({ messages: 1, bans: 1, slow: 1 });
		expect(await chat().store.findById(oldChannel)).toBeNull();
		expect(await chat().store.findById(oldDm)).not.toBeNull();
		expect(await chat().store.findById(recent)).not.toBeNull();
		expect((await chat().stores.chat_bans.find({ query: {} })).map((b: any) => b.userId).sort()).toEqual(["U_2", "U_3"]);
	});
});
