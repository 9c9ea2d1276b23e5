/**
 * Payout accounts: where a creator's money goes. The number or email is sealed at rest
 * (services/payouts) and shown only masked, `****6789` (the last four characters), in every
 * response and log line.
 */

/** `stripe`: a connected Stripe account (`accountNumber: "acct_…"`), paid by Stripe Connect transfers. */
export type PayoutMethod = "bank" | "ewallet" | "paypal" | "stripe";
export const PAYOUT_METHODS: PayoutMethod[] = ["bank", "ewallet", "paypal", "stripe"];

export interface AccountInput {
	method: PayoutMethod;
	currency: string;
	holderName: string;
	bankCode?: string;
	accountNumber?: string;
	email?: string;
}

/** The secret part of an account (sealed). */
export interface AccountSecret {
	accountNumber?: string;
	email?: string;
}

/** `****` and the last four characters (all of a shorter value is hidden). */
export function mask(value: string | undefined | null): string | null {
	if (!value) return null;
	return value.length <= 4 ? "****" : `****${value.slice(-4)}`;
}

/** The field a method needs that is missing, as a validation entry, or null. */
export function accountProblem(a: AccountInput): { field: string; message: string } | null {
	if (a.method === "paypal") return a.email ? null : { field: "email", message: "A PayPal payout account needs the PayPal email" };
	if (a.method === "stripe")
		return /^acct_[A-Za-z0-9]{4,60}$/.test(a.accountNumber ?? "")
			? null
			: { field: "accountNumber", message: "A Stripe payout account is the connected account's id (acct_…)" };
	if (!a.accountNumber || !/^[0-9+\- ]{4,40}$/.test(a.accountNumber))
		return { field: "accountNumber", message: `A ${a.method} payout account needs its number` };
	if (!a.bankCode) return { field: "bankCode", message: a.method === "bank" ? "A bank account needs its bank code" : "An e-wallet needs its provider code" };
	return null;
}

/** What is sealed, and the masked form shown. */
export function splitSecret(a: AccountInput): { secret: AccountSecret; masked: string } {
	const secret: AccountSecret = a.method === "paypal" ? { email: a.email } : { accountNumber: a.accountNumber };
	return { secret, masked: mask(secret.email ?? secret.accountNumber)! };
}
