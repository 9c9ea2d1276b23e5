import { formatMoney } from "../money";
import type { PayoutMethod } from "./account";
import type { PayoutStatus } from "./state";

/**
 * The stored shapes of the payouts context (collections `payouts`, `payout_accounts`,
 * `payout_sandbox_deliveries`) and their views. Fields are only ever added.
 */

/** What each effect of a payout's current status has done (services/payouts drives them). */
export interface PayoutEffects {
	/** The ledger debit (`<id>:payout`), booked with the request. */
	debited?: boolean;
	/** The order went to the provider (approved → processing). */
	submitted?: boolean;
	/** The ledger credit back (`<id>:payout_reversal`) of a cancelled, rejected or failed payout. */
	reversed?: boolean;
	/** `payouts.paid` / `payouts.failed` sent (notifications, integrator webhooks, events socket). */
	announced?: boolean;
	/** Until when (ms) one drive holds the announcement: two drives racing send it once. */
	announceLease?: number;
}

/** The account a payout goes to, as it was when requested (the secret part sealed). */
export interface AccountSnapshot {
	method: PayoutMethod;
	holderName: string;
	bankCode: string | null;
	/** `****6789`: the only form of the number or email that is ever shown or logged. */
	masked: string;
	/** lib/tools/sealed.ts, bound to the owner's id. */
	sealed: string;
}

export interface PayoutDoc {
	_id: string;
	userId: string;
	username: string;
	status: PayoutStatus;
	amount: number;
	currency: string;
	fee: number;
	net: number;
	provider: string;
	providerRef: string | null;
	account: AccountSnapshot;
	/** `<user>:<currency>` while the payout is open: one open payout per user and currency (unique, sparse). */
	openSlot?: string;
	/** Why an operator rejected it. */
	reason: string | null;
	/** Why the provider failed it. */
	failureReason: string | null;
	/** The operator who approved it (`auto` below PAYOUT_AUTO_APPROVE_MAX_<CURRENCY>). */
	approvedBy: string | null;
	rejectedBy: string | null;
	createdAt: string;
	statusAt: string;
	/** Counts every status change: a re-drive clears the outbox mark only if nothing moved meanwhile. */
	rev: number;
	effects: PayoutEffects;
	effectsDue?: true;
}

export interface PayoutAccountDoc {
	/** The owner's user id: one account per user. */
	_id: string;
	method: PayoutMethod;
	currency: string;
	holderName: string;
	bankCode: string | null;
	masked: string;
	sealed: string;
	createdAt: string;
	updatedAt: string;
	/** Payouts may go to this account from then on (ms): PAYOUT_ACCOUNT_COOLDOWN_SEC after each change. */
	usableAt: number;
}

export interface SandboxPayoutDelivery {
	_id: string;
	payoutId: string;
	url: string;
	event: { event_id: string; payout_id: string; status: "paid" | "failed" };
	attempts: number;
	nextAt: number;
	createdAt: string;
}

function maskedFields(a: { method: PayoutMethod; masked: string }) {
	return a.method === "paypal" ? { email: a.masked } : { accountNumber: a.masked };
}

export function accountView(a: PayoutAccountDoc, now = Date.now()) {
	return {
		method: a.method,
		currency: a.currency,
		holderName: a.holderName,
		bankCode: a.bankCode,
		...maskedFields(a),
		usableAt: new Date(a.usableAt).toISOString(),
		coolingDown: a.usableAt > now,
		updatedAt: a.updatedAt,
	};
}

export function payoutView(p: PayoutDoc) {
	return {
		id: p._id,
		status: p.status,
		amount: p.amount,
		currency: p.currency,
		fee: p.fee,
		net: p.net,
		formattedAmount: formatMoney(p.amount, p.currency),
		formattedNet: formatMoney(p.net, p.currency),
		provider: p.provider,
		account: { method: p.account.method, holderName: p.account.holderName, bankCode: p.account.bankCode, ...maskedFields(p.account) },
		reason: p.reason,
		failureReason: p.failureReason,
		createdAt: p.createdAt,
		statusAt: p.statusAt,
		paidAt: p.status === "paid" ? p.statusAt : null,
	};
}

export type PayoutView = ReturnType<typeof payoutView>;

/** What operators see: the view and whose payout it is. */
export function adminPayoutView(p: PayoutDoc) {
	return { ...payoutView(p), userId: p.userId, username: p.username, approvedBy: p.approvedBy, rejectedBy: p.rejectedBy };
}

/** What `payouts.paid` / `payouts.failed` carry (notifications, integrator webhooks, the events socket). */
export function payoutMessage(p: PayoutDoc) {
	return { payout: { ...payoutView(p), userId: p.userId, username: p.username } };
}

export type PayoutMessage = ReturnType<typeof payoutMessage>;
