import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import type { ServiceSchema } from "moleculer";
import { client, collect, connectSocket, emitAck, nextEvent, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

type User = Awaited<ReturnType<typeof registerUser>>;

let h: Harness;
let api: ReturnType<typeof client>;
const sockets: Socket[] = [];
const mentioned: any[] = [];

/** Stands in for the notifications inbox: records what chat hands to the chat.mentioned channel. */
const mentionSink: Partial<ServiceSchema> = {
	name: "mention-sink",
	channels: {
		"chat.mentioned": {
			group: "mention-sink",
			handler(payload: unknown) {
				mentioned.push(payload);
			},
		},
	},
};

beforeAll(async () => {
	h = await startHarness({
		services: ["users", "chat", "moderation"],
		extra: [mentionSink],
		// TRUST_PROXY: anonymous viewers count once per address, so the crowd below comes from many.
		env: { SCRYPT_COST: "1024", CHAT_RATE_BURST: "1000", CHAT_RATE_SUSTAINED: "5000", CHAT_PRESENCE_WINDOW_MS: "150", TRUST_PROXY: "true" },
	});
	api = client(h.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await h?.stop();
});

async function connect(user?: User, ip?: string): Promise<Socket> {
	const s = await connectSocket(h.url, "/", user ? { token: user.token } : undefined, undefined, ip ? { headers: { "X-Forwarded-For": ip } } : {});
	sockets.push(s);
	return s;
}

async function joined(channel: string, user?: User) {
	const s = await connect(user);
	const ack = await emitAck(s, "chat:join", { channel });
	expect(ack.ok).toBe(true);
	return { socket: s, ack };
}

const send = (s: Socket, channel: string, text: string, nonce?: string) => emitAck(s, "chat:send", nonce ? { channel, text, nonce } : { channel, text });

/** Sends a marker from `s` and waits until `watcher` sees it: everything sent before has arrived. */
async function flush(watcher: Socket, s: Socket, channel: string) {
	const marker = `marker ${Math.random().toString(36).slice(2)}`;
	const seen = nextEvent(watcher, "chat:message");
	const ack = await send(s, channel, marker);
	expect(ack.ok).toBe(true);
	for (let msg = await seen; msg.text !== marker;) msg = await nextEvent(watcher, "chat:message");
}

describe("channel chat", () => {
	it("delivers a message to two viewers and the streamer exactly once", async () => {
		const [streamer, a, b] = await Promise.all([registerUser(h.url, "str"), registerUser(h.url, "va"), registerUser(h.url, "vb")]);
		const clients = await Promise.all([joined(streamer.username, streamer), joined(streamer.username, a), joined(streamer.username, b)]);
		const inboxes = clients.map((c) => collect(c.socket, "chat:message"));
		const ack = await send(clients[1].socket, streamer.username, "hello @" + b.username);
		expect(ack.ok).toBe(true);
		expect(ack.message).toMatchObject({
			channel: streamer.username,
			user: { id: a.id, username: a.username, displayName: a.username },
			text: "hello @" + b.username,
		});
		expect(typeof ack.message.id).toBe("string");
		expect(Number.isNaN(Date.parse(ack.message.createdAt))).toBe(false);
		for (const c of clients) await flush(c.socket, clients[0].socket, streamer.username);
		for (const inbox of inboxes) expect(inbox.filter((m) => m.id === ack.message.id)).toEqual([ack.message]);
		// The mention was handed to the notifications channel.
		await waitFor(() => mentioned.find((m) => m.messageId === ack.message.id), 3000, "chat.mentioned");
		expect(mentioned.find((m) => m.messageId === ack.message.id)).toMatchObject({ channel: streamer.username, from: { id: a.id }, userIds: [b.id] });
	});

	it("joins with the last 50 messages and pages history back newest first", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "hist"), registerUser(h.url, "hv")]);
		const { socket } = await joined(streamer.username, a);
		for (let i = 1; i <= 55; i++) expect((await send(socket, streamer.username, `m${i}`)).ok).toBe(true);

		const late = await connect();
		const ack = await emitAck(late, "chat:join", { channel: streamer.username.toUpperCase() });
		expect(ack.ok).toBe(true);
		expect(ack.history).toHaveLength(50);
		expect(ack.history[0].text).toBe("m6");
		expect(ack.history[49].text).toBe("m55");

		const texts: string[] = [];
		let cursor: string | null = null;
		let pages = 0;
		do {
			const res: any = await api("GET", `/api/channels/${streamer.username}/messages?limit=20${cursor ? `&cursor=${cursor}` : ""}`);
			expect(res.status).toBe(200);
			texts.push(...res.body.items.map((m: any) => m.text));
			cursor = res.body.nextCursor;
			pages++;
		} while (cursor && pages < 10);
		expect(pages).toBe(3);
		expect(texts).toEqual(Array.from({ length: 55 }, (_, i) => `m${55 - i}`));

		expect((await api("GET", `/api/channels/${streamer.username}/messages?cursor=nope`)).status).toBe(422);
		expect((await api("GET", `/api/channels/${streamer.username}/messages?limit=500`)).status).toBe(422);
		expect((await api("GET", "/api/channels/no_such_channel/messages")).status).toBe(404);
	});

	it("lets anonymous sockets read but not send", async () => {
		const [streamer] = await Promise.all([registerUser(h.url, "anon")]);
		const { socket: watcher } = await joined(streamer.username, streamer);
		const seen = collect(watcher, "chat:message");
		const { socket: anon, ack } = await joined(streamer.username);
		expect(ack.history).toEqual([]);
		const anonSeen = collect(anon, "chat:message");
		const refused = await send(anon, streamer.username, "let me in");
		expect(refused).toEqual({ ok: false, error: { type: "UNAUTHORIZED", message: expect.any(String) } });
		await flush(watcher, watcher, streamer.username);
		await waitFor(() => anonSeen.length === 1, 3000, "anonymous reader receives");
		expect(seen.map((m) => m.text)).not.toContain("let me in");
		expect(anonSeen[0].user.id).toBe(streamer.id);
	});

	it("returns the first message for a resend with the same nonce", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "nonce"), registerUser(h.url, "nv")]);
		const { socket: watcher } = await joined(streamer.username, streamer);
		const seen = collect(watcher, "chat:message");
		const { socket } = await joined(streamer.username, a);
		const [first, second] = await Promise.all([send(socket, streamer.username, "once", "n-1"), send(socket, streamer.username, "once", "n-1")]);
		const third = await send(socket, streamer.username, "once again", "n-1");
		expect(first.ok && second.ok && third.ok).toBe(true);
		expect(second.message.id).toBe(first.message.id);
		expect(third.message).toEqual(first.message);
		await flush(watcher, watcher, streamer.username);
		expect(seen.filter((m) => m.text === "once")).toHaveLength(1);
		const hist = await api("GET", `/api/channels/${streamer.username}/messages`);
		expect(hist.body.items.filter((m: any) => m.text.startsWith("once"))).toHaveLength(1);
	});

	it("refuses bad input with an error ack and never broadcasts it", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "bad"), registerUser(h.url, "bv")]);
		const { socket: watcher } = await joined(streamer.username, streamer);
		const seen = collect(watcher, "chat:message");
		const { socket } = await joined(streamer.username, a);
		const cases: Array<[unknown, string]> = [
			[{ channel: streamer.username, text: "" }, "VALIDATION_ERROR"],
			[{ channel: streamer.username, text: "   \n\t " }, "VALIDATION_ERROR"],
			[{ channel: streamer.username, text: "x".repeat(501) }, "VALIDATION_ERROR"],
			[{ channel: streamer.username, text: "x".repeat(40_000) }, "VALIDATION_ERROR"],
			[{ channel: streamer.username, text: 42 }, "VALIDATION_ERROR"],
			[{ channel: streamer.username, text: { $gt: "" } }, "VALIDATION_ERROR"],
			[{ channel: streamer.username, text: "ok", nonce: "bad nonce with spaces" }, "VALIDATION_ERROR"],
			[{ channel: ["a"], text: "hi" }, "VALIDATION_ERROR"],
			[{ channel: "x".repeat(5000), text: "hi" }, "VALIDATION_ERROR"],
			[{ channel: "no_such_channel_9", text: "hi" }, "CHANNEL_NOT_FOUND"],
			["just a string", "VALIDATION_ERROR"],
			[[1, 2, 3], "VALIDATION_ERROR"],
			[null, "VALIDATION_ERROR"],
		];
		for (const [payload, type] of cases) {
			const ack = await emitAck(socket, "chat:send", payload);
			expect(ack.ok, JSON.stringify(payload).slice(0, 80)).toBe(false);
			expect(ack.error.type).toBe(type);
		}
		expect((await emitAck(socket, "chat:join", {})).error.type).toBe("VALIDATION_ERROR");
		expect((await emitAck(socket, "chat:join", { channel: "no_such_channel_9" })).error.type).toBe("CHANNEL_NOT_FOUND");
		expect((await emitAck(socket, "chat:nope", {})).error.type).toBe("UNKNOWN_EVENT");
		const max = await send(socket, streamer.username, "y".repeat(500));
		expect(max.ok).toBe(true);
		await flush(watcher, watcher, streamer.username);
		expect(seen.filter((m) => m.user.id === a.id).map((m) => m.text)).toEqual(["y".repeat(500)]);
	});
});

describe("moderation", () => {
	it("slow mode refuses a quick second message, then allows it after the interval", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "slow"), registerUser(h.url, "sv")]);
		const { socket: own } = await joined(streamer.username, streamer);
		const { socket } = await joined(streamer.username, a);
		const denied = await api("PUT", `/api/channels/${streamer.username}/settings`, { slowModeSec: 1 }, { token: a.token });
		expect(denied.status).toBe(403);
		const set = await api("PUT", `/api/channels/${streamer.username}/settings`, { slowModeSec: 1 }, { token: streamer.token });
		expect(set.status).toBe(200);
		expect(set.body).toMatchObject({ slowModeSec: 1, followersOnly: false });
		const first = await send(socket, streamer.username, "first");
		expect(first.ok).toBe(true);
		const second = await send(socket, streamer.username, "second");
		expect(second).toEqual({ ok: false, error: { type: "SLOW_MODE", message: expect.any(String), retryAfterSec: 1 } });
		// the owner is exempt
		expect((await send(own, streamer.username, "owner 1")).ok).toBe(true);
		expect((await send(own, streamer.username, "owner 2")).ok).toBe(true);
		const later = await waitFor(
			async () => {
				const ack = await send(socket, streamer.username, "second");
				return ack.ok ? ack : null;
			},
			4000,
			"slow mode to pass",
		);
		expect(Date.parse(later.message.createdAt) - Date.parse(first.message.createdAt)).toBeGreaterThanOrEqual(1000);
	});

	it("a timeout clears the user's messages and expires by itself", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "tmo"), registerUser(h.url, "tv")]);
		const { socket: watcher } = await joined(streamer.username, streamer);
		const { socket } = await joined(streamer.username, a);
		const said = await send(socket, streamer.username, "spam");
		const cleared = nextEvent(watcher, "chat:cleared");
		const res = await api(
			"POST",
			`/api/channels/${streamer.username}/bans`,
			{ userId: a.id, durationSec: 1, reason: "cool down" },
			{ token: streamer.token },
		);
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ channel: streamer.username, userId: a.id, type: "timeout", reason: "cool down" });
		expect(await cleared).toEqual({ channel: streamer.username, userId: a.id });
		const hist = await api("GET", `/api/channels/${streamer.username}/messages`);
		expect(hist.body.items.map((m: any) => m.id)).not.toContain(said.message.id);
		const refused = await send(socket, streamer.username, "still here");
		expect(refused.ok).toBe(false);
		expect(refused.error.type).toBe("TIMED_OUT");
		expect(refused.error.retryAfterSec).toBe(1);
		const back = await waitFor(
			async () => {
				const ack = await send(socket, streamer.username, "back");
				return ack.ok ? ack : null;
			},
			4000,
			"timeout to expire",
		);
		expect(Date.parse(back.message.createdAt) - Date.parse(res.body.createdAt)).toBeGreaterThanOrEqual(1000);
	});

	it("a ban stops sending until lifted; viewers cannot ban and nobody bans the owner", async () => {
		const [streamer, a, b] = await Promise.all([registerUser(h.url, "ban"), registerUser(h.url, "bnv"), registerUser(h.url, "bnw")]);
		const { socket } = await joined(streamer.username, a);
		expect((await api("POST", `/api/channels/${streamer.username}/bans`, { userId: a.id }, { token: b.token })).status).toBe(403);
		expect((await api("POST", `/api/channels/${streamer.username}/bans`, { userId: a.id })).status).toBe(401);
		expect((await api("POST", `/api/channels/${streamer.username}/bans`, { userId: "nobody" }, { token: streamer.token })).status).toBe(404);
		expect((await api("POST", `/api/channels/${streamer.username}/bans`, { userId: a.id, durationSec: -5 }, { token: streamer.token })).status).toBe(422);
		const ban = await api("POST", `/api/channels/${streamer.username}/bans`, { userId: a.id }, { token: streamer.token });
		expect(ban.status).toBe(201);
		expect(ban.body).toMatchObject({ type: "ban", until: null });
		const list = await api("GET", `/api/channels/${streamer.username}/bans`, undefined, { token: streamer.token });
		expect(list.body.items.map((x: any) => x.userId)).toEqual([a.id]);
		expect((await send(socket, streamer.username, "hi")).error).toMatchObject({ type: "BANNED" });
		// a ban lasts: still refused a little later
		expect((await send(socket, streamer.username, "hi again")).error.type).toBe("BANNED");
		// moderators cannot ban the owner
		expect((await api("PUT", `/api/channels/${streamer.username}/moderators/${b.id}`, undefined, { token: streamer.token })).status).toBe(204);
		expect((await api("POST", `/api/channels/${streamer.username}/bans`, { userId: streamer.id }, { token: b.token })).status).toBe(403);
		// the moderator can lift the ban
		expect((await api("DELETE", `/api/channels/${streamer.username}/bans/${a.id}`, undefined, { token: b.token })).status).toBe(204);
		expect((await send(socket, streamer.username, "thanks")).ok).toBe(true);
		expect((await api("DELETE", `/api/channels/${streamer.username}/bans/${a.id}`, undefined, { token: b.token })).status).toBe(204);
	});

	it("a deleted message is announced and gone from history", async () => {
		const [streamer, a, b] = await Promise.all([registerUser(h.url, "del"), registerUser(h.url, "dv"), registerUser(h.url, "dw")]);
		const { socket: watcher } = await joined(streamer.username, b);
		const { socket } = await joined(streamer.username, a);
		const msg = (await send(socket, streamer.username, "oops")).message;
		const path = `/api/channels/${streamer.username}/messages/${msg.id}`;
		expect((await api("DELETE", path, undefined, { token: b.token })).status).toBe(403);
		const announced = nextEvent(watcher, "chat:deleted");
		expect((await api("DELETE", path, undefined, { token: streamer.token })).status).toBe(204);
		expect(await announced).toEqual({ channel: streamer.username, id: msg.id });
		const hist = await api("GET", `/api/channels/${streamer.username}/messages`);
		expect(hist.body.items.map((m: any) => m.id)).not.toContain(msg.id);
		const rejoin = await emitAck(await connect(), "chat:join", { channel: streamer.username });
		expect(rejoin.history.map((m: any) => m.id)).not.toContain(msg.id);
		expect((await api("DELETE", path, undefined, { token: streamer.token })).status).toBe(404);
	});

	it("moderators are appointed by the owner, moderate and skip slow mode; blocked terms refuse", async () => {
		const [streamer, mod, v] = await Promise.all([registerUser(h.url, "mods"), registerUser(h.url, "mm"), registerUser(h.url, "mv")]);
		const { socket: modSock } = await joined(streamer.username, mod);
		const { socket } = await joined(streamer.username, v);
		expect((await api("PUT", `/api/channels/${streamer.username}/moderators/${mod.id}`, undefined, { token: v.token })).status).toBe(403);
		expect((await api("PUT", `/api/channels/${streamer.username}/moderators/${mod.id}`, undefined, { token: streamer.token })).status).toBe(204);
		const mods = await api("GET", `/api/channels/${streamer.username}/moderators`);
		expect(mods.body.items.map((m: any) => m.id)).toEqual([mod.id]);
		// a moderator can change settings but cannot appoint moderators
		expect((await api("PUT", `/api/channels/${streamer.username}/moderators/${v.id}`, undefined, { token: mod.token })).status).toBe(403);
		const set = await api(
			"PUT",
			`/api/channels/${streamer.username}/settings`,
			{ slowModeSec: 30, blockedTerms: [" BadWord ", "badword"] },
			{ token: mod.token },
		);
		expect(set.status).toBe(200);
		expect(set.body.blockedTerms).toEqual(["badword"]);
		expect((await api("GET", `/api/channels/${streamer.username}/settings`)).body).toEqual({
			channel: streamer.username,
			slowModeSec: 30,
			followersOnly: false,
		});
		expect((await send(modSock, streamer.username, "one")).ok).toBe(true);
		expect((await send(modSock, streamer.username, "two")).ok).toBe(true);
		const blocked = await send(socket, streamer.username, "what a B4DWORD that was");
		expect(blocked.error.type).toBe("BLOCKED_TERM");
		expect((await send(socket, streamer.username, "fine words")).ok).toBe(true);
		// removed: back to a viewer
		expect((await api("DELETE", `/api/channels/${streamer.username}/moderators/${mod.id}`, undefined, { token: streamer.token })).status).toBe(204);
		expect((await send(modSock, streamer.username, "three")).ok).toBe(true);
		expect((await send(modSock, streamer.username, "four")).error.type).toBe("SLOW_MODE");
		expect((await api("PUT", `/api/channels/${streamer.username}/settings`, { slowModeSec: 0 }, { token: mod.token })).status).toBe(403);
		expect((await api("PUT", `/api/channels/${streamer.username}/settings`, { slowModeSec: -1 }, { token: streamer.token })).status).toBe(422);
	});

	it("admins moderate any channel; moderators cannot sanction each other", async () => {
		const [streamer, modA, modB, op] = await Promise.all([
			registerUser(h.url, "adm"),
			registerUser(h.url, "ama"),
			registerUser(h.url, "amb"),
			registerUser(h.url, "aop"),
		]);
		await h.broker.call("users.setRoles", { username: op.username, roles: ["user", "admin"] });
		const login = await api("POST", "/api/auth/login", { login: op.username, password: "correct horse battery" });
		const adminToken = login.body.accessToken as string;
		for (const m of [modA, modB])
			expect((await api("PUT", `/api/channels/${streamer.username}/moderators/${m.id}`, undefined, { token: streamer.token })).status).toBe(204);
		const refused = await api("POST", `/api/channels/${streamer.username}/bans`, { userId: modB.id, durationSec: 60 }, { token: modA.token });
		expect(refused.status).toBe(403);
		expect(refused.body.type).toBe("CANNOT_BAN");
		const { socket } = await joined(streamer.username, modB);
		const msg = (await send(socket, streamer.username, "mod line")).message;
		expect((await api("DELETE", `/api/channels/${streamer.username}/messages/${msg.id}`, undefined, { token: adminToken })).status).toBe(204);
		expect((await api("POST", `/api/channels/${streamer.username}/bans`, { userId: modB.id, durationSec: 60 }, { token: adminToken })).status).toBe(201);
		expect((await send(socket, streamer.username, "muted?")).error.type).toBe("TIMED_OUT");
		expect((await api("POST", `/api/channels/${streamer.username}/bans`, { userId: streamer.id }, { token: adminToken })).body.type).toBe("CANNOT_BAN");
	});

	it("followers-only refuses non-followers when no follows service answers, the owner still chats", async () => {
		const [streamer, v] = await Promise.all([registerUser(h.url, "fol"), registerUser(h.url, "fv")]);
		const { socket: own } = await joined(streamer.username, streamer);
		const { socket } = await joined(streamer.username, v);
		expect((await api("PUT", `/api/channels/${streamer.username}/settings`, { followersOnly: true }, { token: streamer.token })).status).toBe(200);
		expect((await send(socket, streamer.username, "hi")).error.type).toBe("FOLLOWERS_ONLY");
		expect((await send(own, streamer.username, "hi")).ok).toBe(true);
	});
});

describe("presence", () => {
	it("viewer counts rise and fall with joins and disconnects, coalesced under a crowd", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "pres"), registerUser(h.url, "pv")]);
		const watcher = await connect();
		const updates = collect<{ channel: string; viewers: number }>(watcher, "presence");
		const first = await emitAck(watcher, "chat:join", { channel: streamer.username });
		expect(first.viewers).toBe(1);
		const last = () => updates[updates.length - 1]?.viewers;
		await waitFor(() => last() === 1, 3000, "presence 1");
		const { socket: s2 } = await joined(streamer.username, streamer);
		const { socket: s3 } = await joined(streamer.username, a);
		await waitFor(() => last() === 3, 3000, "presence 3");
		expect(updates.every((u) => u.channel === streamer.username)).toBe(true);
		s3.close();
		await waitFor(() => last() === 2, 3000, "presence 2 after a disconnect");
		await emitAck(s2, "chat:leave", { channel: streamer.username });
		await waitFor(() => last() === 1, 3000, "presence 1 after a leave");

		// A crowd of 40 arrives at once: at most one update per 150 ms window, far fewer than 40.
		const before = updates.length;
		const t0 = Date.now();
		const crowd = await Promise.all(Array.from({ length: 40 }, (_, i) => connect(undefined, `198.51.100.${i + 1}`)));
		await Promise.all(crowd.map((s) => emitAck(s, "chat:join", { channel: streamer.username })));
		await waitFor(() => last() === 41, 5000, "presence 41");
		const duringJoin = updates.length - before;
		expect(duringJoin).toBeGreaterThanOrEqual(1);
		expect(duringJoin).toBeLessThanOrEqual(Math.min(20, Math.ceil((Date.now() - t0) / 150) + 1));
		const t1 = Date.now();
		for (const s of crowd) s.close();
		await waitFor(() => last() === 1, 5000, "presence back to 1");
		const duringLeave = updates.length - before - duringJoin;
		expect(duringLeave).toBeLessThanOrEqual(Math.min(20, Math.ceil((Date.now() - t1) / 150) + 1));
		const internal = await h.broker.call("chat.viewers", { channel: streamer.username });
		expect(internal).toEqual({ channel: streamer.username, viewers: 1 });
	});

	it("drops a gateway node's counts when that node leaves", async () => {
		const [streamer] = await Promise.all([registerUser(h.url, "node")]);
		const watcher = await connect();
		const updates = collect<{ viewers: number }>(watcher, "presence");
		await emitAck(watcher, "chat:join", { channel: streamer.username });
		const last = () => updates[updates.length - 1]?.viewers;
		await waitFor(() => last() === 1, 3000, "presence 1");
		// Another gateway node reports 7 local viewers, then disappears from the cluster.
		await h.broker.broadcast("ws.roomSizes", { namespace: "/", nodeID: "gateway-2", sizes: { [`chat:${streamer.username}`]: 7 }, full: false });
		await waitFor(() => last() === 8, 3000, "presence summed across nodes");
		h.broker.broadcastLocal("$node.disconnected", { node: { id: "gateway-2" }, unexpected: true });
		await waitFor(() => last() === 1, 3000, "presence after the node left");
	});
});
