import { inspect } from "node:util";
import jwt from "jsonwebtoken";
import { Loggers } from "moleculer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, type Harness } from "../support/harness";

/**
 * Access tokens, refresh-token rotation, login throttling and password hygiene, seen from a
 * client over HTTP. Every log line of the broker is captured to prove no password reaches a log.
 */

const DEV_JWT_SECRET = "dev-only-jwt-secret-change-me";
const LOGIN_MAX_FAILURES = 3;

/** A log appender that keeps every line of every level, rendered the way a console would. */
class CaptureLogger extends Loggers.Base<Record<string, unknown>> {
	static lines: string[] = [];
	override getLogHandler(bindings: { mod?: string }) {
		return (type: string, args: unknown[]) => {
			CaptureLogger.lines.push(`${type} ${bindings?.mod ?? ""} ${args.map((a) => (typeof a === "string" ? a : inspect(a, { depth: 8 }))).join(" ")}`);
		};
	}
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("security: tokens, sessions and passwords", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;
	let alice: Awaited<ReturnType<typeof registerUser>>;
	const responses: string[] = [];

	/** Every response body this suite saw, to look for passwords afterwards. */
	const call: typeof api = async (...args) => {
		const res = await api(...args);
		responses.push(JSON.stringify(res.body), JSON.stringify(Object.fromEntries(res.headers as unknown as Iterable<[string, string]>)));
		return res;
	};

	beforeAll(async () => {
		h = await startHarness({
			services: ["users"],
			env: { SCRYPT_COST: "1024", LOGIN_MAX_FAILURES: String(LOGIN_MAX_FAILURES), JWT_SECRET: undefined },
			brokerOptions: { logger: new CaptureLogger({ level: "debug" }), logLevel: "debug" },
		});
		api = client(h.url);
		alice = await registerUser(h.url, "alice");
	});
	afterAll(async () => {
		await h?.stop();
	});

	const me = (token: string) => call("GET", "/api/auth/me", undefined, { token });

	it("accepts a valid access token", async () => {
		const res = await me(alice.token);
		expect(res.status).toBe(200);
		expect(res.body.username).toBe(alice.username);
	});

	it("refuses a token with alg none (signature stripped)", async () => {
		const claims = jwt.decode(alice.token) as Record<string, unknown>;
		const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
		const res = await me(none);
		expect(res.status).toBe(401);
		expect(res.body).toMatchObject({ code: 401, type: "INVALID_TOKEN" });
		// and the unsigned form jsonwebtoken itself produces
		const unsigned = jwt.sign(claims, "", { algorithm: "none" });
		expect((await me(unsigned)).status).toBe(401);
	});

	it("refuses a token signed with another secret", async () => {
		const forged = jwt.sign({ sub: alice.id, username: alice.username, roles: ["admin"], typ: "access" }, "not-the-secret", {
			algorithm: "HS256",
			expiresIn: 600,
		});
		const res = await me(forged);
		expect(res.status).toBe(401);
		expect(res.body.type).toBe("INVALID_TOKEN");
	});

	it("refuses an expired token with TOKEN_EXPIRED", async () => {
		const now = Math.floor(Date.now() / 1000);
		const expired = jwt.sign({ sub: alice.id, username: alice.username, roles: [], typ: "access", iat: now - 3600, exp: now - 60 }, DEV_JWT_SECRET, {
			algorithm: "HS256",
		});
		const res = await me(expired);
		expect(res.status).toBe(401);
		expect(res.body).toMatchObject({ code: 401, type: "TOKEN_EXPIRED" });
	});

	it("refuses tampered claims under the original signature (another user, admin role)", async () => {
		const [header, payload, sig] = alice.token.split(".");
		const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
		const bob = await registerUser(h.url, "bob");
		for (const patch of [{ sub: bob.id, username: bob.username }, { roles: ["admin"] }, { exp: claims.exp + 86_400 }]) {
			const tampered = `${header}.${b64url({ ...claims, ...patch })}.${sig}`;
			const res = await me(tampered);
			expect(res.status, JSON.stringify(patch)).toBe(401);
			expect(res.body.type).toBe("INVALID_TOKEN");
		}
	});

	it("refuses a validly signed token that is not an access token, and garbage headers", async () => {
		const notAccess = jwt.sign({ sub: alice.id, username: alice.username, typ: "refresh" }, DEV_JWT_SECRET, { algorithm: "HS256", expiresIn: 600 });
		expect((await me(notAccess)).status).toBe(401);
		expect((await me("not.a.jwt")).status).toBe(401);
		const basic = await call("GET", "/api/auth/me", undefined, { headers: { Authorization: "Basic YWxpY2U6cGFzcw==" } });
		expect(basic.status).toBe(401);
		expect((await call("GET", "/api/auth/me")).status).toBe(401);
	});

	it("rotates refresh tokens and revokes the whole family when a used one comes back", async () => {
		const login = await call("POST", "/api/auth/login", { login: alice.username, password: "correct horse battery" });
		expect(login.status).toBe(200);
		const first = login.body.refreshToken as string;
		const rotated = await call("POST", "/api/auth/refresh", { refreshToken: first });
		expect(rotated.status).toBe(200);
		const second = rotated.body.refreshToken as string;
		expect(second).not.toBe(first);

		// a thief replays the first token: refused, and the family dies
		const reuse = await call("POST", "/api/auth/refresh", { refreshToken: first });
		expect(reuse.status).toBe(401);
		expect(reuse.body.type).toBe("REFRESH_TOKEN_REUSED");
		const afterReuse = await call("POST", "/api/auth/refresh", { refreshToken: second });
		expect(afterReuse.status).toBe(401);

		// another sign-in of the same user is a separate family and keeps working
		expect((await call("POST", "/api/auth/refresh", { refreshToken: alice.refreshToken })).status).toBe(200);
	});

	it("kills the family on logout", async () => {
		const login = await call("POST", "/api/auth/login", { login: alice.username, password: "correct horse battery" });
		expect((await call("POST", "/api/auth/logout", { refreshToken: login.body.refreshToken })).status).toBe(204);
		const res = await call("POST", "/api/auth/refresh", { refreshToken: login.body.refreshToken });
		expect(res.status).toBe(401);
	});

	it("slows down login brute force: after LOGIN_MAX_FAILURES failures even the right password gets 429 with Retry-After", async () => {
		const victim = await registerUser(h.url, "victim");
		for (let i = 0; i < LOGIN_MAX_FAILURES; i++) {
			const res = await call("POST", "/api/auth/login", { login: victim.username, password: `guess-number-${i}` });
			expect(res.status).toBe(401);
			expect(res.body.type).toBe("INVALID_CREDENTIALS");
		}
		const blocked = await call("POST", "/api/auth/login", { login: victim.username, password: "correct horse battery" });
		expect(blocked.status).toBe(429);
		expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
		// by email too: the throttle is per account, not per spelling
		const other = await registerUser(h.url, "other");
		expect(
			(await call("POST", "/api/auth/login", { login: other.user.email ?? `${other.username}@example.test`, password: "correct horse battery" })).status,
		).toBe(200);
		// unknown accounts answer exactly like wrong passwords (no user enumeration)
		const unknown = await call("POST", "/api/auth/login", { login: "nobody_here_at_all", password: "whatever-password" });
		expect(unknown.status).toBe(401);
		expect(unknown.body.type).toBe("INVALID_CREDENTIALS");
	});

	it("never shows a password or its hash in any response or log line", async () => {
		const secretPassword = "Zebra-Unicorn-9173-secret";
		const reg = await call("POST", "/api/auth/register", { username: "pw_holder", email: "pw@example.test", password: secretPassword, displayName: "PW" });
		expect(reg.status).toBe(201);
		await call("POST", "/api/auth/login", { login: "pw_holder", password: secretPassword });
		await call("POST", "/api/auth/login", { login: "pw_holder", password: `${secretPassword}-wrong` });
		await call("POST", "/api/auth/register", { username: "pw_holder", email: "pw2@example.test", password: secretPassword });
		await call("POST", "/api/auth/register", { username: "x", email: "bad", password: secretPassword });
		await call("PATCH", "/api/users/me", { password: secretPassword }, { token: reg.body.accessToken });
		await call("GET", "/api/auth/me", undefined, { token: reg.body.accessToken });
		await call("GET", "/api/users/pw_holder");
		// a malformed body that carries the password must not echo it in the error either
		const raw = await api("POST", "/api/auth/login", undefined, {
			raw: `{"login":"pw_holder","password":"${secretPassword}"`,
			headers: { "Content-Type": "application/json" },
		});
		responses.push(JSON.stringify(raw.body));
		expect(raw.status).toBe(400);

		const everything = responses.join("\n");
		expect(everything).not.toContain(secretPassword);
		expect(everything).not.toMatch(/passwordHash|scrypt\$|"password"\s*:/);
		expect(CaptureLogger.lines.length).toBeGreaterThan(0);
		const logs = CaptureLogger.lines.join("\n");
		expect(logs).not.toContain(secretPassword);
		expect(logs).not.toContain("correct horse battery");
	});
});
