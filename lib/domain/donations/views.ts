import { formatMoney } from "../money";
import type { DonationDoc, GoalDoc, LedgerEntry } from "./types";

/** A donation as its donor, its recipient and the API see it (the public name and message). */
export function donationView(d: DonationDoc) {
	return {
		id: d._id,
		to: d.recipientUsername,
		recipientId: d.recipientId,
		recipientUsername: d.recipientUsername,
		donorId: d.donorId,
		donorName: d.hideName ? "Anonymous" : (d.publicDonorName ?? d.donorName),
		hideName: d.hideName,
		message: d.publicMessage ?? d.message,
		mediaUrl: d.mediaUrl,
		mediaSeconds: d.mediaSeconds,
		amount: d.amount,
		currency: d.currency,
		formattedAmount: formatMoney(d.amount, d.currency),
		provider: d.provider,
		paymentId: d.paymentId,
		status: d.status,
		refundedAmount: d.refundedAmount ?? 0,
		createdAt: d.createdAt,
		paidAt: d.paidAt,
	};
}

export type DonationView = ReturnType<typeof donationView>;

/** The internal form sent on channels: the view plus the unmasked message for moderation. */
export function channelView(d: DonationDoc) {
	return { ...donationView(d), originalMessage: d.message, donorDisplayName: d.donorName };
}

export function goalView(goal: GoalDoc | null | undefined) {
	if (!goal) return null;
	return {
		title: goal.title,
		target: goal.target,
		current: goal.current,
		currency: goal.currency,
		formattedTarget: formatMoney(goal.target, goal.currency),
		formattedCurrent: formatMoney(goal.current, goal.currency),
		startingAmount: goal.startingAmount ?? 0,
		startedAt: goal.startedAt,
	};
}

export type GoalView = ReturnType<typeof goalView>;

export function ledgerEntryView(e: LedgerEntry) {
	return {
		id: e._id,
		donationId: e.donationId ?? null,
		payoutId: e.payoutId ?? null,
		kind: e.kind,
		amount: e.amount,
		gross: e.gross,
		fee: e.fee,
		currency: e.currency,
		createdAt: e.createdAt,
	};
}

/** The balance per currency: the sum of the ledger's entries, sorted by currency. */
export function balances(entries: Pick<LedgerEntry, "currency" | "amount">[]) {
	const sums = new Map<string, number>();
	for (const e of entries) sums.set(e.currency, (sums.get(e.currency) ?? 0) + e.amount);
	return [...sums]
		.map(([currency, amount]) => ({ currency, amount, formattedAmount: formatMoney(amount, currency) }))
		.sort((a, b) => a.currency.localeCompare(b.currency));
}
