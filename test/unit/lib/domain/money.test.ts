import { describe, expect, it } from "vitest";
import { amountProblem, feeFor, formatMoney, toMajorString } from "../../../../lib/domain/money";

describe("money", () => {
	it("formats minor units the way people read them", () => {
		expect(formatMoney(1_000_000, "IDR")).toBe("Rp 10.000");
		expect(formatMoney(500, "USD")).toBe("$5.00");
		expect(formatMoney(123_456, "EUR")).toBe("1.234,56 €");
		expect(formatMoney(500, "MYR")).toBe("RM 5.00");
		expect(formatMoney(500, "JPY")).toBe("￥500");
	});
	it("renders provider decimal strings", () => {
		expect(toMajorString(1_000_000, "IDR")).toBe("10000.00");
		expect(toMajorString(5, "USD")).toBe("0.05");
		expect(toMajorString(500, "JPY")).toBe("500");
	});
	it("computes fees in basis points, rounding half up", () => {
		expect(feeFor(10_000, 500)).toBe(500);
		expect(feeFor(10_001, 0)).toBe(0);
		expect(feeFor(1, 5_000)).toBe(1);
	});
	it("refuses absurd, negative, fractional and unsupported amounts", () => {
		expect(amountProblem(500, "USD")).toBeNull();
		expect(amountProblem(-1, "USD")).toMatch(/positive/);
		expect(amountProblem(0, "USD")).toMatch(/positive/);
		expect(amountProblem(1.5, "USD")).toMatch(/integer/);
		expect(amountProblem(1e15, "USD")).toMatch(/at most/);
		expect(amountProblem(150, "IDR")).toMatch(/whole/);
		expect(amountProblem(100, "XXX")).toMatch(/not supported/);
	});
});
