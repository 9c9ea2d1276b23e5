import { describe, expect, it } from "vitest";
import { earningsSeries, windowDays } from "../../../../../lib/domain/donations/earnings";
import type { AggregateDoc } from "../../../../../lib/domain/donations/types";

const NOW = Date.parse("2026-12-01T12:00:00Z");
const day = (d: string, amount: number, count: number, currency = "IDR"): AggregateDoc => ({
	_id: `${d}:${currency}`,
	owner: "u1",
	kind: "day",
	day: d,
	currency,
	amount,
	count,
});

describe("earningsSeries", () => {
	it("has every day of the window, oldest first, today included, 0 where nothing came in", () => {
		const axis = windowDays(30, NOW);
		expect(axis).toHaveLength(30);
		expect(axis[0]).toBe("2026-11-02");
		expect(axis[29]).toBe("2026-12-01");
		const e = earningsSeries([day("2026-11-30", 5_000_00, 1), day("2026-12-01", 12_000_00, 2)], [], 30, NOW);
		expect(e).toMatchObject({ days: 30, from: "2026-11-02", to: "2026-12-01" });
		expect(e.series).toHaveLength(1);
		const s = e.series[0];
		expect(s.days).toHaveLength(30);
		expect(s.days.at(-1)).toMatchObject({ day: "2026-12-01", amount: 12_000_00, count: 2, formattedAmount: "Rp 12.000" });
		expect(s.days.at(-2)).toMatchObject({ day: "2026-11-30", amount: 5_000_00 });
		expect(s.days[0]).toMatchObject({ amount: 0, count: 0 });
		expect(s).toMatchObject({ currency: "IDR", total: 17_000_00, formattedTotal: "Rp 17.000" });
	});

	it("leaves out days before the window and rows that are not day aggregates; one series per currency", () => {
		const rows = [day("2026-11-01", 9_999, 1), day("2026-11-15", 700, 1, "USD"), { ...day("2026-11-20", 1, 1), kind: "donorday" as const }];
		const e = earningsSeries(rows, [], 30, NOW);
		expect(e.series.map((s) => [s.currency, s.total])).toEqual([["USD", 700]]);
		expect(earningsSeries(rows, [], 90, NOW).series.map((s) => [s.currency, s.total])).toEqual([
			["IDR", 9_999],
			["USD", 700],
		]);
	});

	it("marks the paid payouts of the window on their day, and no older ones", () => {
		const payouts = [
			{ id: "po1", amount: 50_000_00, currency: "IDR", paidAt: "2026-11-20T08:00:00.000Z" },
			{ id: "po0", amount: 1, currency: "IDR", paidAt: "2026-10-01T08:00:00.000Z" },
		];
		const e = earningsSeries([day("2026-11-19", 60_000_00, 3)], payouts, 30, NOW);
		expect(e.payouts).toEqual([
			{ id: "po1", day: "2026-11-20", amount: 50_000_00, currency: "IDR", formattedAmount: "Rp 50.000", paidAt: "2026-11-20T08:00:00.000Z" },
		]);
	});
});
