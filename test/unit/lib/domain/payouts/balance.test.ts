import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { balanceIn, balancesOf, payoutRefusal, type BalanceEntry } from "../../../../../lib/domain/payouts/balance";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const HOLD = 3 * 86_400_000;
const at = (agoMs: number) => new Date(NOW - agoMs).toISOString();
const entry = (kind: string, amount: number, agoMs = HOLD * 2, currency = "IDR"): BalanceEntry => ({ kind, amount, currency, createdAt: at(agoMs) });

describe("available balance", () => {
	it("holds credits younger than the hold; older ones are available", () => {
		const [b] = balancesOf([entry("credit", 100_000_00), entry("credit", 30_000_00, 1000)], { now: NOW, holdMs: HOLD, pending: { IDR: 20_000_00 } });
		expect(b).toMatchObject({ currency: "IDR", amount: 130_000_00, held: 30_000_00, available: 100_000_00, pendingPayouts: 20_000_00 });
		expect(b.formattedAvailable).toBe("Rp 100.000");
	});

	it("a payout debit lowers amount and available; its reversal gives both back", () => {
		const entries = [entry("credit", 100_000_00), entry("payout", -60_000_00, 10)];
		expect(balanceIn(entries, "IDR", { now: NOW, holdMs: HOLD })).toMatchObject({ amount: 40_000_00, available: 40_000_00, held: 0 });
		entries.push(entry("payout_reversal", 60_000_00, 5));
		expect(balanceIn(entries, "IDR", { now: NOW, holdMs: HOLD })).toMatchObject({ amount: 100_000_00, available: 100_000_00 });
	});

	it("a chargeback after a payout is a debt: nothing available, never negative", () => {
		const entries = [entry("credit", 100_000_00), entry("payout", -100_000_00, 100), entry("debit", -40_000_00, 10), entry("credit", 10_000_00, 5)];
		const b = balanceIn(entries, "IDR", { now: NOW, holdMs: HOLD });
		expect(b).toMatchObject({ amount: -30_000_00, held: 0, available: 0 });
		expect(payoutRefusal(50_000_00, 50_000_00, b)).toBe("INSUFFICIENT_FUNDS");
	});

	it("refuses below the minimum and above what is available", () => {
		expect(payoutRefusal(49_999_99, 50_000_00, { available: 1e9 })).toBe("BELOW_MINIMUM");
		expect(payoutRefusal(60_000_00, 50_000_00, { available: 59_000_00 })).toBe("INSUFFICIENT_FUNDS");
		expect(payoutRefusal(59_000_00, 50_000_00, { available: 59_000_00 })).toBeNull();
	});

	it("a currency without entries is all zero", () => {
		expect(balanceIn([entry("credit", 5, 0, "USD")], "IDR", { now: NOW, holdMs: HOLD })).toMatchObject({ amount: 0, available: 0, held: 0 });
	});

	/**
	 * Any sequence of credits (young or old), payouts, cancels, failures, payouts paid and
	 * chargebacks, applied the way the service does (a payout only when the rule allows it,
	 * one reversal per reversed payout): the ledger sums to the balance, no payout was ever for
	 * more than was available, and the available balance is never negative.
	 */
	it("keeps sum(ledger) = balance and never pays out more than was available (property)", () => {
		type Op =
			| { t: "credit"; amount: number; young: boolean }
			| { t: "payout"; amount: number }
			| { t: "end"; which: number; how: "paid" | "cancelled" | "failed" }
			| { t: "chargeback"; amount: number };
		const op: fc.Arbitrary<Op> = fc.oneof(
			fc.record({ t: fc.constant("credit" as const), amount: fc.integer({ min: 1, max: 100_000 }), young: fc.boolean() }),
			fc.record({ t: fc.constant("payout" as const), amount: fc.integer({ min: 1, max: 150_000 }) }),
			fc.record({ t: fc.constant("end" as const), which: fc.nat(20), how: fc.constantFrom("paid" as const, "cancelled" as const, "failed" as const) }),
			fc.record({ t: fc.constant("chargeback" as const), amount: fc.integer({ min: 1, max: 50_000 }) }),
		);
		fc.assert(
			fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
				const ledger: BalanceEntry[] = [];
				const open: { amount: number }[] = [];
				let expected = 0;
				for (const o of ops) {
					const before = balanceIn(ledger, "IDR", { now: NOW, holdMs: HOLD });
					expect(before.available).toBeGreaterThanOrEqual(0);
					expect(before.amount).toBe(expected);
					if (o.t === "credit") {
						ledger.push(entry("credit", o.amount, o.young ? 1000 : HOLD * 2));
						expected += o.amount;
					} else if (o.t === "chargeback") {
						ledger.push(entry("debit", -o.amount, 10));
						expected -= o.amount;
					} else if (o.t === "payout") {
						if (payoutRefusal(o.amount, 1, before)) continue;
						expect(o.amount).toBeLessThanOrEqual(before.available);
						ledger.push(entry("payout", -o.amount, 10));
						open.push({ amount: o.amount });
						expected -= o.amount;
					} else if (open.length > 0) {
						const [p] = open.splice(o.which % open.length, 1);
						if (o.how !== "paid") {
							ledger.push(entry("payout_reversal", p.amount, 10));
							expected += p.amount;
						}
					}
				}
				expect(balanceIn(ledger, "IDR", { now: NOW, holdMs: HOLD }).amount).toBe(ledger.reduce((a, e) => a + e.amount, 0));
			}),
			{ numRuns: 300 },
		);
	});
});
