import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, type Harness } from "../support/harness";
import { SmtpCapture, linkToken } from "../support/smtp-capture";

/**
 * Email verification and password reset over real HTTP, with the emails taken from a real SMTP
 * conversation (contract: "Account security").
 */

const PUBLIC_URL = "https://mediashar.example";
const smtp = new SmtpCapture();
let h: Harness;
let api: ReturnType<typeof client>;

interface StoredToken {
	kind: string;
	hash: string;
	userId: string;
	expiresAt: number;
}
type TokenStore = {
	find(p: { query: Record<string, unknown> }): Promise<StoredToken[]>;
	updateMany(q: Record<string, unknown>, u: Record<string, unknown>): Promise<number>;
};
const tokens = () => (h.broker.getLocalService("users") as unknown as { stores: { account_tokens: TokenStore } }).stores.account_tokens;
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

beforeAll(async () => {
	const smtpUrl = await smtp.listen();
	h = await startHarness({
		services: ["users", "mailer"],
		env: { SCRYPT_COST: "1024", SMTP_URL: smtpUrl, PUBLIC_URL, MAIL_RETRY_BASE_MS: "50", MAIL_SWEEP_MS: "50", ACCOUNT_MAIL_PER_HOUR: "3" },
	});
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
	await smtp.close();
});

describe("email verification", () => {
	it("sign-up mails a PUBLIC_URL link whose token verifies the address once; the token is stored only hashed", async () => {
		const u = await registerUser(h.url, "ver");
		expect(u.user.emailVerified).toBe(false);
		const mail = await smtp.waitFor(`${u.username}@example.test`);
		expect(mail.subject).toBe("[MediaShar] Confirm your email address");
		expect(mail.text).toContain(`${PUBLIC_URL}/auth/verify?token=`);
		const token = linkToken(mail, PUBLIC_URL, "/auth/verify");
		expect(Buffer.from(token, "base64url")).toHaveLength(32);

		const rows = await tokens().find({ query: { userId: u.id } });
		expect(rows).toHaveLength(1);
		expect(rows[0].hash).toBe(sha256(token));
		expect(JSON.stringify(rows)).not.toContain(token);

		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).body.emailVerified).toBe(false);
		const ok = await api("POST", "/api/auth/email/verify", { token });
		expect(ok.status).toBe(204);
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).body.emailVerified).toBe(true);

		const again = await api("POST", "/api/auth/email/verify", { token });
		expect(again.status).toBe(400);
		expect(again.body.type).toBe("INVALID_TOKEN");
	});

	it("refuses unknown, malformed and expired tokens with 400 INVALID_TOKEN, saying nothing about the account", async () => {
		for (const token of ["x".repeat(43), "not a token", Buffer.alloc(32, 7).toString("base64url")]) {
			const r = await api("POST", "/api/auth/email/verify", { token });
			expect(r.status).toBe(400);
			expect(r.body.type).toBe("INVALID_TOKEN");
		}
		const u = await registerUser(h.url, "verexp");
		const token = linkToken(await smtp.waitFor(`${u.username}@example.test`), PUBLIC_URL, "/auth/verify");
		await tokens().updateMany({ userId: u.id }, { $set: { expiresAt: Date.now() - 1 } });
		const r = await api("POST", "/api/auth/email/verify", { token });
		expect(r.status).toBe(400);
		expect(r.body.type).toBe("INVALID_TOKEN");
		expect(JSON.stringify(r.body)).not.toContain(u.username);
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).body.emailVerified).toBe(false);
		// A verify token is not a reset token.
		const reset = await api("POST", "/api/auth/password/reset", { token, password: "another good one 1" });
		expect(reset.status).toBe(400);
	});

	it("writes in Indonesian for an account that signed up in Indonesian", async () => {
		const name = `verid${process.pid % 1000}${Math.random().toString(36).slice(2, 6)}`;
		const reg = await api("POST", "/api/auth/register", { username: name, email: `${name}@example.test`, password: "correct horse battery", lang: "id" });
		expect(reg.status).toBe(201);
		const mail = await smtp.waitFor(`${name}@example.test`);
		expect(mail.subject).toBe("[MediaShar] Konfirmasi alamat email kamu");
		expect(mail.text).toContain("Tautan ini berlaku 24 jam");
		expect(mail.text).toContain(`${PUBLIC_URL}/auth/verify?token=`);
	});

	it("resend: 202 and a new link (signed in only), nothing once verified, 429 past the hourly limit", async () => {
		expect((await api("POST", "/api/auth/email/resend")).status).toBe(401);
		const u = await registerUser(h.url, "resend");
		const addr = `${u.username}@example.test`;
		await smtp.waitFor(addr, 1);
		const r = await api("POST", "/api/auth/email/resend", undefined, { token: u.token });
		expect(r.status).toBe(202);
		const second = linkToken(await smtp.waitFor(addr, 2), PUBLIC_URL, "/auth/verify");
		const r2 = await api("POST", "/api/auth/email/resend", undefined, { token: u.token });
		expect(r2.status).toBe(202);
		await smtp.waitFor(addr, 3);
		// ACCOUNT_MAIL_PER_HOUR=3: sign-up and two resends.
		const over = await api("POST", "/api/auth/email/resend", undefined, { token: u.token });
		expect(over.status).toBe(429);
		expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
		expect((await api("POST", "/api/auth/email/verify", { token: second })).status).toBe(204);
		const done = await api("POST", "/api/auth/email/resend", undefined, { token: u.token });
		expect(done.status).toBe(202);
		expect(done.body.emailVerified).toBe(true);
	});
});

describe("password reset", () => {
	it("forgot answers 202 with the same body whether or not the account exists, and mails only the account", async () => {
		const u = await registerUser(h.url, "forgot");
		const addr = `${u.username}@example.test`;
		await smtp.waitFor(addr, 1);
		const known = await api("POST", "/api/auth/password/forgot", { login: u.username });
		const unknown = await api("POST", "/api/auth/password/forgot", { login: "nobody_here_at_all" });
		const unknownEmail = await api("POST", "/api/auth/password/forgot", { login: "nobody@example.test" });
		expect(known.status).toBe(202);
		expect(unknown.status).toBe(202);
		expect(unknownEmail.status).toBe(202);
		expect(unknown.body).toEqual(known.body);
		expect(unknownEmail.body).toEqual(known.body);
		const mail = await smtp.waitFor(addr, 2);
		expect(mail.subject).toBe("[MediaShar] Reset your password");
		expect(mail.text).toContain(`${PUBLIC_URL}/auth/reset?token=`);
		expect(mail.text).toContain("30 minutes");
		expect(smtp.mails.some((m) => m.to.includes("nobody@example.test"))).toBe(false);
	});

	it("reset sets the new password once, verifies the address and signs out every session", async () => {
		const u = await registerUser(h.url, "reset");
		const addr = `${u.username}@example.test`;
		await smtp.waitFor(addr, 1);
		const other = await api("POST", "/api/auth/login", { login: u.username, password: "correct horse battery" });
		expect((await api("POST", "/api/auth/password/forgot", { login: addr, lang: "id" })).status).toBe(202);
		const mail = await smtp.waitFor(addr, 2);
		expect(mail.subject).toBe("[MediaShar] Atur ulang kata sandi");
		const token = linkToken(mail, PUBLIC_URL, "/auth/reset");

		// A weak password is refused and the link still works.
		const weak = await api("POST", "/api/auth/password/reset", { token, password: "short" });
		expect(weak.status).toBe(422);
		const ok = await api("POST", "/api/auth/password/reset", { token, password: "a brand new passphrase" });
		expect(ok.status).toBe(204);
		const used = await api("POST", "/api/auth/password/reset", { token, password: "yet another passphrase" });
		expect(used.status).toBe(400);
		expect(used.body.type).toBe("INVALID_TOKEN");

		expect((await api("POST", "/api/auth/login", { login: u.username, password: "correct horse battery" })).status).toBe(401);
		const fresh = await api("POST", "/api/auth/login", { login: u.username, password: "a brand new passphrase" });
		expect(fresh.status).toBe(200);
		expect(fresh.body.user.emailVerified).toBe(true);
		// Every earlier session: refresh tokens and access tokens refused.
		for (const s of [
			{ token: u.token, refreshToken: u.refreshToken },
			{ token: other.body.accessToken, refreshToken: other.body.refreshToken },
		]) {
			expect((await api("POST", "/api/auth/refresh", { refreshToken: s.refreshToken })).status).toBe(401);
			const me = await api("GET", "/api/auth/me", undefined, { token: s.token });
			expect(me.status).toBe(401);
			expect(me.body.type).toBe("TOKEN_REVOKED");
		}
		expect((await api("GET", "/api/auth/me", undefined, { token: fresh.body.accessToken })).status).toBe(200);
	});

	it("an expired reset link → 400 INVALID_TOKEN; an earlier live one still works", async () => {
		const u = await registerUser(h.url, "resetexp");
		const addr = `${u.username}@example.test`;
		await smtp.waitFor(addr, 1);
		await api("POST", "/api/auth/password/forgot", { login: u.username });
		const first = linkToken(await smtp.waitFor(addr, 2), PUBLIC_URL, "/auth/reset");
		await api("POST", "/api/auth/password/forgot", { login: u.username });
		const second = linkToken(await smtp.waitFor(addr, 3), PUBLIC_URL, "/auth/reset");
		await tokens().updateMany({ hash: sha256(second) }, { $set: { expiresAt: Date.now() - 1 } });
		const expired = await api("POST", "/api/auth/password/reset", { token: second, password: "a brand new passphrase" });
		expect(expired.status).toBe(400);
		expect(expired.body.type).toBe("INVALID_TOKEN");
		expect((await api("POST", "/api/auth/password/reset", { token: first, password: "a brand new passphrase" })).status).toBe(204);
		expect((await api("POST", "/api/auth/login", { login: u.username, password: "a brand new passphrase" })).status).toBe(200);
	});

	it("past ACCOUNT_MAIL_PER_HOUR forgot still answers 202 and sends nothing more", async () => {
		const u = await registerUser(h.url, "flood");
		const addr = `${u.username}@example.test`;
		await smtp.waitFor(addr, 1);
		for (let i = 0; i < 5; i++) expect((await api("POST", "/api/auth/password/forgot", { login: u.username })).status).toBe(202);
		await smtp.waitFor(addr, 3);
		// Sign-up and two resets went out; the three resets past the limit are dropped.
		await expect(smtp.waitFor(addr, 4, 500)).rejects.toThrow(/no email #4/);
		expect(smtp.to(addr)).toHaveLength(3);
	});
});
