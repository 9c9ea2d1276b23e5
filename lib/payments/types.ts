/**
 * The shape every payment provider module implements. Providers are plain TypeScript with no
 * broker: the payments service owns storage, deduplication and the state machine; a provider only
 * talks to its API, verifies its webhooks and maps its vocabulary onto our statuses.
 */

export type PaymentStatus = "pending" | "paid" | "failed" | "expired" | "refunded" | "reversed";

export const PAYMENT_STATUSES: PaymentStatus[] = ["pending", "paid", "failed", "expired", "refunded", "reversed"];

export type ProviderName = "sandbox" | "stripe" | "midtrans" | "paypal";

export const PROVIDER_NAMES: ProviderName[] = ["sandbox", "stripe", "midtrans", "paypal"];

export interface CreatePaymentInput {
	/** Our payment id: the provider's order id / reference / idempotency key. */
	paymentId: string;
	donationId: string;
	/** Integer minor units. */
	amount: number;
	currency: string;
	method?: string;
	bank?: string;
	donorName?: string;
	email?: string;
	description?: string;
	/** Where the payer lands after a hosted checkout (success and cancel). */
	resultUrl: string;
	/** When our side will expire the payment if it is still pending. */
	expiresAt: Date;
}

export type PaymentAction =
	| { type: "redirect"; url: string; token?: string }
	| { type: "qris"; qrString: string; qrUrl?: string; url?: string }
	| { type: "bank_transfer"; bank: string; vaNumber: string };

export interface CreatedPayment {
	/** The provider's id for this payment (session, order, transaction), when it has one. */
	providerRef?: string;
	action: PaymentAction;
	/** The provider's own expiry, when it differs from ours. */
	expiresAt?: Date;
	raw?: unknown;
}

export interface ProviderEvent {
	/** Unique per provider: the dedupe key is `${provider}:${eventId}`. */
	eventId: string;
	/** Our payment id when the event carries it (metadata, order_id, custom_id). */
	paymentId?: string;
	/** Provider-side references that identify the payment when our id is absent. */
	providerRefs?: string[];
	status: PaymentStatus;
	/** Status to apply instead when the payment is already paid (Midtrans: deny after capture). */
	ifPaid?: PaymentStatus;
	/** Settled amount and currency, checked against the payment before it counts as paid. */
	amount?: number;
	currency?: string;
	/** Provider references learned from this event, remembered on the payment. */
	learnedRefs?: string[];
	type?: string;
}

export interface PaymentRef {
	id: string;
	/** The reference createPayment returned (session, order, transaction). */
	providerRef?: string;
	/** Every provider reference known for the payment (the primary one and those learned later). */
	providerRefs: string[];
	amount: number;
	currency: string;
}

export interface PaymentProvider {
	readonly name: ProviderName;
	/** Creates the payment at the provider and says what the payer must do next. */
	createPayment(input: CreatePaymentInput): Promise<CreatedPayment>;
	/** Verifies a webhook delivery; throws WebhookSignatureError when it is not authentic. */
	verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]>;
	/** Maps one verified event onto our vocabulary; null for event types we do not act on. */
	parseEvent(event: unknown): ProviderEvent | null;
	/** Asks the provider for the current status (reconciliation). */
	fetchStatus?(payment: PaymentRef): Promise<ProviderEvent | null>;
	/** Captures an approved payment (PayPal). */
	capture?(payment: PaymentRef, providerRef: string): Promise<ProviderEvent | null>;
	/** Refunds a paid payment in full; the final status arrives by webhook (or is returned). */
	refund?(payment: PaymentRef): Promise<ProviderEvent | null>;
}

/** A webhook that is not authentic: missing, malformed or wrong signature. Nothing may change. */
export class WebhookSignatureError extends Error {
	constructor(readonly reason: string) {
		super(`Webhook signature is not valid (${reason})`);
		this.name = "WebhookSignatureError";
	}
}

/** A verified webhook whose body cannot be understood. */
export class WebhookPayloadError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "WebhookPayloadError";
	}
}

/** The payer or donation cannot use this provider (currency, method, bank): a 422 for the caller. */
export class PaymentInputError extends Error {
	constructor(
		readonly field: string,
		message: string,
		readonly type = "VALIDATION_ERROR",
	) {
		super(message);
		this.name = "PaymentInputError";
	}
}

/** The provider's API failed or did not answer in time: the caller may retry (503). */
export class ProviderError extends Error {
	constructor(
		readonly provider: string,
		message: string,
		readonly httpStatus?: number,
		readonly body?: unknown,
	) {
		super(message);
		this.name = "ProviderError";
	}
}

export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
	const v = headers[name] ?? headers[name.toLowerCase()];
	return Array.isArray(v) ? v[0] : v;
}

export function parseJson(rawBody: string): any {
	try {
		return JSON.parse(rawBody);
	} catch {
		throw new WebhookPayloadError("Webhook body is not valid JSON");
	}
}
