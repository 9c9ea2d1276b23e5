import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import type { Context, ServiceSchema } from "moleculer";
import { client, collect, connectSocket, emitAck, nextEvent, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

type User = Awaited<ReturnType<typeof registerUser>>;

let h: Harness;
let api: ReturnType<typeof client>;
const sockets: Socket[] = [];
/** "followerId>followeeId" pairs the stand-in follows service answers true for. */
const follows = new Set<string>();

/** The agreed follows interface (follows.isFollowing → boolean), answering from a set. */
const followsStub: Partial<ServiceSchema> = {
	name: "follows",
	actions: {
		isFollowing: {
			visibility: "public",
			params: { followerId: "string", followeeId: "string" },
			handler(ctx: Context<{ followerId: string; followeeId: string }>) {
				return follows.has(`${ctx.params.followerId}>${ctx.params.followeeId}`);
			},
		},
	},
};

beforeAll(async () => {
	h = await startHarness({
		services: ["users", "chat", "moderation"],
		extra: [followsStub],
		env: { SCRYPT_COST: "1024", CHAT_RATE_BURST: "3", CHAT_RATE_SUSTAINED: "100" },
	});
	api = client(h.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await h?.stop();
});

async function joined(channel: string, user?: User) {
	const s = await connectSocket(h.url, "/", user ? { token: user.token } : undefined);
	sockets.push(s);
	expect((await emitAck(s, "chat:join", { channel })).ok).toBe(true);
	return s;
}

describe("chat limits", () => {
	it("answers a burst beyond the per-user limit with RATE_LIMITED and a retry hint", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "rl"), registerUser(h.url, "rv")]);
		const watcher = await joined(streamer.username, streamer);
		const seen = collect(watcher, "chat:message");
		const s = await joined(streamer.username, a);
		const acks = [];
		for (let i = 0; i < 8; i++) acks.push(await emitAck(s, "chat:send", { channel: streamer.username, text: `burst ${i}` }));
		// Windows are aligned to the clock: 3 fit in one; a burst straddling a boundary may fit 3 more.
		const okCount = acks.filter((x) => x.ok).length;
		expect(acks.slice(0, 3).every((x) => x.ok)).toBe(true);
		expect(okCount).toBeGreaterThanOrEqual(3);
		expect(okCount).toBeLessThanOrEqual(6);
		for (const x of acks.filter((y) => !y.ok)) {
			expect(x.error.type).toBe("RATE_LIMITED");
			expect(x.error.retryAfterSec).toBeGreaterThanOrEqual(1);
		}
		// the limit is per user: someone else still talks, and the refused ones were never broadcast
		const marker = await emitAck(watcher, "chat:send", { channel: streamer.username, text: "marker" });
		expect(marker.ok).toBe(true);
		await waitFor(() => seen.some((m) => m.text === "marker"), 3000, "marker");
		expect(seen.filter((m) => m.user.id === a.id)).toHaveLength(okCount);
		// the burst window passes by itself
		await waitFor(async () => (await emitAck(s, "chat:send", { channel: streamer.username, text: "later" })).ok, 5000, "burst window");
	});

	it("followers-only asks the follows service", async () => {
		const [streamer, fan, stranger] = await Promise.all([registerUser(h.url, "fo"), registerUser(h.url, "ff"), registerUser(h.url, "fs")]);
		follows.add(`${fan.id}>${streamer.id}`);
		expect((await api("PUT", `/api/channels/${streamer.username}/settings`, { followersOnly: true }, { token: streamer.token })).status).toBe(200);
		const [sf, ss] = await Promise.all([joined(streamer.username, fan), joined(streamer.username, stranger)]);
		expect((await emitAck(sf, "chat:send", { channel: streamer.username, text: "a fan" })).ok).toBe(true);
		expect((await emitAck(ss, "chat:send", { channel: streamer.username, text: "a stranger" })).error.type).toBe("FOLLOWERS_ONLY");
		follows.add(`${stranger.id}>${streamer.id}`);
		expect((await emitAck(ss, "chat:send", { channel: streamer.username, text: "now a fan" })).ok).toBe(true);
	});

	it("typing goes to the others in the room, once per interval, and needs a signed-in member", async () => {
		const [streamer, a] = await Promise.all([registerUser(h.url, "ty"), registerUser(h.url, "tyv")]);
		const watcher = await joined(streamer.username, streamer);
		const s = await joined(streamer.username, a);
		const typed = collect(watcher, "chat:typing");
		const own = collect(s, "chat:typing");
		const first = nextEvent(watcher, "chat:typing");
		expect((await emitAck(s, "chat:typing", { channel: streamer.username })).ok).toBe(true);
		expect(await first).toEqual({ channel: streamer.username, user: { id: a.id, username: a.username, displayName: a.username } });
		expect(await emitAck(s, "chat:typing", { channel: streamer.username })).toMatchObject({ ok: true, throttled: true });
		// a flush: the streamer's own typing reaches a, so anything a sent earlier has arrived too
		const back = nextEvent(s, "chat:typing");
		await emitAck(watcher, "chat:typing", { channel: streamer.username });
		await back;
		expect(typed).toHaveLength(1);
		expect(own.map((t) => t.user.id)).toEqual([streamer.id]);

		const anon = await joined(streamer.username);
		expect((await emitAck(anon, "chat:typing", { channel: streamer.username })).error.type).toBe("UNAUTHORIZED");
		const outsider = await connectSocket(h.url, "/", { token: a.token });
		sockets.push(outsider);
		expect((await emitAck(outsider, "chat:typing", { channel: streamer.username })).error.type).toBe("NOT_JOINED");
	});

	it("caps the chat rooms one connection may join", async () => {
		const owners = await Promise.all(Array.from({ length: 21 }, (_, i) => registerUser(h.url, `cap${i}`)));
		const s = await connectSocket(h.url, "/");
		sockets.push(s);
		for (const o of owners.slice(0, 20)) expect((await emitAck(s, "chat:join", { channel: o.username })).ok).toBe(true);
		expect((await emitAck(s, "chat:join", { channel: owners[20].username })).error.type).toBe("TOO_MANY_ROOMS");
		expect((await emitAck(s, "chat:join", { channel: owners[0].username })).ok).toBe(true);
		expect((await emitAck(s, "chat:leave", { channel: owners[1].username })).ok).toBe(true);
		expect((await emitAck(s, "chat:join", { channel: owners[20].username })).ok).toBe(true);
	});
});
