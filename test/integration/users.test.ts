import { afterAll, beforeAll, describe, expect, it } from "vitest";
import jwt from "jsonwebtoken";
import { client, registerUser, startHarness, type Harness } from "../support/harness";

const _full = (t: string) => jwt.decode(t) as Record<string, unknown>;
let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({ services: ["users"], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(() => h?.stop());

describe("accounts", () => {
	it("registers, signs in by username and email, and reads me", async () => {
		const reg = await api("POST", "/api/auth/register", { username: "Alice_1", email: "Alice@Example.test", password: "password123" });
		expect(reg.status).toBe(201);
		expect(reg.body.user.username).toBe("alice_1");
		expect(reg.body.user).not.toHaveProperty("passwordHash");
		expect(JSON.stringify(reg.body)).not.toContain("password123");
		const byName = await api("POST", "/api/auth/login", { login: "ALICE_1", password: "password123" });
		expect(byName.status).toBe(200);
		const byEmail = await api("POST", "/api/auth/login", { login: "alice@example.test", password: "password123" });
		expect(byEmail.status).toBe(200);
		const me = await api("GET", "/api/auth/me", undefined, { token: byEmail.body.accessToken });
		expect(me.status).toBe(200);
		expect(me.body.settings.donations).toEqual({ enabled: false, minAmount: 0, currency: "IDR" });
	});

	it("refuses duplicates case-insensitively with 409 and bad input with 422", async () => {
		await registerUser(h.url, "dup");
		const a = await api("POST", "/api/auth/register", { username: "bob_dup", email: "bob@x.test", password: "password123" });
		expect(a.status).toBe(201);
		const b = await api("POST", "/api/auth/register", { username: "BOB_DUP", email: "other@x.test", password: "password123" });
		expect(b.status).toBe(409);
		expect(b.body.type).toBe("USERNAME_TAKEN");
		const c = await api("POST", "/api/auth/register", { username: "b!", email: "nope", password: "short" });
		expect(c.status).toBe(422);
		expect([...new Set(c.body.data.map((d: any) => d.field))].sort()).toEqual(["email", "password", "username"]);
	});

	it("answers malformed JSON with 400 and oversized bodies with 413", async () => {
		const bad = await api("POST", "/api/auth/login", undefined, { raw: "{not json", headers: { "Content-Type": "application/json" } });
		expect(bad.status).toBe(400);
		expect(bad.body.type).toBe("INVALID_JSON");
		const big = await api("POST", "/api/auth/login", { login: "x".repeat(200_000), password: "y" });
		expect(big.status).toBe(413);
	});

	it("rotates refresh tokens and revokes the family on reuse", async () => {
		const u = await registerUser(h.url, "rot");
		const r1 = await api("POST", "/api/auth/refresh", { refreshToken: u.refreshToken });
		expect(r1.status).toBe(200);
		const reuse = await api("POST", "/api/auth/refresh", { refreshToken: u.refreshToken });
		expect(reuse.status).toBe(401);
		expect(reuse.body.type).toBe("REFRESH_TOKEN_REUSED");
		// the token issued by the first rotation died with its family
		const r2 = await api("POST", "/api/auth/refresh", { refreshToken: r1.body.refreshToken });
		expect(r2.status).toBe(401);
	});

	it("logout kills the refresh token", async () => {
		const u = await registerUser(h.url, "out");
		expect((await api("POST", "/api/auth/logout", { refreshToken: u.refreshToken })).status).toBe(204);
		expect((await api("POST", "/api/auth/refresh", { refreshToken: u.refreshToken })).status).toBe(401);
	});

	it("rejects alg:none, wrong-secret, expired and tampered access tokens with 401", async () => {
		const u = await registerUser(h.url, "jwt");
		const { exp: _exp, iat: _iat, ...claims } = jwt.decode(u.token) as Record<string, unknown>;
		const none = jwt.sign({ ...claims }, "", { algorithm: "none" } as any);
		const wrong = jwt.sign({ ...claims }, "not-the-secret", { algorithm: "HS256", expiresIn: 60 });
		const expired = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, process.env.JWT_SECRET || "dev-only-jwt-secret-change-me");
		const [head, , sig] = u.token.split(".");
		const tampered = `${head}.${Buffer.from(JSON.stringify({ ..._full(u.token), roles: ["admin"] })).toString("base64url")}.${sig}`;
		for (const token of [none, wrong, expired, tampered]) {
			const res = await api("GET", "/api/auth/me", undefined, { token });
			expect(res.status).toBe(401);
		}
		expect((await api("GET", "/api/auth/me")).status).toBe(401);
	});

	it("deep-merges settings, validates them, and shows the public profile", async () => {
		const u = await registerUser(h.url, "set");
		const ok = await api(
			"PATCH",
			"/api/users/me",
			{ bio: "hi", settings: { donations: { enabled: true, minAmount: 500 }, moderation: { blockedTerms: [" Bad ", "bad"] } } },
			{ token: u.token },
		);
		expect(ok.status).toBe(200);
		expect(ok.body.settings.donations).toEqual({ enabled: true, minAmount: 500, currency: "IDR" });
		expect(ok.body.settings.moderation.blockedTerms).toEqual(["bad"]);
		const bad = await api("PATCH", "/api/users/me", { settings: { donations: { currency: "XXX" } } }, { token: u.token });
		expect(bad.status).toBe(422);
		const unknownKey = await api("PATCH", "/api/users/me", { settings: { donations: { enabled: "yes" } } }, { token: u.token });
		expect(unknownKey.status).toBe(422);
		const prof = await api("GET", `/api/users/${u.username}`);
		expect(prof.status).toBe(200);
		expect(prof.body).toMatchObject({ username: u.username, bio: "hi", donations: { enabled: true, minAmount: 500, currency: "IDR" } });
		expect(prof.body).not.toHaveProperty("email");
		expect((await api("GET", "/api/users/nobody_here")).status).toBe(404);
	});

	it("stores email preferences keyed by notification type", async () => {
		const u = await registerUser(h.url, "mail");
		const res = await api("PATCH", "/api/users/me", { settings: { email: { "donation.received": true, follow: false } } }, { token: u.token });
		expect(res.status).toBe(200);
		expect(res.body.settings.email).toEqual({ "donation.received": true, follow: false });
		const me = await api("GET", "/api/auth/me", undefined, { token: u.token });
		expect(me.body.settings.email).toEqual({ "donation.received": true, follow: false });
	});

	it("serves a fresh public profile right after a change, whatever the case of the name", async () => {
		const u = await registerUser(h.url, "fresh");
		expect((await api("GET", `/api/users/${u.username.toUpperCase()}`)).body.bio).toBe("");
		expect((await api("GET", `/api/users/${u.username}`)).body.bio).toBe("");
		await api("PATCH", "/api/users/me", { bio: "updated" }, { token: u.token });
		expect((await api("GET", `/api/users/${u.username}`)).body.bio).toBe("updated");
		expect((await api("GET", `/api/users/${u.username.toUpperCase()}`)).body.bio).toBe("updated");
	});

	it("answers unknown routes with 404 in the error shape", async () => {
		const res = await api("GET", "/api/nope");
		expect(res.status).toBe(404);
		expect(res.body).toHaveProperty("name");
	});
});
