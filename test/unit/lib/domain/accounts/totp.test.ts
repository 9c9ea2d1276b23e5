import { describe, expect, it } from "vitest";
import { Secret } from "otpauth";
import {
	acceptTotp,
	hashRecoveryCode,
	newRecoveryCodes,
	newTotpSecret,
	normalizeRecoveryCode,
	totpCode,
	totpStep,
} from "../../../../../lib/domain/accounts/totp";

// RFC 6238 appendix B: the SHA-1 secret "12345678901234567890", 8 digits; here its 6-digit tail.
const RFC_SECRET = new Secret({ buffer: new TextEncoder().encode("12345678901234567890").buffer as ArrayBuffer }).base32;

describe("TOTP", () => {
	it("matches RFC 6238's SHA-1 test vectors (last 6 digits)", () => {
		expect(totpCode(RFC_SECRET, 59_000)).toBe("287082");
		expect(totpCode(RFC_SECRET, 1_111_111_109_000)).toBe("081804");
		expect(totpCode(RFC_SECRET, 2_000_000_000_000)).toBe("279037");
	});

	it("accepts ±1 step of drift, and only steps after the last accepted", () => {
		const { secret } = newTotpSecret("budi");
		const now = 1_700_000_015_000;
		const step = totpStep(now);
		expect(acceptTotp(secret, totpCode(secret, now), null, now)).toBe(step);
		expect(acceptTotp(secret, totpCode(secret, now - 30_000), null, now)).toBe(step - 1);
		expect(acceptTotp(secret, totpCode(secret, now + 30_000), null, now)).toBe(step + 1);
		expect(acceptTotp(secret, totpCode(secret, now + 60_000), null, now)).toBeNull();
		expect(acceptTotp(secret, totpCode(secret, now - 60_000), null, now)).toBeNull();
		// no replay: the step already accepted, or an older one, is refused
		expect(acceptTotp(secret, totpCode(secret, now), step, now)).toBeNull();
		expect(acceptTotp(secret, totpCode(secret, now - 30_000), step, now)).toBeNull();
		expect(acceptTotp(secret, totpCode(secret, now + 30_000), step, now)).toBe(step + 1);
		expect(acceptTotp(secret, "12345", null, now)).toBeNull();
		expect(acceptTotp(secret, "abcdef", null, now)).toBeNull();
	});

	it("the otpauth URL is what authenticator apps read", () => {
		const { secret, otpauthUrl } = newTotpSecret("budi");
		const url = new URL(otpauthUrl);
		expect(url.protocol).toBe("otpauth:");
		expect(url.searchParams.get("secret")).toBe(secret);
		expect(url.searchParams.get("issuer")).toBe("MediaShar");
		expect(secret).toMatch(/^[A-Z2-7]{32}$/);
	});
});

describe("recovery codes", () => {
	it("ten distinct codes, kept only as hashes that ignore case, spaces and dashes", () => {
		const codes = newRecoveryCodes();
		expect(codes).toHaveLength(10);
		expect(new Set(codes.map((c) => c.code)).size).toBe(10);
		for (const c of codes) {
			expect(c.code).toMatch(/^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/);
			expect(c.hash).not.toContain(c.code.replace(/-/g, ""));
			expect(hashRecoveryCode(c.code.toUpperCase().replace(/-/g, " "))).toBe(c.hash);
		}
		expect(normalizeRecoveryCode("123456")).toBeNull();
		expect(normalizeRecoveryCode("zzzz-zzzz-zzzz-zzzz")).toBeNull();
	});
});
