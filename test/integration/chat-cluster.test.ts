import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { client, collect, connectSocket, emitAck, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * Two nodes joined by Moleculer's in-process transporter: node A runs users, chat, follows and a
 * gateway; node B runs only a gateway. Sockets on either gateway share one chat: messages cross
 * nodes through `ws.emit`, viewer counts sum both gateways, and B's viewers vanish when B leaves.
 */
let a: Harness;
let b: Harness;
const sockets: Socket[] = [];

beforeAll(async () => {
	const env = { SCRYPT_COST: "1024", CHAT_RATE_BURST: "1000", CHAT_RATE_SUSTAINED: "5000", CHAT_PRESENCE_WINDOW_MS: "150" };
	a = await startHarness({
		services: ["users", "chat", "moderation", "follows"],
		env,
		nodeID: `chat-a-${process.pid}`,
		brokerOptions: { transporter: "Fake" },
	});
	// TRUST_PROXY: the two anonymous viewers below come from two addresses (one address counts once).
	b = await startHarness({ services: [], env: { TRUST_PROXY: "true" }, nodeID: `chat-b-${process.pid}`, brokerOptions: { transporter: "Fake" } });
	await b.broker.waitForServices(["chat", "users"], 10_000);
	// The gateway rebuilds its socket routes when remote services appear.
	await waitFor(() => (b.broker.getLocalService("api") as any).hub.routes.has("/ chat:send"), 5000, "routes on gateway B");
	// Node A learns B's gateway from B's INFO packet (sent once B's services have started); until
	// then A's broadcasts cannot reach B's sockets.
	await waitFor(() => a.broker.registry.events.getAllEndpoints("ws.emit").some((ep: any) => ep.id === b.broker.nodeID), 5000, "gateway B known to node A");
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await b?.stop();
	await a?.stop();
});

async function connect(h: Harness, token?: string, ip?: string) {
	const s = await connectSocket(h.url, "/", token ? { token } : undefined, undefined, ip ? { headers: { "X-Forwarded-For": ip } } : {});
	sockets.push(s);
	return s;
}

describe("chat across gateway nodes", () => {
	it("delivers across gateways, sums viewers over both, and drops a gateway's viewers when it leaves", async () => {
		const [streamer, viewer] = await Promise.all([registerUser(a.url, "cl"), registerUser(a.url, "clv")]);
		const onA = await connect(a, streamer.token);
		const presence = collect<{ viewers: number }>(onA, "presence");
		const last = () => presence[presence.length - 1]?.viewers;
		expect((await emitAck(onA, "chat:join", { channel: streamer.username })).ok).toBe(true);
		await waitFor(() => last() === 1, 3000, "presence 1");

		const onB = await Promise.all([connect(b, viewer.token), connect(b, undefined, "198.51.100.1"), connect(b, undefined, "198.51.100.2")]);
		for (const s of onB) expect((await emitAck(s, "chat:join", { channel: streamer.username })).ok).toBe(true);
		await waitFor(() => last() === 4, 3000, "presence summed over both gateways");

		const inA = collect(onA, "chat:message");
		const inB = onB.map((s) => collect(s, "chat:message"));
		const sent = await emitAck(onB[0], "chat:send", { channel: streamer.username, text: "from gateway B" });
		expect(sent.ok).toBe(true);
		const reply = await emitAck(onA, "chat:send", { channel: streamer.username, text: "from gateway A" });
		expect(reply.ok).toBe(true);
		await waitFor(() => inA.length === 2 && inB.every((x) => x.length === 2), 3000, "every socket got both");
		for (const box of [inA, ...inB]) expect(box.map((m) => m.text)).toEqual(["from gateway B", "from gateway A"]);

		onB[2].close();
		await waitFor(() => last() === 3, 3000, "a disconnect on B");

		await b.stop();
		await waitFor(() => last() === 1, 5000, "B's viewers dropped when it left");
		expect(await a.broker.call("chat.viewers", { channel: streamer.username })).toEqual({ channel: streamer.username, viewers: 1 });
	});
});

describe("followers-only with the follows service", () => {
	it("lets followers chat and refuses everyone else", async () => {
		const api = client(a.url);
		const [streamer, fan, stranger] = await Promise.all([registerUser(a.url, "ff"), registerUser(a.url, "ffa"), registerUser(a.url, "ffs")]);
		expect((await api("PUT", `/api/channels/${streamer.username}/settings`, { followersOnly: true }, { token: streamer.token })).status).toBe(200);
		expect((await api("PUT", `/api/users/${streamer.username}/follow`, undefined, { token: fan.token })).status).toBe(204);
		const [sf, ss] = await Promise.all([connect(a, fan.token), connect(a, stranger.token)]);
		for (const s of [sf, ss]) expect((await emitAck(s, "chat:join", { channel: streamer.username })).ok).toBe(true);
		expect((await emitAck(sf, "chat:send", { channel: streamer.username, text: "a fan here" })).ok).toBe(true);
		expect((await emitAck(ss, "chat:send", { channel: streamer.username, text: "let me talk" })).error.type).toBe("FOLLOWERS_ONLY");
		expect((await api("DELETE", `/api/users/${streamer.username}/follow`, undefined, { token: fan.token })).status).toBe(204);
		expect((await emitAck(sf, "chat:send", { channel: streamer.username, text: "still a fan?" })).error.type).toBe("FOLLOWERS_ONLY");
	});
});
