import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
	SCOPE_NAMES,
	hashPersonalToken,
	isScope,
	looksLikePersonalToken,
	newPersonalToken,
	scopeAllows,
	tokenLive,
} from "../../../../../lib/domain/accounts/personal-tokens";

describe("personal access tokens", () => {
	it("start with msp_, carry 32 random bytes and are stored as their SHA-256", () => {
		const a = newPersonalToken();
		const b = newPersonalToken();
		expect(a.token.startsWith("msp_")).toBe(true);
		expect(Buffer.from(a.token.slice(4), "base64url")).toHaveLength(32);
		expect(a.token).not.toBe(b.token);
		expect(a.hash).toBe(createHash("sha256").update(a.token).digest("hex"));
		expect(hashPersonalToken(a.token)).toBe(a.hash);
	});

	it("only a token's own shape is looked up", () => {
		expect(looksLikePersonalToken(newPersonalToken().token)).toBe(true);
		for (const t of ["", "msp_", `msp_${"x".repeat(42)}`, `msp_${"x".repeat(44)}`, `msx_${"x".repeat(43)}`, `msp_${"x".repeat(42)}/`])
			expect(looksLikePersonalToken(t)).toBe(false);
	});

	it("knows the five scopes of the contract", () => {
		expect(SCOPE_NAMES).toEqual(["profile:read", "donations:read", "alerts:write", "chat:write", "events:read"]);
		expect(isScope("events:read")).toBe(true);
		for (const s of ["admin", "toString", "", 1]) expect(isScope(s)).toBe(false);
	});

	it("a token opens only actions declaring one of its scopes; a session is not limited by scopes", () => {
		expect(scopeAllows(["donations:read"], ["donations:read", "profile:read"])).toBe(true);
		expect(scopeAllows(["donations:read"], ["alerts:write"])).toBe(false);
		expect(scopeAllows(["donations:read"], undefined)).toBe(false);
		expect(scopeAllows(["donations:read"], [])).toBe(false);
		expect(scopeAllows(undefined, undefined)).toBe(true);
		expect(scopeAllows(undefined, ["alerts:write"])).toBe(true);
	});

	it("works until revoked or expired", () => {
		const now = 1_000_000;
		expect(tokenLive({ revokedAt: null, expiresAt: null }, now)).toBe(true);
		expect(tokenLive({ revokedAt: null, expiresAt: now + 1 }, now)).toBe(true);
		expect(tokenLive({ revokedAt: null, expiresAt: now }, now)).toBe(false);
		expect(tokenLive({ revokedAt: now - 5, expiresAt: null }, now)).toBe(false);
	});
});
