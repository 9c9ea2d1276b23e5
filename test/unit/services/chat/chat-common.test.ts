import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Context, ServiceBroker } from "moleculer";
import chatSchema from "../../../../services/chat/chat.service";
import moderationSchema from "../../../../services/chat/moderation.service";
import dmSchema from "../../../../services/chat/dm.service";
import { newId } from "../../../../lib/tools/ids";
import { waitFor } from "../../../support/harness";
import { channelBroker } from "../../../support/unit-broker";

/**
 * The three chat services are one storage: chat opens the collections and the send counters,
 * moderation and dm use the same ones (services/chat/chat-common.ts).
 */

const people = [
	{ id: "U_OWNER", username: "owner", displayName: "Owner", roles: ["user"] },
	{ id: "U_ALICE", username: "alice", displayName: "Alice", roles: ["user"] },
	{ id: "U_BOB", username: "bob", displayName: "Bob", roles: ["user"] },
];
const [owner, alice, bob] = people;

const usersStub = {
	name: "users",
	actions: {
		get(ctx: Context<{ id?: string; username?: string }>) {
			return people.find((p) => p.id === ctx.params.id || p.username === ctx.params.username) ?? null;
		},
		identities(ctx: Context<{ ids: string[] }>) {
			return people.filter((p) => ctx.params.ids.includes(p.id));
		},
	},
};

const saved: Record<string, string | undefined> = {};
function setEnv(vars: Record<string, string>) {
	for (const [k, v] of Object.entries(vars)) {
		saved[k] ??= process.env[k];
		process.env[k] = v;
	}
}
function restoreEnv() {
	for (const [k, v] of Object.entries(saved)) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
		delete saved[k];
	}
}

describe("chat services on one node", () => {
	let broker: ServiceBroker;
	beforeAll(async () => {
		setEnv({ CHAT_RATE_BURST: "2" });
		broker = channelBroker();
		broker.createService(usersStub);
		broker.createService({ name: "api", events: { "ws.emit": () => undefined } });
		// Created before chat: they wait for it.
		broker.createService(moderationSchema);
		broker.createService(dmSchema);
		broker.createService(chatSchema);
		await broker.start();
	});
	afterAll(async () => {
		await broker?.stop();
		restoreEnv();
	});

	it("share chat's collections", () => {
		const chat = broker.getLocalService("chat") as unknown as { store: unknown; stores: unknown };
		for (const name of ["moderation", "dm"]) {
			const svc = broker.getLocalService(name) as unknown as { store: unknown; stores: unknown };
			expect(svc.store).toBe(chat.store);
			expect(svc.stores).toBe(chat.stores);
		}
	});

	it("a ban set through moderation stops sends through chat", async () => {
		await broker.call("moderation.ban", { username: "owner", userId: bob.id }, { meta: { user: owner } });
		await expect(broker.call("chat.send", { channel: "owner", text: "hi" }, { meta: { user: bob } })).rejects.toMatchObject({ type: "BANNED" });
	});

	it("channel and direct messages count against one send limit", async () => {
		const conv = (await broker.call("dm.openConversation", { with: "owner" }, { meta: { user: alice } })) as { id: string };
		await broker.call("chat.send", { channel: "owner", text: "one" }, { meta: { user: alice } });
		await broker.call("dm.dmSend", { conversationId: conv.id, text: "two" }, { meta: { user: alice } });
		await expect(broker.call("chat.send", { channel: "owner", text: "three" }, { meta: { user: alice } })).rejects.toMatchObject({
			type: "RATE_LIMITED",
		});
	});
});

describe("chat services without chat", () => {
	let broker: ServiceBroker | undefined;
	afterEach(async () => {
		await broker?.stop().catch(() => undefined);
		broker = undefined;
	});

	it("moderation refuses to start without the chat service on its node", async () => {
		broker = channelBroker();
		broker.createService(usersStub);
		broker.createService(moderationSchema);
		await expect(broker.start()).rejects.toThrow(/chat service/);
	});
});

describe("upgrade from the old outbox mark", () => {
	let dir: string;
	beforeAll(() => {
		dir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-outbox-"));
		setEnv({ DB_ADAPTER: "nedb", DATA_DIR: dir });
	});
	afterAll(() => {
		restoreEnv();
		fs.rmSync(dir, { recursive: true, force: true });
	});

	it("a message stored with `outbox: true` by the old service is handed over after the upgrade", async () => {
		const first = channelBroker();
		first.createService(usersStub);
		first.createService(chatSchema);
		await first.start();
		const id = newId();
		const chat = first.getLocalService("chat") as unknown as { store: { insert(doc: unknown): Promise<unknown> } };
		await chat.store.insert({
			_id: id,
			room: "chat:owner",
			kind: "channel",
			channel: "owner",
			channelId: owner.id,
			userId: alice.id,
			username: "alice",
			displayName: "Alice",
			text: "@bob look",
			createdAt: new Date().toISOString(),
			deletedAt: null,
			outbox: true,
			mentionIds: [bob.id],
		});
		await first.stop();

		const mentioned: Array<{ messageId: string }> = [];
		const second = channelBroker();
		second.createService(usersStub);
		second.createService({
			name: "sink",
			channels: { "chat.mentioned": { group: "sink", handler: (p: { messageId: string }) => void mentioned.push(p) } },
		});
		second.createService(chatSchema);
		await second.start();
		try {
			await waitFor(() => mentioned.find((m) => m.messageId === id), 3000, "re-driven mention");
			const svc = second.getLocalService("chat") as unknown as { store: { findById(id: string): Promise<Record<string, unknown>> } };
			await waitFor(async () => (await svc.store.findById(id)).effectsDue === undefined, 3000, "mark cleared");
			expect((await svc.store.findById(id)).outbox).toBeUndefined();
			expect(mentioned.filter((m) => m.messageId === id)).toHaveLength(1);
		} finally {
			await second.stop();
		}
	});
});
