import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, connectSocket, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, openOverlay, pay, setupStreamer } from "../support/flow";

/**
 * The actions behind the operators' REPL commands, against the real services: ban and unban
 * (every session of the user ends at once, on every gateway), find a user, rotate a user's
 * overlay token, a channel's alert queue and the replay of a donation's alert.
 */
const ENV = { SCRYPT_COST: "1024", ALERT_ACK_GRACE_MS: "500", ALERT_TICK_MS: "100" };
let a: Harness;
let b: Harness | undefined;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	a = await startHarness({
		services: ["users", "payments", "donations", "ledger", "stats", "alerts"],
		env: ENV,
		nodeID: `opsa-${process.pid}`,
		brokerOptions: { transporter: "Fake" },
	});
	api = client(a.url);
});
afterAll(async () => {
	await b?.stop();
	await a?.stop();
});

const profileOf = async (token: string) => (await api("GET", "/api/auth/me", undefined, { token })).status;

describe("operator actions", () => {
	it("a ban ends every session at once, on this gateway and on one that starts later; unban restores", async () => {
		const streamer = await setupStreamer(a.url);
		const login = await api("POST", "/api/auth/login", { login: streamer.username, password: "correct horse battery" });
		const overlay = await openOverlay(a.url, streamer.overlayToken);
		const socket = await connectSocket(a.url, "/", { token: streamer.token });
		const gone = Promise.all([new Promise((r) => overlay.socket.once("disconnect", r)), new Promise((r) => socket.once("disconnect", r))]);
		expect(await profileOf(streamer.token)).toBe(200);

		expect(await a.broker.call("users.setBanned", { username: streamer.username, banned: true, reason: "fraud" })).toEqual({
			username: streamer.username,
			banned: true,
		});
		await gone;
		// The access token is still unexpired, but no longer accepted: REST, sockets, overlays.
		const refused = await api("GET", "/api/auth/me", undefined, { token: streamer.token });
		expect(refused.status).toBe(401);
		expect(refused.body.type).toBe("TOKEN_REVOKED");
		await expect(connectSocket(a.url, "/", { token: streamer.token })).rejects.toThrow(/suspended/);
		await expect(connectSocket(a.url, "/overlay", { token: streamer.overlayToken })).rejects.toThrow();
		expect((await api("POST", "/api/auth/refresh", { refreshToken: login.body.refreshToken })).status).toBe(401);
		expect((await api("POST", "/api/auth/login", { login: streamer.username, password: "correct horse battery" })).body.type).toBe("ACCOUNT_BANNED");
		expect((await api("GET", `/api/users/${streamer.username}`)).body.donations.enabled).toBe(false);
		// A gateway node that starts after the ban learns it from the users service.
		b = await startHarness({ services: [], nodeID: `opsb-${process.pid}`, brokerOptions: { transporter: "Fake" } });
		await waitFor(
			async () => (await client(b!.url)("GET", "/api/auth/me", undefined, { token: streamer.token })).body.type === "TOKEN_REVOKED",
			5000,
			"gateway B refusing the token",
		);

		// (node A hears of gateway B once B's services are announced)
		await waitFor(
			() => a.broker.registry.events.getAllEndpoints("users.banned").some((ep: any) => ep.id === b!.broker.nodeID),
			5000,
			"gateway B known to node A",
		);
		expect(await a.broker.call("users.setBanned", { username: streamer.username, banned: false })).toEqual({ username: streamer.username, banned: false });
		await waitFor(async () => (await profileOf(streamer.token)) === 200, 3000, "token accepted again");
		await waitFor(
			async () => (await client(b!.url)("GET", "/api/auth/me", undefined, { token: streamer.token })).status === 200,
			3000,
			"gateway B accepting it again",
		);
		expect((await api("POST", "/api/auth/login", { login: streamer.username, password: "correct horse battery" })).status).toBe(200);
	});

	it("finds users by username or email prefix, with their ban state", async () => {
		const u = await registerUser(a.url, "findme");
		const found = await a.broker.call<any[], any>("users.search", { q: u.username.slice(0, 8) });
		expect(found.map((x) => x.username)).toContain(u.username);
		expect(found.find((x) => x.username === u.username)).toMatchObject({ email: `${u.username}@example.test`, bannedAt: null });
		expect(await a.broker.call("users.search", { q: "no-such-prefix-anywhere" })).toEqual([]);
	});

	it("rotates a user's overlay token: the old overlay is cut off, the new token works", async () => {
		const streamer = await setupStreamer(a.url);
		const overlay = await openOverlay(a.url, streamer.overlayToken);
		const gone = new Promise((r) => overlay.socket.once("disconnect", r));
		const rotated = await a.broker.call<any, any>("users.rotateOverlayTokenFor", { username: streamer.username });
		expect(rotated.overlayToken).not.toBe(streamer.overlayToken);
		await gone;
		await expect(connectSocket(a.url, "/overlay", { token: streamer.overlayToken })).rejects.toThrow();
		(await openOverlay(a.url, rotated.overlayToken)).close();
	});

	it("shows a channel's alert queue and replays a donation's alert for it", async () => {
		const streamer = await setupStreamer(a.url, { alerts: { displaySeconds: 30 } });
		const overlay = await openOverlay(a.url, streamer.overlayToken);
		const first = await donate(a.url, streamer.username, { donorName: "First" });
		const second = await donate(a.url, streamer.username, { donorName: "Second" });
		await pay(a.url, first.body.payment.id);
		await pay(a.url, second.body.payment.id);
		const shown = await overlay.next(1);
		const state = await waitFor(
			async () => {
				const s = await a.broker.call<any, any>("alerts.queueState", { userId: streamer.id });
				return s.depth === 1 ? s : null;
			},
			5000,
			"one queued",
		);
		expect(state.current).toMatchObject({ id: shown.id, status: "showing" });
		expect(state.queued[0].donorName).toBe(shown.donorName === "First" ? "Second" : "First");
		await overlay.done(shown.id);
		const next = await overlay.next(2);
		await overlay.done(next.id);
		const replay = await a.broker.call<any, any>("alerts.replay", { userId: streamer.id, donationId: first.body.donation.id });
		expect(replay.alert).toMatchObject({ donationId: first.body.donation.id, status: "queued" });
		expect((await overlay.next(3)).donorName).toBe("First");
		overlay.close();
	});
});
