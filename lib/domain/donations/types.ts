/**
 * The stored shapes of the donations context (collections `donations`, `ledger`,
 * `donation_aggregates`, `goals`). Existing rows keep these shapes: fields are only ever added.
 */

export type DonationStatus = "pending" | "paid" | "failed" | "expired" | "refunded" | "reversed";

export const DONATION_STATUSES: DonationStatus[] = ["pending", "paid", "failed", "expired", "refunded", "reversed"];

/** What each effect of a status change has done (recorded on the donation, see donations.service.ts). */
export interface DonationEffects {
	credited?: boolean;
	aggregated?: boolean;
	announced?: boolean;
	debited?: boolean;
	deaggregated?: boolean;
	reversalAnnounced?: boolean;
	aggregationLease?: number;
	deaggregationLease?: number;
}

export interface DonationDoc {
	_id: string;
	recipientId: string;
	recipientUsername: string;
	donorId: string | null;
	donorName: string;
	hideName: boolean;
	message: string;
	/** The message as shown publicly (blocked terms masked). */
	publicMessage: string;
	/** The donor name as shown publicly (blocked terms masked); older rows have none. */
	publicDonorName?: string;
	mediaUrl: string | null;
	mediaSeconds: number | null;
	amount: number;
	currency: string;
	provider: string;
	paymentId: string | null;
	status: DonationStatus;
	createdAt: string;
	paidAt: string | null;
	statusAt: string;
	effects: DonationEffects;
	/** Refunded / charged back so far, as booked in the ledger (a partial refund keeps it paid). */
	refundedAmount?: number;
	/** Times a won dispute made this reversed donation paid again (the payment's count, as last applied). */
	reinstatements?: number;
	goalId?: string | null;
	/** Present (true) while the effects of the last status change are not all applied (lib/db/outbox.ts). */
	effectsDue?: true;
}

/** Donations book credit, debit and reinstatement; payouts book payout (negative) and payout_reversal. */
export type LedgerKind = "credit" | "debit" | "reinstatement" | "payout" | "payout_reversal";

/**
 * One append-only ledger entry; `key` is unique (`<id>:credit`, `<id>:debit…`, `<id>:reinstatement:<n>`,
 * and for payouts `<payout id>:payout`, `<payout id>:payout_reversal`).
 */
export interface LedgerEntry {
	_id: string;
	key: string;
	userId: string;
	/** The donation of a credit, debit or reinstatement. */
	donationId?: string;
	/** The payout of a payout or payout_reversal entry. */
	payoutId?: string;
	kind: LedgerKind;
	/** Net of the fee (negative for a debit). */
	amount: number;
	gross: number;
	fee: number;
	currency: string;
	createdAt: string;
}

export interface RecentItem {
	id: string;
	donorName: string;
	amount: number;
	currency: string;
	formattedAmount: string;
	message: string;
	paidAt: string;
}

/**
 * One maintained aggregate of a channel: `total:<owner>:<cur>`, `day:…:<day>`, `donor:…:<donor>`,
 * `donorday:…`, `recent:<owner>`. `applied` / `reverted` hold the markers of donations whose update
 * is in it and not yet forgotten.
 */
export interface AggregateDoc {
	_id: string;
	owner: string;
	kind: "total" | "day" | "donor" | "donorday" | "recent";
	currency?: string;
	day?: string;
	donor?: string;
	name?: string;
	amount?: number;
	count?: number;
	items?: RecentItem[];
	applied?: Record<string, true>;
	reverted?: Record<string, true>;
}

/** A channel's goal (`_id` is the owner); `goalId` changes when the goal is replaced. */
export interface GoalDoc {
	_id: string;
	goalId: string;
	title: string;
	target: number;
	currency: string;
	current: number;
	/** What the goal started from (`PUT /me/goal` `startingAmount`; 0 when not given). */
	startingAmount?: number;
	startedAt: string;
	updatedAt: string;
	applied?: Record<string, true>;
	reverted?: Record<string, true>;
}

/** The refunded part and the generation a payment status carries (payments.statusChanged). */
export interface Refund {
	refundedAmount?: number;
	reinstatements?: number;
}

/** A payments.statusChanged message. */
export interface PaymentStatusMessage extends Refund {
	donationId: string;
	paymentId: string;
	status: string;
}

/** What payments.create answers for a new donation's payment. */
export interface PaymentOpened {
	id: string;
	provider: string;
	status: string;
	action: unknown;
}
