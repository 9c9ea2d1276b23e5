import { describe, expect, it } from "vitest";
import { isSealed, seal, sealKey, unseal } from "../../../../lib/tools/sealed";

describe("sealed values (AES-256-GCM)", () => {
	const key = sealKey("a".repeat(64));

	it("opens what it sealed, with a fresh nonce each time", () => {
		const a = seal(key, "1234567890", "user-1");
		const b = seal(key, "1234567890", "user-1");
		expect(a).not.toBe(b);
		expect(isSealed(a)).toBe(true);
		expect(a).not.toContain("1234567890");
		expect(unseal(key, a, "user-1")).toBe("1234567890");
	});

	it("refuses another key, another context and a changed byte", () => {
		const s = seal(key, "secret", "user-1");
		expect(() => unseal(sealKey("b".repeat(64)), s, "user-1")).toThrow();
		expect(() => unseal(key, s, "user-2")).toThrow();
		const parts = s.split(".");
		const body = Buffer.from(parts[3]!, "base64url");
		body[0] = (body[0] ?? 0) ^ 1;
		parts[3] = body.toString("base64url");
		expect(() => unseal(key, parts.join("."), "user-1")).toThrow();
		expect(() => unseal(key, "plain text")).toThrow();
	});

	it("takes hex, base64 or a passphrase as the key", () => {
		expect(sealKey("00".repeat(32))).toEqual(Buffer.alloc(32));
		expect(sealKey(Buffer.alloc(32, 7).toString("base64"))).toEqual(Buffer.alloc(32, 7));
		expect(sealKey("correct horse battery staple")).toHaveLength(32);
	});
});
