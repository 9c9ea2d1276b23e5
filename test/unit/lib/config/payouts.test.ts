import { describe, expect, it } from "vitest";
import { payoutEncryptionKey, payoutsConfig } from "../../../../lib/config/payouts";

describe("payouts config", () => {
	it("has no default encryption key outside development and tests, and names the variable", () => {
		expect(() => payoutEncryptionKey({ NODE_ENV: "production" })).toThrow(/PAYOUT_ENCRYPTION_KEY must be set/);
		expect(() => payoutEncryptionKey({ NODE_ENV: "staging" })).toThrow(/PAYOUT_ENCRYPTION_KEY/);
		expect(payoutEncryptionKey({ NODE_ENV: "production", PAYOUT_ENCRYPTION_KEY: "k".repeat(40) })).toBe("k".repeat(40));
		expect(payoutEncryptionKey({ NODE_ENV: "development" })).toMatch(/^dev-only-/);
	});

	it("reads the per-currency minimum and auto-approval limit, with the contract's defaults", () => {
		const cfg = payoutsConfig({ PAYOUT_MIN_USD: "2500", PAYOUT_AUTO_APPROVE_MAX_IDR: "10000000" });
		expect(cfg.minimum).toMatchObject({ IDR: 50_000_00, USD: 2500, EUR: 1000 });
		expect(cfg.autoApproveMax).toMatchObject({ IDR: 10_000_000, USD: 0 });
		expect(cfg).toMatchObject({ holdMs: 259_200_000, accountCooldownMs: 86_400_000, provider: "sandbox" });
	});
});
