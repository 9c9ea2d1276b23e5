import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashOneTimeToken, looksLikeOneTimeToken, newOneTimeToken, oneTimeLink, usable } from "../../../../../lib/domain/accounts/one-time-tokens";

describe("one-time tokens", () => {
	it("are 32 random bytes, stored as their SHA-256", () => {
		const a = newOneTimeToken();
		const b = newOneTimeToken();
		expect(Buffer.from(a.token, "base64url")).toHaveLength(32);
		expect(a.token).not.toBe(b.token);
		expect(a.hash).toBe(createHash("sha256").update(a.token).digest("hex"));
		expect(hashOneTimeToken(a.token)).toBe(a.hash);
		expect(a.hash).not.toContain(a.token);
	});

	it("only a token's own shape is looked up", () => {
		expect(looksLikeOneTimeToken(newOneTimeToken().token)).toBe(true);
		for (const t of ["", "short", "x".repeat(44), `${"x".repeat(42)}=`, `${"x".repeat(42)}/`]) expect(looksLikeOneTimeToken(t)).toBe(false);
	});

	it("works once, for its kind, until it expires", () => {
		const now = 1_000_000;
		expect(usable({ kind: "reset", expiresAt: now + 1, usedAt: null }, "reset", now)).toBe(true);
		expect(usable({ kind: "reset", expiresAt: now + 1, usedAt: now - 5 }, "reset", now)).toBe(false);
		expect(usable({ kind: "reset", expiresAt: now, usedAt: null }, "reset", now)).toBe(false);
		expect(usable({ kind: "verify", expiresAt: now + 1, usedAt: null }, "reset", now)).toBe(false);
		expect(usable(null, "reset", now)).toBe(false);
	});

	it("links start with PUBLIC_URL and carry token=<token>", () => {
		const link = oneTimeLink("https://ms.example/app/", "/auth/reset", "abc_-DEF", "id");
		expect(link.startsWith("https://ms.example/app/auth/reset?")).toBe(true);
		expect(new URL(link).searchParams.get("token")).toBe("abc_-DEF");
		expect(new URL(link).searchParams.get("lang")).toBe("id");
		expect(oneTimeLink("http://localhost:3000", "/auth/verify", "t")).toBe("http://localhost:3000/auth/verify?token=t");
	});
});
