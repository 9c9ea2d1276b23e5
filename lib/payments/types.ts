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
	/**
	 * When the payment was first made (from its id): anything derived from time (Stripe's
	 * `expires_at`) is derived from this, so a retried request is byte-identical.
	 */
	createdAt: Date;
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
	/**
	 * For refunds and chargebacks: the total refunded / charged back so far, as the provider
	 * reports it (cumulative, minor units). Below the payment's amount it is a partial refund:
	 * the payment stays paid and the difference to what was booked is debited. Absent: in full.
	 */
	refundedTotal?: number;
	/** A won dispute: the funds come back, a reversed payment is paid again. */
	reinstate?: boolean;
	/** The payer approved at the provider and the payment must be captured now (PayPal order id). */
	captureRef?: string;
}

export interface PaymentRef {
	id: string;
	/** The reference createPayment returned (session, order, transaction). */
	providerRef?: string;
	/** Every provider reference known for the payment (the primary one and those learned later). */
	providerRefs: string[];
	amount: number;
	currency: string;
	/** The payer's next step as last given (PayPal: the approval link to send them back to). */
	action?: PaymentAction;
	/** Refunded so far (partial refunds): a refund is of what remains. */
	refundedAmount?: number;
}

/** One refund asked of a provider. */
export interface RefundRequest {
	/** Minor units, 1..what remains unrefunded. */
	amount: number;
	/** Idempotency key sent to the provider: the same key never refunds twice. */
	key: string;
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
	/**
	 * Refunds `amount` (minor units, at most what remains) of a paid payment; `key` is the
	 * provider idempotency key of this refund. The final status arrives by webhook (or is returned).
	 */
	refund?(payment: PaymentRef, refund: RefundRequest): Promise<ProviderEvent | null>;
	/**
	 * Confirms a verified notification with the provider's API when its signature does not
	 * cover the status (Midtrans): the event to apply, built from the provider's answer.
	 */
	confirm?(event: unknown): Promise<ProviderEvent | null>;
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

/**
 * The provider refused the request as a bad one (validation, a refund it cannot make, a state
 * that does not allow it): retrying the same request cannot help, so the caller gets a 4xx with
 * the provider's reason (422 `PROVIDER_REFUSED`, or 409 when the payment's state is the reason).
 */
export class ProviderRefusedError extends Error {
	constructor(
		readonly provider: string,
		message: string,
		readonly reason: string,
		readonly conflict = false,
	) {
		super(message);
		this.name = "ProviderRefusedError";
	}
}

/**
 * The payer must act at the provider before the payment can go on (PayPal: INSTRUMENT_DECLINED,
 * PAYER_ACTION_REQUIRED, REDIRECT_PAYER_FOR_ALTERNATE_FUNDING): send them to `action`.
 */
export class PayerActionRequired extends Error {
	constructor(
		readonly provider: string,
		readonly issue: string,
		readonly action: PaymentAction,
	) {
		super(`${provider}: the payer must act (${issue})`);
		this.name = "PayerActionRequired";
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

export function parseJson(rawBody: string): unknown {
	try {
		return JSON.parse(rawBody);
	} catch {
		throw new WebhookPayloadError("Webhook body is not valid JSON");
	}
}
