import { formatMoney } from "../money";
import { dayOf } from "./rules";
import type { AggregateDoc } from "./types";

/**
 * The earnings chart's figures: income per UTC day over the last `days` days (today included)
 * from the channel's day aggregates (paid donations, less those refunded or reversed in full;
 * a partial refund shows in the ledger, not here), one series
 * per currency with every day present (0 where nothing came in), and the paid payouts of the
 * window on their day.
 */

export const EARNINGS_WINDOWS = [30, 90] as const;
export type EarningsWindow = (typeof EARNINGS_WINDOWS)[number];

export interface PaidPayout {
	id: string;
	amount: number;
	currency: string;
	paidAt: string;
}

export interface EarningsDay {
	day: string;
	amount: number;
	count: number;
}

/** The days of the window, oldest first ("YYYY-MM-DD", UTC). */
export function windowDays(days: number, nowMs: number): string[] {
	const out: string[] = [];
	for (let i = days - 1; i >= 0; i--) out.push(dayOf(nowMs - i * 86_400_000));
	return out;
}

export function earningsSeries(dayRows: AggregateDoc[], payouts: PaidPayout[], days: number, nowMs: number) {
	const axis = windowDays(days, nowMs);
	const from = axis[0];
	const to = axis[axis.length - 1];
	const byCurrency = new Map<string, Map<string, EarningsDay>>();
	for (const r of dayRows) {
		if (r.kind !== "day" || !r.currency || !r.day || r.day < from || r.day > to) continue;
		const series = byCurrency.get(r.currency) ?? new Map<string, EarningsDay>();
		const d = series.get(r.day) ?? { day: r.day, amount: 0, count: 0 };
		d.amount += r.amount ?? 0;
		d.count += r.count ?? 0;
		series.set(r.day, d);
		byCurrency.set(r.currency, series);
	}
	const inWindow = payouts.filter((p) => dayOf(p.paidAt) >= from && dayOf(p.paidAt) <= to);
	for (const p of inWindow) if (!byCurrency.has(p.currency)) byCurrency.set(p.currency, new Map());
	const series = [...byCurrency.entries()]
		.sort(([a], [b]) => (a < b ? -1 : 1))
		.map(([currency, m]) => {
			const list = axis.map((day) => m.get(day) ?? { day, amount: 0, count: 0 });
			const total = list.reduce((n, d) => n + d.amount, 0);
			return {
				currency,
				total,
				formattedTotal: formatMoney(total, currency),
				days: list.map((d) => ({ ...d, formattedAmount: formatMoney(d.amount, currency) })),
			};
		});
	return {
		days,
		from,
		to,
		series,
		payouts: inWindow
			.sort((a, b) => (a.paidAt < b.paidAt ? -1 : 1))
			.map((p) => ({
				id: p.id,
				day: dayOf(p.paidAt),
				amount: p.amount,
				currency: p.currency,
				formattedAmount: formatMoney(p.amount, p.currency),
				paidAt: p.paidAt,
			})),
	};
}

export type Earnings = ReturnType<typeof earningsSeries>;
