import { feeFor } from "../money";
import type { LedgerEntry } from "./types";

/**
 * Ledger rules (pure): the ledger is append-only, one entry per unique key; a refund books only
 * the increment over what is already booked, under a key naming the level it starts from.
 */

/** What a ledger entry needs of its donation. */
export interface LedgerDonation {
	_id: string;
	recipientId: string;
	amount: number;
	currency: string;
}

/** The part of the platform fee that belongs to `gross` of the donation (all of it at the full amount). */
export function feeAt(amount: number, feeBps: number, gross: number): number {
	const fee = feeFor(amount, feeBps);
	return gross >= amount ? fee : Math.round((fee * gross) / amount);
}

/** What the ledger holds as refunded for a donation: its debits less reinstatement credits (gross). */
export function refundedOf(entries: Pick<LedgerEntry, "kind" | "gross">[]): number {
	return entries.reduce((a, e) => (e.kind === "debit" || e.kind === "reinstatement" ? a - e.gross : a), 0);
}

/** The key of the debit that raises the refunded part from `booked` (`<id>:debit` for the first, as a full refund always had). */
export function debitKey(donationId: string, generation: number, booked: number): string {
	return generation === 0 && booked === 0 ? `${donationId}:debit` : `${donationId}:debit:${generation}:${booked}`;
}

/** The refunded total a message asks for, within 0..amount. */
export function refundTarget(total: number, amount: number): number {
	return Math.min(Math.max(total, 0), amount);
}
