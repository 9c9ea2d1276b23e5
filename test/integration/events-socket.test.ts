import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { client, collect, connectSocket, nextEvent, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * The Socket.IO namespace `/events` for bots (contract: "Account security"), on two gateway
 * nodes: node A runs users, follows and the feed with a gateway, node B only a gateway. A socket
 * on either receives its own channel's events as `event` {id, type, createdAt, data}; one that
 * reconnects with `auth.since` gets what it missed, then live ones.
 */

let a: Harness;
let b: Harness;
let apiA: ReturnType<typeof client>;
const sockets: Socket[] = [];

interface FeedEvent {
	id: string;
	type: string;
	createdAt: string;
	data: Record<string, any>;
}

beforeAll(async () => {
	const env = { SCRYPT_COST: "1024", SOCIAL_REDRIVE_MS: "200" };
	a = await startHarness({ services: ["users", "follows", "feed"], env, nodeID: `ev-a-${process.pid}`, brokerOptions: { transporter: "Fake" } });
	b = await startHarness({ services: [], env, nodeID: `ev-b-${process.pid}`, brokerOptions: { transporter: "Fake" } });
	await b.broker.waitForServices(["users", "feed"], 10_000);
	await waitFor(() => a.broker.registry.events.getAllEndpoints("ws.emit").some((ep: any) => ep.id === b.broker.nodeID), 5000, "gateway B known to A");
	apiA = client(a.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await b?.stop();
	await a?.stop();
});

function send(channel: string, payload: unknown): Promise<void> {
	return (a.broker as unknown as { sendToChannel(c: string, p: unknown): Promise<void> }).sendToChannel(channel, payload);
}

function donation(recipient: { id: string; username: string }, id: string, status = "paid") {
	return {
		id,
		status,
		amount: 25_000,
		currency: "IDR",
		formattedAmount: "Rp 25.000",
		donorName: "Budi",
		donorId: "donor-secret-id",
		email: "budi@example.test",
		message: "semangat!",
		recipientId: recipient.id,
		recipientUsername: recipient.username,
		createdAt: new Date().toISOString(),
		paidAt: new Date().toISOString(),
	};
}

async function personalToken(token: string, scopes: string[]) {
	const r = await apiA("POST", "/api/me/tokens", { name: "bot", scopes }, { token });
	expect(r.status).toBe(201);
	return r.body.token as string;
}

async function open(h: Harness, auth: Record<string, unknown>) {
	const s = await connectSocket(h.url, "/events", auth);
	sockets.push(s);
	return s;
}

describe("/events", () => {
	it("sends the channel's donations, follows and payouts to its bot on any gateway, each with a stable id", async () => {
		const streamer = await registerUser(a.url, "evs");
		const other = await registerUser(a.url, "evo");
		const fan = await registerUser(a.url, "evf");
		const pat = await personalToken(streamer.token, ["events:read"]);
		const bot = await open(b, { token: pat });
		const seen = collect<FeedEvent>(bot, "event");
		const onA = await open(a, { token: streamer.token });
		const seenOnA = collect<FeedEvent>(onA, "event");
		const stranger = await open(b, { token: other.token });
		const strangerSaw = collect<FeedEvent>(stranger, "event");

		await send("donations.paid", { donation: donation(streamer, `don_ev_${Date.now()}`) });
		await waitFor(() => seen.length === 1, 5000, "donation.paid on gateway B");
		const paid = seen[0];
		expect(paid).toMatchObject({ type: "donation.paid", data: { donation: { amount: 25_000, currency: "IDR", donorName: "Budi", message: "semangat!" } } });
		expect(paid.id).toMatch(/^evt_[0-9a-f]{32}$/);
		expect(Number.isNaN(Date.parse(paid.createdAt))).toBe(false);
		expect(JSON.stringify(paid)).not.toMatch(/donor-secret-id|budi@example/);

		// Redelivered: the same id (a bot dedupes on it).
		await send("donations.paid", { donation: donation(streamer, paid.data.donation.id) });
		await waitFor(() => seen.length === 2, 5000, "redelivery");
		expect(seen[1].id).toBe(paid.id);

		expect((await apiA("PUT", `/api/users/${streamer.username}/follow`, undefined, { token: fan.token })).status).toBe(204);
		await waitFor(() => seen.some((e) => e.type === "follow"), 5000, "follow");
		expect(seen.find((e) => e.type === "follow")!.data.follower).toMatchObject({ username: fan.username });

		// payouts.paid, as a queue message or as an event: one event id per payout either way.
		await send("payouts.paid", { payout: { id: "po_1", userId: streamer.id, amount: 100_000, currency: "IDR", accountNumber: "1234567890" } });
		await a.broker.emit("payouts.paid", { payout: { id: "po_2", userId: streamer.id, amount: 50_000, currency: "IDR" } });
		await waitFor(() => seen.filter((e) => e.type === "payout.paid").length === 2, 5000, "payout.paid");
		const payouts = seen.filter((e) => e.type === "payout.paid");
		// The queue message and the event travel separately: either may come first.
		expect(payouts.map((e) => e.data.payout.amount).sort()).toEqual([100_000, 50_000].sort());
		expect(JSON.stringify(payouts)).not.toContain("1234567890");

		await waitFor(() => seenOnA.length === seen.length, 5000, "the access-token socket on A got the same");
		expect(seenOnA.map((e) => e.id)).toEqual(seen.map((e) => e.id));
		expect(strangerSaw).toEqual([]);
	});

	it("replays what a bot missed after the id it last saw, then goes live", async () => {
		const streamer = await registerUser(a.url, "evr");
		const pat = await personalToken(streamer.token, ["events:read", "profile:read"]);
		const first = await open(b, { token: pat });
		const got = nextEvent<FeedEvent>(first, "event");
		await send("donations.paid", { donation: donation(streamer, `don_r1_${Date.now()}`) });
		const last = await got;
		first.close();

		const missed = [`don_r2_${Date.now()}`, `don_r3_${Date.now()}`];
		// Stored one after the other: the feed keeps them for the reconnect.
		const stored = (n: number) =>
			waitFor(async () => ((await a.broker.call("feed.since", { ownerId: streamer.id, since: last.id })) as unknown[]).length === n, 5000, `${n} stored`);
		await send("donations.paid", { donation: donation(streamer, missed[0]) });
		await stored(1);
		await send("donations.reversed", { donation: donation(streamer, missed[1], "reversed") });
		await stored(2);

		const events: FeedEvent[] = [];
		const replayed = new Promise<{ count: number }>((resolve) => {
			const s = connectSocket(b.url, "/events", { token: pat, since: last.id }, (sock) => {
				sock.on("event", (e: FeedEvent) => events.push(e));
				sock.once("replayed", resolve);
			});
			void s.then((sock) => sockets.push(sock));
		});
		expect((await replayed).count).toBe(2);
		expect(events.map((e) => [e.type, e.data.donation.id])).toEqual([
			["donation.paid", missed[0]],
			["donation.reversed", missed[1]],
		]);
		await send("donations.paid", { donation: donation(streamer, `don_r4_${Date.now()}`) });
		await waitFor(() => events.length === 3, 5000, "live after the replay");
		expect(events[2].type).toBe("donation.paid");
		expect(new Set(events.map((e) => e.id)).size).toBe(3);
	});

	it("refuses sockets without a token, with a token lacking events:read, or with a revoked one", async () => {
		const u = await registerUser(a.url, "evx");
		await expect(connectSocket(b.url, "/events")).rejects.toThrow(/token is required/);
		await expect(connectSocket(b.url, "/events", { token: "nonsense" })).rejects.toThrow(/Invalid token/);
		const reader = await personalToken(u.token, ["profile:read"]);
		await expect(connectSocket(b.url, "/events", { token: reader })).rejects.toThrow(/events:read/);

		const pat = await personalToken(u.token, ["events:read"]);
		const s = await open(b, { token: pat });
		const gone = new Promise<void>((resolve) => s.once("disconnect", () => resolve()));
		const id = ((await apiA("GET", "/api/me/tokens", undefined, { token: u.token })).body.items as Array<{ id: string; scopes: string[] }>).find((t) =>
			t.scopes.includes("events:read"),
		)!.id;
		expect((await apiA("DELETE", `/api/me/tokens/${id}`, undefined, { token: u.token })).status).toBe(204);
		await gone;
		await expect(connectSocket(b.url, "/events", { token: pat })).rejects.toThrow(/revoked/);
	});
});
