import { verify } from "../signature";
import { expectOk, formEncode, providerFetch } from "./http";
import { headerValue, parseJson, PaymentInputError, ProviderError, WebhookSignatureError, type CreatePaymentInput, type CreatedPayment, type PaymentProvider, type PaymentRef, type ProviderEvent } from "./types";

/**
 * Stripe Checkout. createPayment opens a Checkout Session through the REST API (form-encoded,
 * Bearer secret key, our payment id as the Idempotency-Key so a retried call cannot open a second
 * session) and redirects the payer to its URL. Our payment id travels as client_reference_id and
 * as metadata on the session and its PaymentIntent, so every later event can be matched.
 * Webhooks carry `Stripe-Signature: t=..,v1=..` checked with lib/signature.ts.
 */

export interface StripeOptions {
	secretKey: string;
	webhookSecret?: string;
	apiBase: string;
	toleranceSec?: number;
}

/** Stripe refuses a Checkout Session that expires sooner than 30 minutes or later than 24 hours. */
const MIN_SESSION_SEC = 30 * 60 + 60;
const MAX_SESSION_SEC = 24 * 3600 - 60;

export class StripeProvider implements PaymentProvider {
	readonly name = "stripe" as const;

	constructor(private readonly opts: StripeOptions) {}

	private headers(extra: Record<string, string> = {}) {
		return { Authorization: `Bearer ${this.opts.secretKey}`, "Content-Type": "application/x-www-form-urlencoded", ...extra };
	}

	async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
		const nowSec = Math.floor(Date.now() / 1000);
		const wanted = Math.floor(input.expiresAt.getTime() / 1000) - nowSec;
		const expiresAt = nowSec + Math.min(Math.max(wanted, MIN_SESSION_SEC), MAX_SESSION_SEC);
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
		const e = event as { id?: string; type?: string; data?: { object?: any } };
		if (!e || typeof e.id !== "string" || typeof e.type !== "string") return null;
		const obj = e.data?.object ?? {};
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
					providerRefs: [obj.id].filter(Boolean),
					status: "paid",
					amount: typeof obj.amount_received === "number" ? obj.amount_received : undefined,
					currency: typeof obj.currency === "string" ? obj.currency.toUpperCase() : undefined,
				};
			case "payment_intent.payment_failed":
				return { ...base, paymentId: ourId, providerRefs: [obj.id].filter(Boolean), status: "failed" };
			case "charge.refunded":
				// A partial refund leaves the donation standing; only a full refund reverses it.
				if (obj.refunded === false) return null;
				return { ...base, paymentId: ourId, providerRefs: [pi, obj.id].filter(Boolean), status: "refunded" };
			case "charge.dispute.created":
				return { ...base, paymentId: ourId, providerRefs: [pi, obj.charge].filter((x) => typeof x === "string"), status: "reversed" };
			default:
				return null;
		}
	}

	async fetchStatus(payment: PaymentRef): Promise<ProviderEvent | null> {
		const sessionId = payment.providerRefs.find((r) => r.startsWith("cs_"));
		if (!sessionId) return null;
		const res = expectOk("stripe", "retrieve checkout session", await providerFetch("stripe", `${this.opts.apiBase}/v1/checkout/sessions/${encodeURIComponent(sessionId)}`, { headers: this.headers() }));
		const s = res.body as any;
		const type = s.status === "expired" ? "checkout.session.expired" : s.status === "complete" ? "checkout.session.completed" : null;
		if (!type) return null;
		return this.parseEvent({ id: `retrieve:${s.id}:${s.status}:${s.payment_status}`, type, data: { object: s } });
	}

	async refund(payment: PaymentRef): Promise<ProviderEvent | null> {
		const pi = payment.providerRefs.find((r) => r.startsWith("pi_"));
		if (!pi) throw new PaymentInputError("id", "This Stripe payment has no PaymentIntent to refund yet", "NOT_REFUNDABLE");
		expectOk(
			"stripe",
			"create refund",
			await providerFetch("stripe", `${this.opts.apiBase}/v1/refunds`, {
				method: "POST",
				headers: this.headers({ "Idempotency-Key": `refund:${payment.id}` }),
				body: formEncode({ payment_intent: pi, metadata: { payment_id: payment.id } }),
			}),
		);
		// The charge.refunded webhook settles the status.
		return null;
	}
}
