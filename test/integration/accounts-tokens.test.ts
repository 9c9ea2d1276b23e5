import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { client, connectSocket, emitAck, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * Personal access tokens over real HTTP and Socket.IO on two gateway nodes (contract: "Account
 * security"): node A runs users, alerts and chat with a gateway, node B only a gateway. A token is
 * shown once, opens only the actions that declare one of its scopes, never the account's own
 * security routes, and once revoked is refused by both gateways at once (B had it cached).
 */

let a: Harness;
let b: Harness;
let apiA: ReturnType<typeof client>;
let apiB: ReturnType<typeof client>;
const sockets: Socket[] = [];

beforeAll(async () => {
	const env = { SCRYPT_COST: "1024" };
	a = await startHarness({
		services: ["users", "alerts", "chat", "moderation"],
		env,
		nodeID: `pat-a-${process.pid}`,
		brokerOptions: { transporter: "Fake" },
	});
	b = await startHarness({ services: [], env, nodeID: `pat-b-${process.pid}`, brokerOptions: { transporter: "Fake" } });
	await b.broker.waitForServices(["users", "alerts", "chat"], 10_000);
	await waitFor(() => (b.broker.getLocalService("api") as any).hub.routes.has("/ chat:join"), 5000, "socket routes on gateway B");
	await waitFor(async () => (await client(b.url)("GET", "/api/alerts/queue")).status === 401, 5000, "REST routes on gateway B");
	await waitFor(
		() => a.broker.registry.events.getAllEndpoints("users.tokenRevoked").some((ep: any) => ep.id === b.broker.nodeID),
		5000,
		"gateway B known to A",
	);
	apiA = client(a.url);
	apiB = client(b.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await b?.stop();
	await a?.stop();
});

async function createToken(token: string, body: Record<string, unknown>) {
	const r = await apiA("POST", "/api/me/tokens", body, { token });
	expect(r.status).toBe(201);
	return r.body as { id: string; name: string; scopes: string[]; token: string; createdAt: string; expiresAt: string | null };
}

describe("personal access tokens", () => {
	it("are shown once, listed without the secret, open their scopes on every gateway and are refused at once when revoked", async () => {
		const u = await registerUser(a.url, "pat");
		const made = await createToken(u.token, { name: "Streamer.bot", scopes: ["profile:read", "alerts:write"], expiresInDays: 30 });
		expect(made.token).toMatch(/^msp_[A-Za-z0-9_-]{43}$/);
		expect(made.scopes).toEqual(["profile:read", "alerts:write"]);
		expect(Date.parse(made.expiresAt!) - Date.parse(made.createdAt)).toBe(30 * 86_400_000);

		const list = await apiA("GET", "/api/me/tokens", undefined, { token: u.token });
		expect(list.status).toBe(200);
		expect(list.body.items).toHaveLength(1);
		expect(list.body.items[0]).toMatchObject({ id: made.id, name: "Streamer.bot", scopes: ["profile:read", "alerts:write"] });
		expect(JSON.stringify(list.body)).not.toContain(made.token);
		expect(list.body.items[0]).not.toHaveProperty("token");

		// Used on both gateways: the profile (without the overlay's secret) and the alert queue.
		for (const api of [apiA, apiB]) {
			const me = await api("GET", "/api/auth/me", undefined, { token: made.token });
			expect(me.status).toBe(200);
			expect(me.body.username).toBe(u.username);
			expect(me.body).not.toHaveProperty("overlayToken");
			expect(me.body).not.toHaveProperty("overlayUrl");
			expect((await api("GET", `/api/users/${u.username}`, undefined, { token: made.token })).status).toBe(200);
			const paused = await api("POST", "/api/alerts/pause", undefined, { token: made.token });
			expect(paused.status).toBe(200);
			expect(paused.body.paused).toBe(true);
		}
		// Its own session's access token still sees the overlay URL.
		expect((await apiA("GET", "/api/auth/me", undefined, { token: u.token })).body.overlayUrl).toContain("/overlay/alerts?token=");

		const onB = await connectSocket(b.url, "/", { token: made.token });
		sockets.push(onB);
		const gone = new Promise<void>((resolve) => onB.once("disconnect", () => resolve()));

		expect((await apiA("DELETE", `/api/me/tokens/${made.id}`, undefined, { token: u.token })).status).toBe(204);
		// No waiting: both gateways refuse it already, the one that had it cached included.
		for (const api of [apiB, apiA]) {
			const r = await api("GET", "/api/auth/me", undefined, { token: made.token });
			expect(r.status).toBe(401);
			expect(r.body.type).toBe("INVALID_TOKEN");
		}
		await gone;
		await expect(connectSocket(b.url, "/", { token: made.token })).rejects.toThrow(/revoked/);
		expect((await apiA("GET", "/api/me/tokens", undefined, { token: u.token })).body.items).toEqual([]);
		expect((await apiA("DELETE", `/api/me/tokens/${made.id}`, undefined, { token: u.token })).status).toBe(404);
	});

	it("a route outside the token's scopes → 403 INSUFFICIENT_SCOPE, over REST and Socket.IO", async () => {
		const u = await registerUser(a.url, "scope");
		const profileOnly = await createToken(u.token, { name: "reader", scopes: ["profile:read"] });
		expect(profileOnly.expiresAt).toBeNull();
		const r = await apiB("POST", "/api/alerts/pause", undefined, { token: profileOnly.token });
		expect(r.status).toBe(403);
		expect(r.body.type).toBe("INSUFFICIENT_SCOPE");
		expect((await apiA("GET", "/api/alerts/queue", undefined, { token: u.token })).body.paused).toBe(false);

		const s = await connectSocket(b.url, "/", { token: profileOnly.token });
		sockets.push(s);
		const refused = await emitAck(s, "chat:join", { channel: u.username });
		expect(refused).toMatchObject({ ok: false, error: { type: "INSUFFICIENT_SCOPE" } });

		const chatter = await createToken(u.token, { name: "chat bot", scopes: ["chat:write"] });
		const bot = await connectSocket(b.url, "/", { token: chatter.token });
		sockets.push(bot);
		expect((await emitAck(bot, "chat:join", { channel: u.username })).ok).toBe(true);
		const sent = await emitAck(bot, "chat:send", { channel: u.username, text: "hello from the bot" });
		expect(sent.ok).toBe(true);
		expect(sent.message).toMatchObject({ text: "hello from the bot", user: { username: u.username } });
		expect((await apiB("GET", "/api/auth/me", undefined, { token: chatter.token })).body.type).toBe("INSUFFICIENT_SCOPE");
	});

	it("never opens tokens, passwords, two-factor, sessions or the profile's settings, whatever its scopes", async () => {
		const u = await registerUser(a.url, "sec");
		const all = await createToken(u.token, { name: "everything", scopes: ["profile:read", "donations:read", "alerts:write", "chat:write", "events:read"] });
		const routes: Array<[string, string, unknown?]> = [
			["POST", "/api/me/tokens", { name: "more", scopes: ["profile:read"] }],
			["GET", "/api/me/tokens"],
			["DELETE", `/api/me/tokens/${all.id}`],
			["PUT", "/api/me/password", { currentPassword: "correct horse battery", password: "another horse battery" }],
			["POST", "/api/me/2fa/setup"],
			["POST", "/api/me/2fa/disable", { password: "correct horse battery", code: "123456" }],
			["GET", "/api/me/sessions"],
			["DELETE", "/api/me/sessions"],
			["POST", "/api/auth/email/resend"],
			["PATCH", "/api/users/me", { displayName: "taken over" }],
			["POST", "/api/users/me/overlay-token"],
		];
		for (const [method, path, body] of routes) {
			const r = await apiA(method, path, body, { token: all.token });
			expect({ route: `${method} ${path}`, status: r.status, type: r.body?.type }).toEqual({
				route: `${method} ${path}`,
				status: 403,
				type: "INSUFFICIENT_SCOPE",
			});
		}
		// Nothing changed: the token still works, the password and profile are as they were.
		expect((await apiA("GET", "/api/me/tokens", undefined, { token: u.token })).body.items).toHaveLength(1);
		expect((await apiA("GET", "/api/auth/me", undefined, { token: u.token })).body.displayName).toBe(u.username);
		expect((await apiA("POST", "/api/auth/login", { login: u.username, password: "correct horse battery" })).status).toBe(200);
	});

	it("refuses made-up, malformed and scope-less tokens", async () => {
		const u = await registerUser(a.url, "bad");
		const fake = `msp_${"A".repeat(43)}`;
		for (const token of [fake, "msp_short", `${fake}x`]) {
			const r = await apiB("GET", "/api/auth/me", undefined, { token });
			expect(r.status).toBe(401);
			expect(r.body.type).toBe("INVALID_TOKEN");
		}
		for (const body of [
			{ name: "x", scopes: [] },
			{ name: "x", scopes: ["admin"] },
			{ name: "", scopes: ["profile:read"] },
			{ name: "x", scopes: ["profile:read"], expiresInDays: 0 },
		]) {
			expect((await apiA("POST", "/api/me/tokens", body, { token: u.token })).status).toBe(422);
		}
		expect((await apiA("GET", "/api/me/tokens", undefined, { token: u.token })).body.items).toEqual([]);
		expect((await apiA("POST", "/api/me/tokens", { name: "x", scopes: ["profile:read"] })).status).toBe(401);
	});

	it("a ban stops the account's tokens on every gateway and disconnects their sockets", async () => {
		const u = await registerUser(a.url, "ban");
		const pat = (await createToken(u.token, { name: "bot", scopes: ["profile:read", "events:read"] })).token;
		expect((await apiB("GET", "/api/auth/me", undefined, { token: pat })).status).toBe(200);
		const events = await connectSocket(b.url, "/events", { token: pat });
		sockets.push(events);
		const gone = new Promise<void>((resolve) => events.once("disconnect", () => resolve()));
		await a.broker.call("users.setBanned", { username: u.username, banned: true });
		await gone;
		for (const api of [apiA, apiB]) expect((await api("GET", "/api/auth/me", undefined, { token: pat })).status).toBe(401);
	});

	it("a personal token is refused where another kind of token belongs, and other tokens where it belongs", async () => {
		const u = await registerUser(a.url, "kind");
		const pat = (await createToken(u.token, { name: "all", scopes: ["profile:read", "events:read", "chat:write"] })).token;
		expect((await apiB("POST", "/api/auth/refresh", { refreshToken: pat })).status).toBe(401);
		expect((await apiB("POST", "/api/auth/logout", { refreshToken: pat })).status).toBe(204);
		expect((await apiB("POST", "/api/auth/login/2fa", { challengeToken: pat, code: "123456" })).body.type).toBe("INVALID_CHALLENGE");
		expect((await apiB("POST", "/api/auth/email/verify", { token: pat })).body.type).toBe("INVALID_TOKEN");
		await expect(connectSocket(b.url, "/overlay", { token: pat })).rejects.toThrow(/Invalid overlay token/);
		// The token still works after all that.
		expect((await apiB("GET", "/api/auth/me", undefined, { token: pat })).status).toBe(200);
		// An overlay token or a refresh token is no bearer token.
		const me = (await apiA("GET", "/api/auth/me", undefined, { token: u.token })).body;
		for (const other of [me.overlayToken, u.refreshToken]) expect((await apiB("GET", "/api/auth/me", undefined, { token: other })).status).toBe(401);
	});
});

describe("personal access tokens while the users service is away", () => {
	it("answer 503 with Retry-After, not a refusal of the token", async () => {
		const lone = await startHarness({ services: ["ops"], nodeID: `pat-lone-${process.pid}` });
		try {
			const r = await client(lone.url)("GET", "/api/openapi.json", undefined, { token: `msp_${"B".repeat(43)}` });
			expect(r.status).toBe(503);
			expect(r.body.type).toBe("SERVICE_UNAVAILABLE");
			expect(r.headers.get("retry-after")).toBe("5");
		} finally {
			await lone.stop();
		}
	});
});
