import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, connectSocket, emitAck, registerUser, startHarness, type Harness } from "../support/harness";
import { donate, setupStreamer } from "../support/flow";

/**
 * User text is cleaned the same way at every entry point (lib/domain/text.ts through the StrictParams
 * middleware): NFC, no control/bidi/format characters, lengths in user-perceived characters;
 * system names are not usernames and a password needs 8 characters that are not spaces.
 */
const ENV = { SCRYPT_COST: "1024", RATE_LIMIT_IP_PER_MIN: "100000" };

let h: Harness;
let api: ReturnType<typeof client>;
let streamer: Awaited<ReturnType<typeof setupStreamer>>;

beforeAll(async () => {
	h = await startHarness({ services: ["users", "payments", "donations", "ledger", "stats", "posts", "comments", "likes", "chat"], env: ENV });
	api = client(h.url);
	streamer = await setupStreamer(h.url);
});
afterAll(() => h?.stop());

const flag = "🇮🇩";

describe("input hygiene", () => {
	it("an invisible-only donor name is no name; control and bidi characters are not stored", async () => {
		for (const donorName of ["\u200B", "\u200B\u200D\u2060", "\u3164", "\u202E\u202C", " \u00AD "]) {
			const res = await donate(h.url, streamer.username, { donorName });
			expect(res.status, JSON.stringify(donorName)).toBe(422);
			expect(res.body.type, JSON.stringify(donorName)).toBe("DONOR_NAME_REQUIRED");
		}
		const res = await donate(h.url, streamer.username, { donorName: "Bu\u200Bdi\u202E", message: "gg\u0007 \u2066wp\u2069\r\nbang" });
		expect(res.status).toBe(201);
		expect(res.body.donation).toMatchObject({ donorName: "Budi", message: "gg wp bang" });
	});

	it("length limits count user-perceived characters, after cleaning", async () => {
		const ok = await donate(h.url, streamer.username, { donorName: flag.repeat(50), message: "👍🏽".repeat(500) });
		expect(ok.status).toBe(201);
		expect(ok.body.donation.donorName).toBe(flag.repeat(50));
		const long = await donate(h.url, streamer.username, { donorName: flag.repeat(51) });
		expect(long.status).toBe(422);
		expect(long.body.data).toEqual([expect.objectContaining({ field: "donorName", type: "stringMax", expected: 50, actual: 51 })]);
		// 50 visible characters padded with zero-width spaces is 50 characters.
		const padded = await donate(h.url, streamer.username, { donorName: "x\u200B".repeat(50) });
		expect(padded.status, JSON.stringify(padded.body)).toBe(201);
	});

	it("profile, posts, comments and chat go through the same cleaning", async () => {
		const u = await registerUser(h.url, "hyg");
		const me = await api("PATCH", "/api/users/me", { displayName: "\u202Eadmin\u202C", bio: "line one\r\nline\u200B two\u0000" }, { token: u.token });
		expect(me.status).toBe(200);
		expect(me.body).toMatchObject({ displayName: "admin", bio: "line one\nline two" });
		expect((await api("PATCH", "/api/users/me", { displayName: "\u200B\u200B" }, { token: u.token })).status).toBe(422);

		const post = await api("POST", "/api/posts", { title: "Cafe\u0301\u200B", body: "a\u202Eb" }, { token: u.token });
		expect(post.status).toBe(201);
		expect(post.body).toMatchObject({ title: "Café", body: "ab" });
		expect((await api("POST", "/api/posts", { title: "\u2060", body: "x" }, { token: u.token })).status).toBe(422);
		const comment = await api("POST", "/api/comments", { type: "post", id: post.body.id, text: "ni\u200Bce\u0007 👩\u200D💻" }, { token: u.token });
		expect(comment.status).toBe(201);
		expect(comment.body.text).toBe("nice 👩\u200D💻");

		const s = await connectSocket(h.url, "/", { token: u.token });
		try {
			const joined = await emitAck(s, "chat:join", { channel: streamer.username });
			expect(joined, JSON.stringify(joined)).toMatchObject({ ok: true });
			const sent = await emitAck(s, "chat:send", { channel: streamer.username, text: `hi\u202E ${flag.repeat(497)}` });
			expect(sent, JSON.stringify(sent).slice(0, 300)).toMatchObject({ ok: true });
			// 500 characters (3 + 497 flags) although it is 1,991 UTF-16 units.
			expect(sent.message.text).toBe(`hi ${flag.repeat(497)}`);
			expect((await emitAck(s, "chat:send", { channel: streamer.username, text: `hi ${flag.repeat(498)}` })).ok).toBe(false);
			// 500 family emoji are 500 characters (5,500 UTF-16 units).
			const family = "👨\u200D👩\u200D👧\u200D👦";
			expect((await emitAck(s, "chat:send", { channel: streamer.username, text: family.repeat(500) })).message?.text).toBe(family.repeat(500));
		} finally {
			s.close();
		}
	});

	it("system names are reserved usernames", async () => {
		for (const username of [
			"__proto__",
			"constructor",
			"null",
			"undefined",
			"api",
			"admin",
			"Admin",
			"root",
			"system",
			"support",
			"mediashar",
			"overlay",
			"dashboard",
			"explore",
			"health",
			"metrics",
			"pay",
			"chat",
			"auth",
			"__x",
		]) {
			const res = await api("POST", "/api/auth/register", {
				username,
				email: `${username.replace(/_/g, "u")}-r@example.test`,
				password: "correct horse battery",
			});
			expect(res.status, username).toBe(422);
			expect(res.body.type, username).toBe("USERNAME_RESERVED");
		}
		expect(
			(await api("POST", "/api/auth/register", { username: "adminfan", email: "adminfan@example.test", password: "correct horse battery" })).status,
		).toBe(201);
	});

	it("a password needs 8 characters that are not spaces", async () => {
		for (const password of ["        ", "\t\t\t\t\t\t\t\t\t", "a b c d e f g ", "\u3000".repeat(10)]) {
			const res = await api("POST", "/api/auth/register", {
				username: `pw${Math.random().toString(36).slice(2, 8)}`,
				email: `pw${Math.random().toString(36).slice(2, 8)}@example.test`,
				password,
			});
			expect(res.status, JSON.stringify(password)).toBe(422);
			expect(res.body).toMatchObject({ type: "PASSWORD_TOO_WEAK", data: [{ field: "password" }] });
		}
		expect((await api("POST", "/api/auth/register", { username: "pwspaces", email: "pwspaces@example.test", password: "a b c d e f g h" })).status).toBe(
			201,
		);
	});
});
