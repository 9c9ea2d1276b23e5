import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { client, connectSocket, registerUser, startHarness, type Harness } from "../support/harness";

/**
 * Password change and sessions over real HTTP and Socket.IO (contract: "Account security"): one
 * session per refresh family; ending one (or changing the password) stops its refresh token at
 * once and its access tokens on the gateway.
 */

const PASSWORD = "correct horse battery";
let h: Harness;
let api: ReturnType<typeof client>;
const sockets: Socket[] = [];

beforeAll(async () => {
	h = await startHarness({ services: ["users"], env: { SCRYPT_COST: "1024", LOGIN_MAX_FAILURES: "3" } });
	api = client(h.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await h?.stop();
});

async function login(username: string, userAgent: string, password = PASSWORD) {
	const r = await api("POST", "/api/auth/login", { login: username, password }, { headers: { "User-Agent": userAgent } });
	expect(r.status).toBe(200);
	return { token: r.body.accessToken as string, refreshToken: r.body.refreshToken as string };
}

async function sessions(token: string) {
	const r = await api("GET", "/api/me/sessions", undefined, { token });
	expect(r.status).toBe(200);
	return r.body.items as Array<{ id: string; userAgent: string | null; ip: string | null; createdAt: string; lastUsedAt: string; current: boolean }>;
}

describe("sessions", () => {
	it("lists one row per sign-in with its client, IP, sign-in and last use; refreshing keeps the row", async () => {
		const u = await registerUser(h.url, "sess");
		const phone = await login(u.username, "PhoneBrowser/1.0");
		await login(u.username, "OBS/30");
		let rows = await sessions(phone.token);
		expect(rows).toHaveLength(3);
		const mine = rows.filter((r) => r.current);
		expect(mine).toHaveLength(1);
		expect(mine[0].userAgent).toBe("PhoneBrowser/1.0");
		expect(mine[0].ip).toBe("127.0.0.1");
		expect(rows.map((r) => r.userAgent)).toContain("OBS/30");
		expect(rows[0].userAgent).toBe("OBS/30"); // most recently used first
		const before = rows.find((r) => r.userAgent === "PhoneBrowser/1.0")!;

		await new Promise((r) => setTimeout(r, 5)); // so the refresh is issued in a later millisecond
		const refreshed = await api("POST", "/api/auth/refresh", { refreshToken: phone.refreshToken }, { headers: { "User-Agent": "PhoneBrowser/1.1" } });
		expect(refreshed.status).toBe(200);
		rows = await sessions(refreshed.body.accessToken);
		expect(rows).toHaveLength(3);
		const after = rows.find((r) => r.id === before.id)!;
		expect(after.current).toBe(true);
		expect(after.createdAt).toBe(before.createdAt);
		expect(Date.parse(after.lastUsedAt)).toBeGreaterThan(Date.parse(before.lastUsedAt));
		expect(after.userAgent).toBe("PhoneBrowser/1.1");
		expect(rows[0].id).toBe(before.id);
		expect((await api("GET", "/api/me/sessions")).status).toBe(401);
	});

	it("ending a session stops its refresh token and its access token; the caller's keeps working", async () => {
		const u = await registerUser(h.url, "end");
		const other = await login(u.username, "Stolen/1");
		const rows = await sessions(u.token);
		const target = rows.find((r) => !r.current)!;
		expect((await api("DELETE", `/api/me/sessions/${target.id}`, undefined, { token: u.token })).status).toBe(204);
		expect((await api("POST", "/api/auth/refresh", { refreshToken: other.refreshToken })).status).toBe(401);
		const refused = await api("GET", "/api/auth/me", undefined, { token: other.token });
		expect(refused.status).toBe(401);
		expect(refused.body.type).toBe("TOKEN_REVOKED");
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).status).toBe(200);
		expect((await sessions(u.token)).map((r) => r.id)).not.toContain(target.id);
		// An ended session's access token cannot open a socket either.
		await expect(connectSocket(h.url, "/", { token: other.token })).rejects.toThrow();
		const live = await connectSocket(h.url, "/", { token: u.token });
		sockets.push(live);
		expect(live.connected).toBe(true);
		// A gateway that starts later learns the ended session.
		const ended = (await h.broker.call("users.sessionsEndedSince", { since: Date.now() - 60_000 })) as Array<{ sessions: string[] }>;
		expect(ended.flatMap((r) => r.sessions)).toContain(target.id);
	});

	it("another user's session, or an unknown one → 404, and nothing ends", async () => {
		const a = await registerUser(h.url, "owna");
		const b = await registerUser(h.url, "ownb");
		const bSession = (await sessions(b.token))[0];
		const r = await api("DELETE", `/api/me/sessions/${bSession.id}`, undefined, { token: a.token });
		expect(r.status).toBe(404);
		expect((await api("DELETE", "/api/me/sessions/NOPE", undefined, { token: a.token })).status).toBe(404);
		expect((await api("POST", "/api/auth/refresh", { refreshToken: b.refreshToken })).status).toBe(200);
	});

	it("DELETE /api/me/sessions ends every session but the caller's", async () => {
		const u = await registerUser(h.url, "endall");
		const s1 = await login(u.username, "A/1");
		const s2 = await login(u.username, "B/1");
		expect((await api("DELETE", "/api/me/sessions", undefined, { token: s1.token })).status).toBe(204);
		for (const s of [s2, { token: u.token, refreshToken: u.refreshToken }]) {
			expect((await api("GET", "/api/auth/me", undefined, { token: s.token })).status).toBe(401);
			expect((await api("POST", "/api/auth/refresh", { refreshToken: s.refreshToken })).status).toBe(401);
		}
		expect((await api("GET", "/api/auth/me", undefined, { token: s1.token })).status).toBe(200);
		const rows = await sessions(s1.token);
		expect(rows).toHaveLength(1);
		expect(rows[0].current).toBe(true);
	});

	it("logout ends the session's access token too", async () => {
		const u = await registerUser(h.url, "bye");
		expect((await api("POST", "/api/auth/logout", { refreshToken: u.refreshToken })).status).toBe(204);
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).status).toBe(401);
	});
});

describe("password change", () => {
	it("needs the current password, refuses weak ones, and ends every other session", async () => {
		const u = await registerUser(h.url, "chg");
		const other = await login(u.username, "Other/1");
		const wrong = await api("PUT", "/api/me/password", { currentPassword: "not it at all", password: "a fresh passphrase" }, { token: u.token });
		expect(wrong.status).toBe(403);
		expect(wrong.body.type).toBe("WRONG_PASSWORD");
		const weak = await api("PUT", "/api/me/password", { currentPassword: PASSWORD, password: "short" }, { token: u.token });
		expect(weak.status).toBe(422);
		expect((await api("PUT", "/api/me/password", { password: "a fresh passphrase" }, { token: u.token })).status).toBe(422);
		expect((await api("PUT", "/api/me/password", { currentPassword: PASSWORD, password: "a fresh passphrase" })).status).toBe(401);

		const ok = await api("PUT", "/api/me/password", { currentPassword: PASSWORD, password: "a fresh passphrase" }, { token: u.token });
		expect(ok.status).toBe(204);
		// The caller's session lives on: its access token and its refresh token.
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).status).toBe(200);
		expect((await api("POST", "/api/auth/refresh", { refreshToken: u.refreshToken })).status).toBe(200);
		// Every other one ends.
		expect((await api("GET", "/api/auth/me", undefined, { token: other.token })).body.type).toBe("TOKEN_REVOKED");
		expect((await api("POST", "/api/auth/refresh", { refreshToken: other.refreshToken })).status).toBe(401);
		// The old password no longer signs in; the new one does, and its new session works at once.
		expect((await api("POST", "/api/auth/login", { login: u.username, password: PASSWORD })).status).toBe(401);
		const fresh = await login(u.username, "New/1", "a fresh passphrase");
		expect((await api("GET", "/api/auth/me", undefined, { token: fresh.token })).status).toBe(200);
	});

	it("repeated wrong current passwords → 429", async () => {
		const u = await registerUser(h.url, "chgbf");
		const codes: number[] = [];
		for (let i = 0; i < 4; i++) {
			codes.push(
				(await api("PUT", "/api/me/password", { currentPassword: `guess number ${i}`, password: "a fresh passphrase" }, { token: u.token })).status,
			);
		}
		expect(codes).toEqual([403, 403, 403, 429]);
		// Even the right one waits out the window.
		const right = await api("PUT", "/api/me/password", { currentPassword: PASSWORD, password: "a fresh passphrase" }, { token: u.token });
		expect(right.status).toBe(429);
		expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
	});
});
