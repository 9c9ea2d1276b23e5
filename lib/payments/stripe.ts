import { verify } from "../tools/signature";
import { expectOk, formEncode, providerFetch } from "./http";
import {
	headerValue,
	parseJson,
	PaymentInputError,
	ProviderError,
	WebhookSignatureError,
	type CreatePaymentInput,
	type CreatedPayment,
	type PaymentProvider,
	type PaymentRef,
	type RefundRequest,
	type ProviderEvent,
} from "./types";

/**
 * Stripe Checkout. createPayment opens a Checkout Session through the REST API (form-encoded,
 * Bearer secret key, our payment id as the Idempotency-Key so a retried call cannot open a second
 * session) and redirects the payer to its URL. Our payment id travels as client_reference_id and
 * as metadata on the session and its PaymentIntent, so every later event can be matched.
 * Webhooks carry `Stripe-Signature: t=..,v1=..` checked with lib/tools/signature.ts.
 */

export interface StripeOptions {
	secretKey: string;
	webhookSecret?: string;
	apiBase: string;
	toleranceSec?: number;
}

/**
 * Stripe refuses a Checkout Session that expires sooner than 30 minutes or later than 24 hours
 * after it is created. `expires_at` is counted from the payment's own creation time (so every
 * retry sends the same value: Stripe answers 400 `idempotency_error` to a retry whose parameters
 * differ), with room for a retry a few minutes later.
 */
const MIN_SESSION_SEC = 30 * 60 + 5 * 60;
const MAX_SESSION_SEC = 24 * 3600 - 60;

/**
 * The API version every request pins (`Stripe-Version`): the one the `stripe` npm SDK we test
 * against pins (stripe@23: `2026-10-28.endive`), so the objects our webhooks and calls see have
 * the shapes its types describe, whatever the account's default version is.
 */
export const STRIPE_API_VERSION = "2026-10-28.endive";

/** Dispute statuses of an inquiry (no funds withdrawn yet): `warning_needs_response`, `warning_under_review`, `warning_closed`. */
const isInquiry = (status: unknown) => typeof status === "string" && status.startsWith("warning_");

/**
 * The parts of a Stripe object this client reads from events and API answers (a Checkout Session,
 * a PaymentIntent, a Charge or a Dispute); every field may be absent.
 */
interface StripeObject {
	id?: string;
	object?: string;
	status?: string;
	payment_status?: string;
	payment_intent?: string | { id?: string } | null;
	metadata?: { payment_id?: string };
	client_reference_id?: string | null;
	amount?: number;
	amount_total?: number;
	amount_received?: number;
	amount_refunded?: number;
	refunded?: boolean;
	currency?: string;
	charge?: string;
}

export class StripeProvider implements PaymentProvider {
	readonly name = "stripe" as const;

	constructor(private readonly opts: StripeOptions) {}

	private headers(extra: Record<string, string> = {}) {
		return {
			Authorization: `Bearer ${this.opts.secretKey}`,
			"Content-Type": "application/x-www-form-urlencoded",
			"Stripe-Version": STRIPE_API_VERSION,
			...extra,
		};
	}

	async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
		const createdSec = Math.floor(input.createdAt.getTime() / 1000);
		const wanted = Math.floor(input.expiresAt.getTime() / 1000) - createdSec;
		const expiresAt = createdSec + Math.min(Math.max(wanted, MIN_SESSION_SEC), MAX_SESSION_SEC);
		const form = formEncode({
			mode: "payment",
			client_reference_id: input.paymentId,
			success_url: `${input.resultUrl}${input.resultUrl.includes("?") ? "&" : "?"}session_id={CHECKOUT_SESSION_ID}`,
			cancel_url: input.resultUrl,
			customer_email: input.email,
			expires_at: expiresAt,
			metadata: { payment_id: input.paymentId, donation_id: input.donationId },
			payment_intent_data: { metadata: { payment_id: input.paymentId, donation_id: input.donationId } },
			line_items: [
				{
					quantity: 1,
					price_data: {
						currency: input.currency.toLowerCase(),
						unit_amount: input.amount,
						product_data: { name: input.description || "Donation" },
					},
				},
			],
		}).replace(/%7BCHECKOUT_SESSION_ID%7D/g, "{CHECKOUT_SESSION_ID}");
		const res = expectOk(
			"stripe",
			"create checkout session",
			await providerFetch("stripe", `${this.opts.apiBase}/v1/checkout/sessions`, {
				method: "POST",
				headers: this.headers({ "Idempotency-Key": input.paymentId }),
				body: form,
			}),
		);
		const session = res.body as { id?: string; url?: string; expires_at?: number };
		if (!session?.id || !session.url) throw new ProviderError("stripe", "Stripe answered without a session id or url", res.status);
		return {
			providerRef: session.id,
			action: { type: "redirect", url: session.url },
			expiresAt: new Date((session.expires_at ?? expiresAt) * 1000),
			raw: { id: session.id },
		};
	}

	async verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]> {
		if (!this.opts.webhookSecret) throw new WebhookSignatureError("webhook_secret_not_configured");
		const check = verify(headerValue(headers, "stripe-signature"), rawBody, this.opts.webhookSecret, { toleranceSec: this.opts.toleranceSec });
		if (!check.ok) throw new WebhookSignatureError(check.reason);
		return [parseJson(rawBody)];
	}

	parseEvent(event: unknown): ProviderEvent | null {
		const e = event as { id?: string; type?: string; data?: { object?: StripeObject } };
		if (!e || typeof e.id !== "string" || typeof e.type !== "string") return null;
		const obj: StripeObject = e.data?.object ?? {};
		const base = { eventId: e.id, type: e.type };
		const pi = typeof obj.payment_intent === "string" ? obj.payment_intent : obj.payment_intent?.id;
		const ourId: string | undefined = obj.metadata?.payment_id || obj.client_reference_id || undefined;
		switch (e.type) {
			case "checkout.session.completed":
			case "checkout.session.async_payment_succeeded":
			case "checkout.session.async_payment_failed":
			case "checkout.session.expired": {
				const refs = [obj.id, pi].filter((x): x is string => typeof x === "string");
				let status: ProviderEvent["status"];
				if (e.type === "checkout.session.expired") status = "expired";
				else if (e.type === "checkout.session.async_payment_failed") status = "failed";
				else status = obj.payment_status === "paid" || obj.payment_status === "no_payment_required" ? "paid" : "pending";
				return {
					...base,
					paymentId: ourId,
					providerRefs: refs,
					learnedRefs: pi ? [pi] : [],
					status,
					amount: typeof obj.amount_total === "number" ? obj.amount_total : undefined,
					currency: typeof obj.currency === "string" ? obj.currency.toUpperCase() : undefined,
				};
			}
			case "payment_intent.succeeded":
				return {
					...base,
					paymentId: ourId,
					providerRefs: [obj.id].filter((x): x is string => Boolean(x)),
					// Remembered so a refund (which needs the PaymentIntent) works for this payment.
					learnedRefs: typeof obj.id === "string" ? [obj.id] : [],
					status: "paid",
					amount: typeof obj.amount_received === "number" ? obj.amount_received : undefined,
					currency: typeof obj.currency === "string" ? obj.currency.toUpperCase() : undefined,
				};
			case "payment_intent.payment_failed":
				// A declined attempt is not final: the payer may try another card in the same
				// Checkout Session. Only the session's expiry fails the payment.
				return {
					...base,
					paymentId: ourId,
					providerRefs: [obj.id].filter((x): x is string => Boolean(x)),
					learnedRefs: typeof obj.id === "string" ? [obj.id] : [],
					status: "pending",
				};
			case "charge.refunded": {
				// amount_refunded is cumulative: below the charge's amount it is a partial refund.
				const total = typeof obj.amount_refunded === "number" ? obj.amount_refunded : undefined;
				const full = obj.refunded === true || (total !== undefined && typeof obj.amount === "number" && total >= obj.amount);
				return {
					...base,
					paymentId: ourId,
					providerRefs: [pi, obj.id].filter((x): x is string => Boolean(x)),
					status: "refunded",
					refundedTotal: full ? undefined : total,
				};
			}
			case "charge.dispute.created":
			case "charge.dispute.funds_withdrawn":
			case "charge.dispute.funds_reinstated":
			case "charge.dispute.closed": {
				const refs = [pi, obj.charge].filter((x): x is string => typeof x === "string");
				const ev = { ...base, paymentId: ourId, providerRefs: refs };
				if (e.type === "charge.dispute.funds_reinstated" || (e.type === "charge.dispute.closed" && obj.status === "won"))
					return { ...ev, status: "paid", reinstate: true };
				// An inquiry (warning_*) withdraws nothing and may close without becoming a dispute.
				if (e.type === "charge.dispute.closed" && obj.status !== "lost") return null;
				if (e.type === "charge.dispute.created" && isInquiry(obj.status)) return null;
				return { ...ev, status: "reversed" };
			}
			default:
				return null;
		}
	}

	async fetchStatus(payment: PaymentRef): Promise<ProviderEvent | null> {
		const sessionId = payment.providerRefs.find((r) => r.startsWith("cs_"));
		if (!sessionId) return null;
		const res = expectOk(
			"stripe",
			"retrieve checkout session",
			await providerFetch("stripe", `${this.opts.apiBase}/v1/checkout/sessions/${encodeURIComponent(sessionId)}`, { headers: this.headers() }),
		);
		const s = res.body as StripeObject;
		const type = s.status === "expired" ? "checkout.session.expired" : s.status === "complete" ? "checkout.session.completed" : null;
		if (!type) return null;
		return this.parseEvent({ id: `retrieve:${s.id}:${s.status}:${s.payment_status}`, type, data: { object: s } });
	}

	async refund(payment: PaymentRef, refund: RefundRequest): Promise<ProviderEvent | null> {
		let pi = payment.providerRefs.find((r) => r.startsWith("pi_"));
		if (!pi) {
			// Paid through an event that did not carry it: the session knows its PaymentIntent.
			const sessionId = payment.providerRefs.find((r) => r.startsWith("cs_"));
			if (sessionId) {
				const res = expectOk(
					"stripe",
					"retrieve checkout session",
					await providerFetch("stripe", `${this.opts.apiBase}/v1/checkout/sessions/${encodeURIComponent(sessionId)}`, { headers: this.headers() }),
				);
				const found = (res.body as StripeObject | null)?.payment_intent;
				pi = typeof found === "string" ? found : found?.id;
			}
		}
		if (!pi) throw new PaymentInputError("id", "This Stripe payment has no PaymentIntent to refund yet", "NOT_REFUNDABLE");
		expectOk(
			"stripe",
			"create refund",
			await providerFetch("stripe", `${this.opts.apiBase}/v1/refunds`, {
				method: "POST",
				headers: this.headers({ "Idempotency-Key": refund.key }),
				body: formEncode({ payment_intent: pi, amount: refund.amount, metadata: { payment_id: payment.id } }),
			}),
		);
		// The charge.refunded webhook settles the status.
		return null;
	}
}
