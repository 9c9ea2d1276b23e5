import { toMajorString } from "../domain/money";
import { expectOk, providerFetch } from "./http";
import {
	PayerActionRequired,
	PaymentInputError,
	ProviderError,
	WebhookSignatureError,
	headerValue,
	parseJson,
	type CreatePaymentInput,
	type CreatedPayment,
	type PaymentProvider,
	type PaymentRef,
	type RefundRequest,
	type PaymentStatus,
	type ProviderEvent,
} from "./types";

/**
 * PayPal Orders v2. An OAuth2 client-credentials token (cached until shortly before it expires)
 * authorizes every call. createPayment creates an order (intent CAPTURE, custom_id = our payment
 * id) and redirects the payer to its approval link; when PayPal sends the payer back to
 * `/api/payments/paypal/return?token=<order id>` the order is captured. Webhooks are verified by
 * PayPal itself through /v1/notifications/verify-webhook-signature with PAYPAL_WEBHOOK_ID.
 */

export interface PayPalOptions {
	clientId: string;
	clientSecret: string;
	webhookId?: string;
	apiBase: string;
	/** Where PayPal sends the payer after approval (our return endpoint). */
	returnUrl: string;
}

/** Currencies PayPal accepts among ours (PayPal does not process IDR). */
export const PAYPAL_CURRENCIES = ["USD", "EUR", "GBP", "AUD", "SGD", "MYR", "JPY", "PHP", "THB"];

const CAPTURE_EVENTS: Record<string, PaymentStatus> = {
	"PAYMENT.CAPTURE.COMPLETED": "paid",
	"PAYMENT.CAPTURE.DENIED": "failed",
	"PAYMENT.CAPTURE.DECLINED": "failed",
	"PAYMENT.CAPTURE.REFUNDED": "refunded",
	"PAYMENT.CAPTURE.REVERSED": "reversed",
};

const CAPTURE_STATUS: Record<string, PaymentStatus> = {
	COMPLETED: "paid",
	DECLINED: "failed",
	FAILED: "failed",
	REFUNDED: "refunded",
};

/**
 * Capture answers (HTTP 422) after which the payer must act at PayPal again. PayPal's docs: on
 * INSTRUMENT_DECLINED "restart the payment so the payer can select a different payment option";
 * REDIRECT_PAYER_FOR_ALTERNATE_FUNDING and PAYER_ACTION_REQUIRED likewise send the payer back to
 * the approval page. The order stays open, the payment pending. (ORDER_NOT_APPROVED: the payer
 * has not approved yet; nothing to capture, the payment simply stays pending.)
 */
export const PAYER_ACTION_ISSUES = ["INSTRUMENT_DECLINED", "PAYER_ACTION_REQUIRED", "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING"];

/** The parts of PayPal's JSON this client reads (Orders v2, Payments v2, webhook events); every field may be absent. */
interface PayPalLink {
	rel?: string;
	href?: string;
	method?: string;
}
interface PayPalMoney {
	currency_code?: string;
	value?: string;
}
interface PayPalCapture {
	id: string;
	status: string;
	amount?: PayPalMoney;
}
interface PayPalOrder {
	id: string;
	status?: string;
	purchase_units?: { custom_id?: string; payments?: { captures?: PayPalCapture[] } }[];
	links?: PayPalLink[];
}
/** A webhook event's resource: an order (CHECKOUT.ORDER.*) or a capture or refund (PAYMENT.CAPTURE.*). */
interface PayPalResource extends Partial<PayPalOrder> {
	custom_id?: string;
	amount?: PayPalMoney;
	supplementary_data?: { related_ids?: { order_id?: string } };
	seller_payable_breakdown?: { total_refunded_amount?: PayPalMoney };
}
/** An error answer (422 UNPROCESSABLE_ENTITY): its issues, and links for the payer. */
interface PayPalErrorBody {
	details?: { issue?: string; description?: string }[];
	links?: PayPalLink[];
}

const PAYPAL_HEADERS = ["paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig", "paypal-cert-url", "paypal-auth-algo"] as const;

function minorFromValue(value: unknown, currency: string): number | undefined {
	if (typeof value !== "string" || !/^\d+(\.\d+)?$/.test(value)) return undefined;
	const exp = currency === "JPY" ? 0 : 2;
	return Math.round(Number(value) * 10 ** exp);
}

export class PayPalProvider implements PaymentProvider {
	readonly name = "paypal" as const;
	private token: { value: string; expiresAt: number } | null = null;
	private tokenInFlight: Promise<string> | null = null;

	constructor(private readonly opts: PayPalOptions) {}

	/** A cached access token; one request refreshes it for every concurrent caller. */
	async accessToken(): Promise<string> {
		if (this.token && this.token.expiresAt > Date.now()) return this.token.value;
		if (!this.tokenInFlight) {
			this.tokenInFlight = (async () => {
				const res = expectOk(
					"paypal",
					"OAuth token",
					await providerFetch("paypal", `${this.opts.apiBase}/v1/oauth2/token`, {
						method: "POST",
						headers: {
							Authorization: `Basic ${Buffer.from(`${this.opts.clientId}:${this.opts.clientSecret}`).toString("base64")}`,
							"Content-Type": "application/x-www-form-urlencoded",
							Accept: "application/json",
						},
						body: "grant_type=client_credentials",
					}),
				);
				const b = res.body as { access_token?: string; expires_in?: number };
				if (!b?.access_token) throw new ProviderError("paypal", "PayPal OAuth answered without access_token", res.status);
				// Refresh a minute early so a token never expires between our check and PayPal's.
				const ttlMs = Math.max((Number(b.expires_in) || 300) - 60, 30) * 1000;
				this.token = { value: b.access_token, expiresAt: Date.now() + ttlMs };
				return b.access_token;
			})().finally(() => {
				this.tokenInFlight = null;
			});
		}
		return this.tokenInFlight;
	}

	private async call(method: string, path: string, body?: string, extra: Record<string, string> = {}) {
		const token = await this.accessToken();
		const res = await providerFetch("paypal", `${this.opts.apiBase}${path}`, {
			method,
			headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json", ...extra },
			body,
		});
		if (res.status === 401) this.token = null; // revoked or expired early: the next call fetches a new one
		return res;
	}

	async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
		if (!PAYPAL_CURRENCIES.includes(input.currency)) {
			throw new PaymentInputError("currency", `PayPal does not accept ${input.currency}`, "CURRENCY_NOT_SUPPORTED");
		}
		const order = {
			intent: "CAPTURE",
			purchase_units: [
				{
					reference_id: input.donationId,
					custom_id: input.paymentId,
					description: (input.description || "Donation").slice(0, 127),
					amount: { currency_code: input.currency, value: toMajorString(input.amount, input.currency) },
				},
			],
			payment_source: {
				paypal: {
					experience_context: {
						user_action: "PAY_NOW",
						shipping_preference: "NO_SHIPPING",
						return_url: this.opts.returnUrl,
						cancel_url: input.resultUrl,
					},
				},
			},
		};
		const res = expectOk(
			"paypal",
			"create order",
			await this.call("POST", "/v2/checkout/orders", JSON.stringify(order), { "PayPal-Request-Id": input.paymentId }),
		);
		const b = res.body as { id?: string; links?: { rel: string; href: string }[] };
		const link = b?.links?.find((l) => l.rel === "payer-action" || l.rel === "approve");
		if (!b?.id || !link) throw new ProviderError("paypal", "PayPal answered without an order id or approval link", res.status);
		return { providerRef: b.id, action: { type: "redirect", url: link.href } };
	}

	async verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]> {
		if (!this.opts.webhookId) throw new WebhookSignatureError("webhook_id_not_configured");
		const h: Record<string, string> = {};
		for (const name of PAYPAL_HEADERS) {
			const v = headerValue(headers, name);
			if (!v) throw new WebhookSignatureError("missing_header");
			h[name] = v;
		}
		const event = parseJson(rawBody);
		// The event is embedded byte for byte: re-serializing it could change what PayPal signed.
		const body =
			`{"auth_algo":${JSON.stringify(h["paypal-auth-algo"])},"cert_url":${JSON.stringify(h["paypal-cert-url"])},` +
			`"transmission_id":${JSON.stringify(h["paypal-transmission-id"])},"transmission_sig":${JSON.stringify(h["paypal-transmission-sig"])},` +
			`"transmission_time":${JSON.stringify(h["paypal-transmission-time"])},"webhook_id":${JSON.stringify(this.opts.webhookId)},"webhook_event":${rawBody}}`;
		const res = expectOk("paypal", "verify webhook signature", await this.call("POST", "/v1/notifications/verify-webhook-signature", body));
		if ((res.body as { verification_status?: string } | null)?.verification_status !== "SUCCESS") throw new WebhookSignatureError("signature_mismatch");
		return [event];
	}

	parseEvent(event: unknown): ProviderEvent | null {
		const e = event as { id?: string; event_type?: string; resource?: PayPalResource };
		if (!e || typeof e.id !== "string" || typeof e.event_type !== "string") return null;
		if (e.event_type === "CHECKOUT.ORDER.APPROVED") {
			// The payer approved: capture now rather than waiting for them to come back (or for the sweep).
			const order: PayPalResource = e.resource ?? {};
			if (typeof order.id !== "string") return null;
			const customId = order.purchase_units?.[0]?.custom_id;
			return {
				eventId: e.id,
				type: e.event_type,
				paymentId: typeof customId === "string" ? customId : undefined,
				providerRefs: [order.id],
				status: "pending",
				captureRef: order.id,
			};
		}
		const status = CAPTURE_EVENTS[e.event_type];
		if (!status) return null;
		const r: PayPalResource = e.resource ?? {};
		const orderId = r.supplementary_data?.related_ids?.order_id;
		const upCapture = (r.links ?? [])
			.find((l) => l?.rel === "up" && typeof l.href === "string" && l.href.includes("/captures/"))
			?.href?.split("/captures/")[1];
		const refs = [orderId, upCapture, e.event_type === "PAYMENT.CAPTURE.COMPLETED" || e.event_type.endsWith("DENIED") ? r.id : undefined].filter(
			(x): x is string => typeof x === "string" && x.length > 0,
		);
		const currency = r.amount?.currency_code;
		// A refund's seller_payable_breakdown.total_refunded_amount is the capture's refunded total
		// so far: below the captured amount it is a partial refund.
		const total = r.seller_payable_breakdown?.total_refunded_amount;
		const refundedTotal =
			e.event_type === "PAYMENT.CAPTURE.REFUNDED" && total?.currency_code ? minorFromValue(total.value, total.currency_code) : undefined;
		return {
			eventId: e.id,
			type: e.event_type,
			...(refundedTotal !== undefined ? { refundedTotal } : {}),
			paymentId: typeof r.custom_id === "string" ? r.custom_id : undefined,
			providerRefs: refs,
			learnedRefs: status === "paid" && typeof r.id === "string" ? [r.id] : [],
			status,
			amount: status === "paid" && currency ? minorFromValue(r.amount?.value, currency) : undefined,
			currency: status === "paid" ? currency : undefined,
		};
	}

	/** Captures an approved order; the payer has just come back from PayPal. */
	async capture(payment: PaymentRef, orderId: string): Promise<ProviderEvent | null> {
		const res = await this.call("POST", `/v2/checkout/orders/${encodeURIComponent(orderId)}/capture`, "{}", {
			"PayPal-Request-Id": `capture-${payment.id}`,
		});
		if (res.status === 422) {
			const body = res.body as PayPalErrorBody | null;
			const issue = body?.details?.[0]?.issue;
			if (issue === "ORDER_ALREADY_CAPTURED") return this.orderStatus(payment, orderId, false);
			if (issue && PAYER_ACTION_ISSUES.includes(issue)) {
				// Back to PayPal to pick another funding source: the link PayPal gives with the error
				// (rel "payer-action"/"redirect"), else the order's approval link.
				const link = (body?.links ?? []).find((l) => ["payer-action", "approve", "redirect"].includes(l?.rel ?? "") && typeof l.href === "string");
				const url = link?.href ?? (payment.action?.type === "redirect" ? payment.action.url : undefined);
				if (!url) throw new ProviderError("paypal", `PayPal capture needs the payer (${issue}) but gave no link`, 422, body);
				throw new PayerActionRequired("paypal", issue, { type: "redirect", url });
			}
			if (issue === "ORDER_NOT_APPROVED") return null;
		}
		expectOk("paypal", "capture order", res);
		return this.fromOrder(payment, res.body as PayPalOrder | null);
	}

	private fromOrder(payment: PaymentRef, order: PayPalOrder | null): ProviderEvent | null {
		const capture = order?.purchase_units?.[0]?.payments?.captures?.[0];
		if (order?.status === "VOIDED") return { eventId: `order:${order.id}:VOIDED`, paymentId: payment.id, status: "failed" };
		if (!capture) return null;
		const status = CAPTURE_STATUS[capture.status];
		if (!status) return null;
		const currency = capture.amount?.currency_code;
		return {
			eventId: `capture:${capture.id}:${capture.status}`,
			paymentId: payment.id,
			providerRefs: [order.id, capture.id],
			learnedRefs: [capture.id],
			status,
			amount: currency ? minorFromValue(capture.amount?.value, currency) : undefined,
			currency,
		};
	}

	private async orderStatus(payment: PaymentRef, orderId: string, captureIfApproved: boolean): Promise<ProviderEvent | null> {
		const res = expectOk("paypal", "show order", await this.call("GET", `/v2/checkout/orders/${encodeURIComponent(orderId)}`));
		const order = res.body as PayPalOrder | null;
		// Approved but never captured: the payer closed the tab before coming back.
		if (captureIfApproved && order?.status === "APPROVED") return this.capture(payment, orderId);
		return this.fromOrder(payment, order);
	}

	async fetchStatus(payment: PaymentRef): Promise<ProviderEvent | null> {
		if (!payment.providerRef) return null;
		return this.orderStatus(payment, payment.providerRef, true);
	}

	async refund(payment: PaymentRef, refund: RefundRequest): Promise<ProviderEvent | null> {
		const captureId = payment.providerRefs.find((r) => r !== payment.providerRef);
		if (!captureId) throw new PaymentInputError("id", "This PayPal payment has no capture to refund", "NOT_REFUNDABLE");
		expectOk(
			"paypal",
			"refund capture",
			await this.call(
				"POST",
				`/v2/payments/captures/${encodeURIComponent(captureId)}/refund`,
				JSON.stringify({ amount: { value: toMajorString(refund.amount, payment.currency), currency_code: payment.currency } }),
				{ "PayPal-Request-Id": refund.key },
			),
		);
		return null;
	}
}
