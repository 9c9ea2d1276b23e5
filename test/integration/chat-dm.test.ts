import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import type { ServiceSchema } from "moleculer";
import { client, collect, connectSocket, emitAck, nextEvent, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

type User = Awaited<ReturnType<typeof registerUser>>;

let h: Harness;
let api: ReturnType<typeof client>;
const sockets: Socket[] = [];
const dms: any[] = [];

/** Stands in for the notifications inbox: records what chat hands to the chat.dm channel. */
const dmSink: Partial<ServiceSchema> = {
	name: "dm-sink",
	channels: {
		"chat.dm": {
			group: "dm-sink",
			handler(payload: unknown) {
				dms.push(payload);
			},
		},
	},
};

beforeAll(async () => {
	h = await startHarness({
		services: ["users", "chat", "dm"],
		extra: [dmSink],
		env: { SCRYPT_COST: "1024", CHAT_RATE_BURST: "1000", CHAT_RATE_SUSTAINED: "5000" },
	});
	api = client(h.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await h?.stop();
});

async function connect(user: User): Promise<Socket> {
	const s = await connectSocket(h.url, "/", { token: user.token });
	sockets.push(s);
	return s;
}

const unreadOf = async (user: User, conversationId: string) => {
	const res = await api("GET", "/api/conversations", undefined, { token: user.token });
	expect(res.status).toBe(200);
	return res.body.items.find((c: any) => c.id === conversationId)?.unread;
};

describe("direct messages", () => {
	it("one conversation per pair, even when both open it at once", async () => {
		const [a, b] = await Promise.all([registerUser(h.url, "pa"), registerUser(h.url, "pb")]);
		const opened = await Promise.all([
			...Array.from({ length: 4 }, () => api("POST", "/api/conversations", { with: b.username }, { token: a.token })),
			...Array.from({ length: 4 }, () => api("POST", "/api/conversations", { with: a.username.toUpperCase() }, { token: b.token })),
		]);
		expect(new Set(opened.map((r) => r.body.id)).size).toBe(1);
		expect(opened.filter((r) => r.status === 201)).toHaveLength(1);
		expect(opened.filter((r) => r.status === 200)).toHaveLength(7);
		const again = await api("POST", "/api/conversations", { with: b.username }, { token: a.token });
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ id: opened[0].body.id, with: { id: b.id, username: b.username }, lastMessage: null, unread: 0 });
		expect((await api("POST", "/api/conversations", { with: a.username }, { token: a.token })).status).toBe(422);
		expect((await api("POST", "/api/conversations", { with: "nobody_at_all" }, { token: a.token })).status).toBe(404);
		expect((await api("POST", "/api/conversations", { with: b.username })).status).toBe(401);
		expect((await api("POST", "/api/conversations", { with: 12 }, { token: a.token })).status).toBe(422);
	});

	it("is visible only to its two participants, live over sockets, with unread counts", async () => {
		const [a, b, c] = await Promise.all([registerUser(h.url, "da"), registerUser(h.url, "db"), registerUser(h.url, "dc")]);
		const [sa, sb, sc] = await Promise.all([connect(a), connect(b), connect(c)]);
		const [inA, inB, inC] = [collect(sa, "dm:message"), collect(sb, "dm:message"), collect(sc, "dm:message")];
		const conv = (await api("POST", "/api/conversations", { with: b.username }, { token: a.token })).body;

		const arrivesAtB = nextEvent(sb, "dm:message");
		const sent = await api("POST", `/api/conversations/${conv.id}/messages`, { text: "hi b" }, { token: a.token });
		expect(sent.status).toBe(201);
		expect(sent.body).toMatchObject({ conversationId: conv.id, user: { id: a.id, username: a.username }, text: "hi b" });
		expect(await arrivesAtB).toEqual(sent.body);
		await waitFor(() => inA.length === 1, 3000, "sender's own sockets get it too");
		await waitFor(async () => (await unreadOf(b, conv.id)) === 1, 3000, "unread 1");
		expect(await unreadOf(a, conv.id)).toBe(0);

		// c sees nothing of it, by any route
		for (const [method, path, body] of [
			["GET", `/api/conversations/${conv.id}`],
			["GET", `/api/conversations/${conv.id}/messages`],
			["POST", `/api/conversations/${conv.id}/messages`, { text: "let me in" }],
			["POST", `/api/conversations/${conv.id}/read`],
		] as const) {
			const res = await api(method, path, body, { token: c.token });
			expect(res.status, `${method} ${path}`).toBe(404);
			expect(res.body.type).toBe("CONVERSATION_NOT_FOUND");
		}
		expect((await emitAck(sc, "dm:join", { conversationId: conv.id })).error.type).toBe("CONVERSATION_NOT_FOUND");
		expect((await emitAck(sc, "dm:send", { conversationId: conv.id, text: "x" })).error.type).toBe("CONVERSATION_NOT_FOUND");
		expect((await emitAck(sc, "dm:typing", { conversationId: conv.id })).error.type).toBe("CONVERSATION_NOT_FOUND");
		expect((await api("GET", "/api/conversations", undefined, { token: c.token })).body).toEqual({ items: [], nextCursor: null });

		// two more from a over the socket; b's unread grows
		for (const text of ["are you there?", "hello?"]) expect((await emitAck(sa, "dm:send", { conversationId: conv.id, text })).ok).toBe(true);
		await waitFor(() => inB.length === 3, 3000, "b got three");
		expect(await unreadOf(b, conv.id)).toBe(3);
		const listB = (await api("GET", "/api/conversations", undefined, { token: b.token })).body.items[0];
		expect(listB).toMatchObject({ id: conv.id, with: { id: a.id }, lastMessage: { text: "hello?", user: { id: a.id } }, unread: 3 });

		// b reads: a is told, b's unread drops to 0
		const readSeen = nextEvent(sa, "dm:read");
		const read = await api("POST", `/api/conversations/${conv.id}/read`, undefined, { token: b.token });
		expect(read.status).toBe(200);
		expect(read.body).toMatchObject({ conversationId: conv.id, unread: 0 });
		expect(await readSeen).toMatchObject({ conversationId: conv.id, userId: b.id, lastReadId: inB[2].id });
		expect(await unreadOf(b, conv.id)).toBe(0);

		// b answers: a has one unread, b none
		const reply = await emitAck(sb, "dm:send", { conversationId: conv.id, text: "yes!" });
		expect(reply.ok).toBe(true);
		expect(await unreadOf(a, conv.id)).toBe(1);
		expect(await unreadOf(b, conv.id)).toBe(0);

		// history, newest first, paged; dm:join gives it oldest first
		const p1 = await api("GET", `/api/conversations/${conv.id}/messages?limit=3`, undefined, { token: b.token });
		expect(p1.body.items.map((m: any) => m.text)).toEqual(["yes!", "hello?", "are you there?"]);
		const p2 = await api("GET", `/api/conversations/${conv.id}/messages?limit=3&cursor=${p1.body.nextCursor}`, undefined, { token: b.token });
		expect(p2.body).toMatchObject({ items: [{ text: "hi b" }], nextCursor: null });
		const joined = await emitAck(sa, "dm:join", { conversationId: conv.id });
		expect(joined.history.map((m: any) => m.text)).toEqual(["hi b", "are you there?", "hello?", "yes!"]);

		// c got none of it
		await waitFor(() => inA.length === 4, 3000, "a got four");
		expect(inC).toEqual([]);

		// every message was handed to the notifications channel, to the other participant
		await waitFor(() => dms.filter((d) => d.conversationId === conv.id).length === 4, 3000, "chat.dm x4");
		expect(dms.find((d) => d.messageId === sent.body.id)).toEqual({
			conversationId: conv.id,
			messageId: sent.body.id,
			from: { id: a.id, username: a.username, displayName: a.username },
			to: b.id,
			text: "hi b",
		});
		expect(dms.find((d) => d.messageId === reply.message.id).to).toBe(a.id);
	});

	it("typing reaches the other participant; a nonce resend returns the first message", async () => {
		const [a, b] = await Promise.all([registerUser(h.url, "ta"), registerUser(h.url, "tb")]);
		const [sa, sb] = await Promise.all([connect(a), connect(b)]);
		const conv = (await api("POST", "/api/conversations", { with: b.username }, { token: a.token })).body;
		const typing = nextEvent(sb, "dm:typing");
		expect((await emitAck(sa, "dm:typing", { conversationId: conv.id })).ok).toBe(true);
		expect(await typing).toEqual({ conversationId: conv.id, user: { id: a.id, username: a.username, displayName: a.username } });

		const inB = collect(sb, "dm:message");
		const first = await api("POST", `/api/conversations/${conv.id}/messages`, { text: "once", nonce: "k1" }, { token: a.token });
		const second = await api("POST", `/api/conversations/${conv.id}/messages`, { text: "once", nonce: "k1" }, { token: a.token });
		expect(first.status).toBe(201);
		expect(second.status).toBe(200);
		expect(second.body).toEqual(first.body);
		expect((await emitAck(sa, "dm:send", { conversationId: conv.id, text: "marker" })).ok).toBe(true);
		await waitFor(() => inB.some((m) => m.text === "marker"), 3000, "marker");
		expect(inB.filter((m) => m.text === "once")).toHaveLength(1);
		expect(await unreadOf(b, conv.id)).toBe(2);

		for (const body of [{ text: "" }, { text: "z".repeat(501) }, { text: ["x"] }, {}]) {
			const res = await api("POST", `/api/conversations/${conv.id}/messages`, body, { token: a.token });
			expect(res.status).toBe(422);
		}
		expect((await api("GET", "/api/conversations/not-an-id/messages", undefined, { token: a.token })).status).toBe(404);
	});

	it("lists conversations by latest activity with a cursor", async () => {
		const [me, x, y, z] = await Promise.all([registerUser(h.url, "lm"), registerUser(h.url, "lx"), registerUser(h.url, "ly"), registerUser(h.url, "lz")]);
		const ids: Record<string, string> = {};
		for (const other of [x, y, z]) ids[other.username] = (await api("POST", "/api/conversations", { with: other.username }, { token: me.token })).body.id;
		// x speaks last, so x's conversation is on top
		await api("POST", `/api/conversations/${ids[y.username]}/messages`, { text: "y" }, { token: y.token });
		await api("POST", `/api/conversations/${ids[x.username]}/messages`, { text: "x" }, { token: x.token });
		const p1 = await api("GET", "/api/conversations?limit=2", undefined, { token: me.token });
		expect(p1.body.items.map((c: any) => c.with.username)).toEqual([x.username, y.username]);
		const p2 = await api("GET", `/api/conversations?limit=2&cursor=${p1.body.nextCursor}`, undefined, { token: me.token });
		expect(p2.body.items.map((c: any) => c.with.username)).toEqual([z.username]);
		expect(p2.body.nextCursor).toBeNull();
		expect((await api("GET", "/api/conversations?cursor=bogus", undefined, { token: me.token })).status).toBe(422);
	});
});
