/**
 * The payout state machine (API.md "Payouts"):
 *
 *     requested → approved → processing → paid | failed
 *     requested → cancelled | rejected
 *
 * An approved payout the provider refuses at once fails without reaching `processing`. Every
 * move is applied as a conditional update on the current status (services/payouts), so of two
 * moves racing from one status exactly one wins. Cancelled, rejected and failed payouts give the
 * amount back to the ledger (`payout_reversal`), once.
 */

export type PayoutStatus = "requested" | "approved" | "processing" | "paid" | "failed" | "cancelled" | "rejected";

export const PAYOUT_STATUSES: PayoutStatus[] = ["requested", "approved", "processing", "paid", "failed", "cancelled", "rejected"];

const NEXT: Record<PayoutStatus, PayoutStatus[]> = {
	requested: ["approved", "cancelled", "rejected"],
	approved: ["processing", "failed"],
	processing: ["paid", "failed"],
	paid: [],
	failed: [],
	cancelled: [],
	rejected: [],
};

export function canMove(from: PayoutStatus, to: PayoutStatus): boolean {
	return NEXT[from].includes(to);
}

/** The statuses a payout may move to `to` from (the condition of the update). */
export function sourcesOf(to: PayoutStatus): PayoutStatus[] {
	return PAYOUT_STATUSES.filter((s) => NEXT[s].includes(to));
}

export function isFinal(s: PayoutStatus): boolean {
	return NEXT[s].length === 0;
}

/** Still holding money on its way out (counted in `pendingPayouts`). */
export function isOpen(s: PayoutStatus): boolean {
	return !isFinal(s);
}

/** Ends with the amount credited back to the ledger. */
export function reverses(s: PayoutStatus): boolean {
	return s === "cancelled" || s === "rejected" || s === "failed";
}

/** What the owner is told about (notifications, integrator webhooks, the `payouts.*` channels). */
export function announces(s: PayoutStatus): s is "paid" | "failed" {
	return s === "paid" || s === "failed";
}
