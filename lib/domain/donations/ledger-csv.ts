import { toMajorString } from "../money";
import type { LedgerEntry } from "./types";

/**
 * The ledger as CSV for a creator's own bookkeeping (`GET /api/me/ledger.csv`): one row per
 * entry, oldest first, amounts signed in major units with the running balance per currency, so
 * the last row of each currency is the balance.
 */
export const LEDGER_CSV_HEADER = ["date", "kind", "currency", "amount", "gross", "fee", "balance", "donation_id", "payout_id", "entry_id"];

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet never runs it as a formula. */
function cell(v: string): string {
	const safe = /^[=+\-@\t\r]/.test(v) && !/^-?\d+(\.\d+)?$/.test(v) ? `'${v}` : v;
	return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function ledgerCsv(
	entries: Pick<LedgerEntry, "_id" | "kind" | "currency" | "amount" | "gross" | "fee" | "createdAt" | "donationId" | "payoutId">[],
): string {
	const sorted = [...entries].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a._id.localeCompare(b._id));
	const running = new Map<string, number>();
	const lines = [LEDGER_CSV_HEADER.join(",")];
	for (const e of sorted) {
		const balance = (running.get(e.currency) ?? 0) + e.amount;
		running.set(e.currency, balance);
		const m = (n: number) => toMajorString(n, e.currency);
		lines.push(
			[e.createdAt, e.kind, e.currency, m(e.amount), m(e.gross), m(e.fee), m(balance), e.donationId ?? "", e.payoutId ?? "", e._id].map(cell).join(","),
		);
	}
	return `${lines.join("\r\n")}\r\n`;
}
