import { formatMoney } from "../money";
import { dayOf, donorKey } from "./rules";
import type { AggregateDoc, DonationDoc, RecentItem } from "./types";

/**
 * The maintained aggregates of a channel (pure): which documents a donation counts in, its
 * marker, and how stats are read from the documents. The service applies them (see the header
 * of services/donations/donations.service.ts for the crash story).
 */

export type Sign = 1 | -1;
export type Period = "all" | "30d" | "7d";

/** The aggregate documents a donation counts in. */
export function aggregateIds(d: DonationDoc) {
	const owner = d.recipientId;
	const day = dayOf(d.paidAt ?? d.createdAt);
	const donor = donorKey(d).key;
	return {
		total: `total:${owner}:${d.currency}`,
		day: `day:${owner}:${d.currency}:${day}`,
		donor: `donor:${owner}:${d.currency}:${donor}`,
		donorday: `donorday:${owner}:${d.currency}:${day}:${donor}`,
		recent: `recent:${owner}`,
	};
}

/** The marker of a donation's update in an aggregate document. */
export function aggregateMark(d: Pick<DonationDoc, "_id">, sign: Sign): string {
	return `${sign > 0 ? "applied" : "reverted"}.${d._id}`;
}

/** One conditional aggregate update: the document (query) and what the donation adds to it. */
export interface AggregateUpdate {
	query: Record<string, unknown>;
	update: Record<string, Record<string, unknown>>;
}

/** The counted aggregates (total, day, donor, donor-day) a donation moves by `sign`, in the order they are written. */
export function countedUpdates(d: DonationDoc, sign: Sign): AggregateUpdate[] {
	const owner = d.recipientId;
	const day = dayOf(d.paidAt ?? d.createdAt);
	const donor = donorKey(d);
	const amount = sign * d.amount;
	const ids = aggregateIds(d);
	const inc = { amount, count: sign };
	return [
		{ query: { _id: ids.total, owner, kind: "total", currency: d.currency }, update: { $inc: inc } },
		{ query: { _id: ids.day, owner, kind: "day", currency: d.currency, day }, update: { $inc: inc } },
		{ query: { _id: ids.donor, owner, kind: "donor", currency: d.currency, donor: donor.key }, update: { $inc: inc, $set: { name: donor.name } } },
		{
			query: { _id: ids.donorday, owner, kind: "donorday", currency: d.currency, day, donor: donor.key },
			update: { $inc: inc, $set: { name: donor.name } },
		},
	];
}

/** A paid donation's entry in the recent list. */
export function recentItem(d: DonationDoc): RecentItem {
	return {
		id: d._id,
		donorName: donorKey(d).name,
		amount: d.amount,
		currency: d.currency,
		formattedAmount: formatMoney(d.amount, d.currency),
		message: d.publicMessage ?? d.message,
		paidAt: d.paidAt ?? d.createdAt,
	};
}

export interface Total {
	currency: string;
	amount: number;
	count: number;
}
export interface DonorTotal extends Total {
	name: string;
}

/** Sums day (or donor-day) rows per currency (and donor): the totals of a period. */
export function sumTotals(rows: AggregateDoc[]): Total[] {
	const byCur = new Map<string, Total>();
	for (const r of rows) {
		const t = byCur.get(r.currency!) ?? { currency: r.currency!, amount: 0, count: 0 };
		t.amount += r.amount ?? 0;
		t.count += r.count ?? 0;
		byCur.set(r.currency!, t);
	}
	return [...byCur.values()];
}

export function sumDonors(rows: AggregateDoc[]): DonorTotal[] {
	const byDonor = new Map<string, DonorTotal>();
	for (const r of rows) {
		const k = `${r.currency}:${r.donor}`;
		const t = byDonor.get(k) ?? { name: r.name!, amount: 0, currency: r.currency!, count: 0 };
		t.amount += r.amount ?? 0;
		t.count += r.count ?? 0;
		t.name = r.name!;
		byDonor.set(k, t);
	}
	return [...byDonor.values()];
}

/** The shown totals (counted ones) and the top ten donors, formatted. */
export function statsView(totals: Total[], donors: DonorTotal[]) {
	return {
		totals: totals.filter((t) => t.count > 0).map((t) => ({ ...t, formattedAmount: formatMoney(t.amount, t.currency) })),
		topDonors: donors
			.filter((d) => d.count > 0 && d.amount > 0)
			.sort((a, b) => b.amount - a.amount || b.count - a.count)
			.slice(0, 10)
			.map((d) => ({ name: d.name, amount: d.amount, currency: d.currency, count: d.count, formattedAmount: formatMoney(d.amount, d.currency) })),
	};
}

/** A channel's paid support over a period (explore): donations counted, amounts per currency. */
export interface RecipientSupport {
	owner: string;
	donations: number;
	totals: (Total & { formattedAmount: string })[];
}

/** Day rows of many channels → the `limit` channels with the most donations, most first (ties by owner id). */
export function topRecipients(dayRows: AggregateDoc[], limit: number): RecipientSupport[] {
	const byOwner = new Map<string, AggregateDoc[]>();
	for (const r of dayRows) {
		if (r.kind !== "day") continue;
		const list = byOwner.get(r.owner) ?? [];
		list.push(r);
		byOwner.set(r.owner, list);
	}
	const out: RecipientSupport[] = [];
	for (const [owner, rows] of byOwner) {
		const totals = statsView(sumTotals(rows), []).totals;
		const donations = totals.reduce((n, t) => n + t.count, 0);
		if (donations > 0) out.push({ owner, donations, totals });
	}
	return out.sort((a, b) => b.donations - a.donations || (a.owner < b.owner ? -1 : 1)).slice(0, limit);
}
