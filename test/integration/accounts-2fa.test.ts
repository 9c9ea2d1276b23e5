import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret, TOTP } from "otpauth";
import { client, registerUser, startHarness, type Harness } from "../support/harness";

/**
 * TOTP two-factor over real HTTP (contract: "Account security"), codes computed here as an
 * authenticator app would (RFC 6238: SHA-1, 6 digits, 30 s).
 */

const PASSWORD = "correct horse battery";
let h: Harness;
let api: ReturnType<typeof client>;

const code = (secret: string, at = Date.now()) => TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30, timestamp: at });

type TokenStore = { updateMany(q: Record<string, unknown>, u: Record<string, unknown>): Promise<number> };
const tokens = () => (h.broker.getLocalService("users") as unknown as { stores: { account_tokens: TokenStore } }).stores.account_tokens;

beforeAll(async () => {
	h = await startHarness({ services: ["users"], env: { SCRYPT_COST: "1024", TWO_FACTOR_MAX_FAILURES: "3" } });
	api = client(h.url);
});
afterAll(() => h?.stop());

async function enable(u: { token: string; username: string }) {
	const setup = await api("POST", "/api/me/2fa/setup", undefined, { token: u.token });
	expect(setup.status).toBe(200);
	const secret = setup.body.secret as string;
	const en = await api("POST", "/api/me/2fa/enable", { code: code(secret) }, { token: u.token });
	expect(en.status).toBe(200);
	return { secret, recoveryCodes: en.body.recoveryCodes as string[] };
}

async function challenge(username: string) {
	const r = await api("POST", "/api/auth/login", { login: username, password: PASSWORD });
	expect(r.status).toBe(200);
	expect(r.body.twoFactorRequired).toBe(true);
	expect(r.body).not.toHaveProperty("accessToken");
	expect(r.body).not.toHaveProperty("refreshToken");
	return r.body.challengeToken as string;
}

describe("two-factor", () => {
	it("setup gives a base32 secret and its otpauth URL; enable needs a right code and answers 10 recovery codes", async () => {
		const u = await registerUser(h.url, "tfa");
		const setup = await api("POST", "/api/me/2fa/setup", undefined, { token: u.token });
		expect(setup.status).toBe(200);
		expect(setup.body.secret).toMatch(/^[A-Z2-7]{32}$/);
		const url = new URL(setup.body.otpauthUrl);
		expect(url.protocol).toBe("otpauth:");
		expect(url.host).toBe("totp");
		expect(url.searchParams.get("secret")).toBe(setup.body.secret);
		expect(url.searchParams.get("algorithm")).toBe("SHA1");
		expect(url.searchParams.get("digits")).toBe("6");
		expect(url.searchParams.get("period")).toBe("30");
		expect(decodeURIComponent(url.pathname)).toContain(u.username);

		const wrong = await api("POST", "/api/me/2fa/enable", { code: code(setup.body.secret, Date.now() - 5 * 60_000) }, { token: u.token });
		expect(wrong.status).toBe(401);
		expect(wrong.body.type).toBe("INVALID_CODE");
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).body.twoFactorEnabled).toBe(false);

		const en = await api("POST", "/api/me/2fa/enable", { code: code(setup.body.secret) }, { token: u.token });
		expect(en.status).toBe(200);
		expect(en.body.recoveryCodes).toHaveLength(10);
		expect(new Set(en.body.recoveryCodes).size).toBe(10);
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).body.twoFactorEnabled).toBe(true);
		expect((await api("POST", "/api/me/2fa/setup", undefined, { token: u.token })).status).toBe(409);
		expect((await api("POST", "/api/me/2fa/setup")).status).toBe(401);
	});

	it("with two-factor on, sign-in answers a challenge; a current code trades it once; a code never works twice", async () => {
		const u = await registerUser(h.url, "tfalogin");
		const { secret } = await enable(u);
		// The code that enabled two-factor was used: it does not sign in.
		const c1 = await challenge(u.username);
		const replay = await api("POST", "/api/auth/login/2fa", { challengeToken: c1, code: code(secret) });
		expect(replay.status).toBe(401);
		expect(replay.body.type).toBe("INVALID_CODE");
		// The next step's code (within the ±1 step of drift) does.
		const next = code(secret, Date.now() + 30_000);
		const ok = await api("POST", "/api/auth/login/2fa", { challengeToken: c1, code: next });
		expect(ok.status).toBe(200);
		expect(ok.body.user.username).toBe(u.username);
		expect((await api("GET", "/api/auth/me", undefined, { token: ok.body.accessToken })).status).toBe(200);
		expect((await api("POST", "/api/auth/refresh", { refreshToken: ok.body.refreshToken })).status).toBe(200);
		// The challenge is used up, and the same code again is a replay.
		expect((await api("POST", "/api/auth/login/2fa", { challengeToken: c1, code: next })).status).toBe(401);
		const c2 = await challenge(u.username);
		expect((await api("POST", "/api/auth/login/2fa", { challengeToken: c2, code: next })).body.type).toBe("INVALID_CODE");
		// An older code is refused too.
		expect((await api("POST", "/api/auth/login/2fa", { challengeToken: c2, code: code(secret, Date.now() - 30_000) })).status).toBe(401);
	});

	it("a recovery code signs in once", async () => {
		const u = await registerUser(h.url, "tfarec");
		const { recoveryCodes } = await enable(u);
		const c = await challenge(u.username);
		const ok = await api("POST", "/api/auth/login/2fa", { challengeToken: c, code: recoveryCodes[3].toUpperCase() });
		expect(ok.status).toBe(200);
		const again = await api("POST", "/api/auth/login/2fa", { challengeToken: await challenge(u.username), code: recoveryCodes[3] });
		expect(again.status).toBe(401);
		// Another account's recovery code opens nothing here, and is not used up.
		const other = await registerUser(h.url, "tfarec2");
		const otherCodes = (await enable(other)).recoveryCodes;
		expect((await api("POST", "/api/auth/login/2fa", { challengeToken: await challenge(u.username), code: otherCodes[0] })).status).toBe(401);
		expect((await api("POST", "/api/auth/login/2fa", { challengeToken: await challenge(other.username), code: otherCodes[0] })).status).toBe(200);
	});

	it("refuses an unknown, expired or misplaced challenge token with 401", async () => {
		const u = await registerUser(h.url, "tfachal");
		const { recoveryCodes } = await enable(u);
		for (const bad of ["nope", u.token, u.refreshToken, Buffer.alloc(32, 1).toString("base64url")]) {
			const r = await api("POST", "/api/auth/login/2fa", { challengeToken: bad, code: recoveryCodes[0] });
			expect(r.status).toBe(401);
		}
		const c = await challenge(u.username);
		await tokens().updateMany({ userId: u.id, kind: "challenge" }, { $set: { expiresAt: Date.now() - 1 } });
		expect((await api("POST", "/api/auth/login/2fa", { challengeToken: c, code: recoveryCodes[0] })).status).toBe(401);
		// A challenge token is not an access token.
		expect((await api("GET", "/api/auth/me", undefined, { token: c })).status).toBe(401);
		// The recovery code was never used up by the refused attempts.
		expect((await api("POST", "/api/auth/login/2fa", { challengeToken: await challenge(u.username), code: recoveryCodes[0] })).status).toBe(200);
	});

	it("repeated wrong codes → 429 for the account, even with the right code", async () => {
		const u = await registerUser(h.url, "tfabf");
		const { recoveryCodes } = await enable(u);
		const c = await challenge(u.username);
		const statuses: number[] = [];
		for (let i = 0; i < 4; i++) statuses.push((await api("POST", "/api/auth/login/2fa", { challengeToken: c, code: String(100000 + i) })).status);
		expect(statuses).toEqual([401, 401, 401, 429]);
		const right = await api("POST", "/api/auth/login/2fa", { challengeToken: c, code: recoveryCodes[0] });
		expect(right.status).toBe(429);
		expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
	});

	it("disable needs the password and a code; then sign-in answers tokens again", async () => {
		const u = await registerUser(h.url, "tfaoff");
		const { recoveryCodes } = await enable(u);
		const wrongPw = await api("POST", "/api/me/2fa/disable", { password: "not the password", code: recoveryCodes[0] }, { token: u.token });
		expect(wrongPw.status).toBe(403);
		const wrongCode = await api("POST", "/api/me/2fa/disable", { password: PASSWORD, code: "000000" }, { token: u.token });
		expect(wrongCode.status).toBe(401);
		expect((await api("POST", "/api/me/2fa/disable", { password: PASSWORD, code: recoveryCodes[1] }, { token: u.token })).status).toBe(204);
		const login = await api("POST", "/api/auth/login", { login: u.username, password: PASSWORD });
		expect(login.status).toBe(200);
		expect(login.body.accessToken).toEqual(expect.any(String));
		expect(login.body.user.twoFactorEnabled).toBe(false);
	});
});
