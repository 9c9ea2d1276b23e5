import { describe, expect, it } from "vitest";
import { debitKey, feeAt, refundTarget, refundedOf } from "../../../../../lib/domain/donations/ledger";

describe("ledger rules", () => {
	it("gives back the fee in proportion, and all of it at the full amount", () => {
		// 2.5 % of 10 001 is 250 (rounded): half the gross is half the fee, the whole is exactly it.
		expect(feeAt(10_001, 250, 10_001)).toBe(250);
		expect(feeAt(10_001, 250, 5_000)).toBe(125);
		expect(feeAt(10_001, 250, 20_000)).toBe(250);
		expect(feeAt(10_001, 0, 5_000)).toBe(0);
	});

	it("counts debits less reinstatements as refunded, never credits", () => {
		expect(
			refundedOf([
				{ kind: "credit", gross: 1000 },
				{ kind: "debit", gross: -400 },
				{ kind: "debit", gross: -100 },
				{ kind: "reinstatement", gross: 300 },
			]),
		).toBe(200);
	});

	it("keys the first debit as a full refund always was, later ones by generation and level", () => {
		expect(debitKey("d1", 0, 0)).toBe("d1:debit");
		expect(debitKey("d1", 0, 400)).toBe("d1:debit:0:400");
		expect(debitKey("d1", 1, 0)).toBe("d1:debit:1:0");
	});

	it("bounds a refunded total by 0 and the amount", () => {
		expect(refundTarget(-5, 100)).toBe(0);
		expect(refundTarget(150, 100)).toBe(100);
		expect(refundTarget(40, 100)).toBe(40);
	});
});
