import { describe, expect, it } from "vitest";
import { signAccessToken, verifyAccessToken } from "../../../../lib/tools/tokens";

const SECRET = "unit-test-secret-0123456789abcdef";

describe("verifyAccessToken", () => {
	it("hands every request presenting the same token one frozen user, built once", () => {
		const token = signAccessToken({ id: "u1", username: "alice", displayName: "Alice", roles: ["user"] }, SECRET, 60);
		const first = verifyAccessToken(token, SECRET);
		const second = verifyAccessToken(token, SECRET);
		expect(first.ok && second.ok).toBe(true);
		if (!first.ok || !second.ok) return;
		expect(second.user).toBe(first.user);
		expect(first.user).toEqual({ id: "u1", username: "alice", displayName: "Alice", roles: ["user"] });
		// Nothing a request does to its ctx.meta.user can leak into the next request's.
		expect(() => (first.user.roles as string[]).push("admin")).toThrow(TypeError);
		expect(() => ((first.user as { username: string }).username = "mallory")).toThrow(TypeError);
		expect(verifyAccessToken(token, SECRET)).toEqual({ ok: true, user: { id: "u1", username: "alice", displayName: "Alice", roles: ["user"] } });
	});

	it("keeps tokens of different secrets apart and still refuses a token under another secret", () => {
		const token = signAccessToken({ id: "u2", username: "bob", roles: [] }, SECRET, 60);
		expect(verifyAccessToken(token, SECRET).ok).toBe(true);
		expect(verifyAccessToken(token, `${SECRET}-other`)).toEqual({ ok: false, reason: "invalid" });
		expect(verifyAccessToken(`${token}x`, SECRET)).toEqual({ ok: false, reason: "invalid" });
	});

	it("answers expired for a remembered token once its exp has passed", () => {
		const token = signAccessToken({ id: "u3", username: "carol", roles: [] }, SECRET, 1);
		expect(verifyAccessToken(token, SECRET).ok).toBe(true);
		const realNow = Date.now;
		Date.now = () => realNow() + 2_000;
		try {
			expect(verifyAccessToken(token, SECRET)).toEqual({ ok: false, reason: "expired" });
		} finally {
			Date.now = realNow;
		}
	});
});

describe("session id claim", () => {
	it("an access token names its session (sid) and the verified user carries it", () => {
		const sign = signAccessToken;
		const verify = verifyAccessToken;
		const token = sign({ id: "u9", username: "sid_user", roles: ["user"] }, "sid-secret", 60, "FAMILY1");
		const v = verify(token, "sid-secret");
		expect(v.ok && v.user.sid).toBe("FAMILY1");
		const none = verify(sign({ id: "u9", username: "sid_user", roles: ["user"] }, "sid-secret", 61), "sid-secret");
		expect(none.ok && "sid" in none.user).toBe(false);
	});
});
