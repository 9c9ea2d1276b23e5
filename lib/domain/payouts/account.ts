/**
 * Payout accounts: where a creator's money goes. The number or email is sealed at rest
 * (services/payouts) and shown only masked, `****6789` (the last four characters), in every
 * response and log line.
 */

export type PayoutMethod = "bank" | "ewallet" | "paypal";
export const PAYOUT_METHODS: PayoutMethod[] = ["bank", "ewallet", "paypal"];

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
	if (!a.accountNumber) return { field: "accountNumber", message: `A ${a.method} payout account needs its number` };
	if (!a.bankCode) return { field: "bankCode", message: a.method === "bank" ? "A bank account needs its bank code" : "An e-wallet needs its provider code" };
	return null;
}

/** What is sealed, and the masked form shown. */
export function splitSecret(a: AccountInput): { secret: AccountSecret; masked: string } {
	const secret: AccountSecret = a.method === "paypal" ? { email: a.email } : { accountNumber: a.accountNumber };
	return { secret, masked: mask(secret.email ?? secret.accountNumber)! };
}
