import { toMajorString } from "../domain/money";
import { expectOk, providerFetch } from "../payments/http";
import { PAYPAL_CURRENCIES, PayPalProvider } from "../payments/paypal";
import { ProviderRefusedError } from "../payments/types";
import type { PayoutEvent, PayoutOrder, PayoutProgress, PayoutProvider, PayoutState } from "./types";

/**
 * PayPal Payouts, to a PayPal account by email:
 *
 *  - create: `POST /v1/payments/payouts` `{sender_batch_header: {sender_batch_id, email_subject},
 *    items: [{recipient_type: "EMAIL", amount: {value, currency}, receiver, note, sender_item_id}]}`
 *    with our payout id as `sender_batch_id` (PayPal refuses a second batch with the same id) and
 *    as `PayPal-Request-Id` (a retried request answers the first one) → 201 `{batch_header:
 *    {payout_batch_id, batch_status}}`.
 *  - status: `GET /v1/payments/payouts/{payout_batch_id}` → `{batch_header, items: [{transaction_status}]}`.
 *  - webhooks `PAYMENT.PAYOUTS-ITEM.*` (SUCCEEDED; FAILED, BLOCKED, RETURNED, DENIED, REFUNDED,
 *    CANCELED; UNCLAIMED and HELD are not final), verified through PayPal's
 *    verify-webhook-signature API with the webhook id (the payments provider's code: one OAuth
 *    token and one verification for both).
 */

const NAME = "paypal";

export interface PayPalPayoutOptions {
	clientId: string;
	clientSecret: string;
	webhookId?: string;
	apiBase: string;
}

const FAILED = new Set(["FAILED", "BLOCKED", "RETURNED", "DENIED", "REFUNDED", "CANCELED", "REVERSED"]);

/** A payout item's `transaction_status` (or the webhook's event suffix) → ours. */
export function paypalProgress(status: unknown): PayoutProgress {
	const s = String(status ?? "").toUpperCase();
	if (s === "SUCCESS" || s === "SUCCEEDED") return "paid";
	if (FAILED.has(s)) return "failed";
	return "processing";
}

interface PayoutItem {
	payout_item_id?: string;
	payout_batch_id?: string;
	transaction_status?: string;
	payout_item?: { sender_item_id?: string };
	errors?: { name?: string; message?: string };
}
interface Batch {
	batch_header?: { payout_batch_id?: string; batch_status?: string };
	items?: PayoutItem[];
}

export class PayPalPayoutProvider implements PayoutProvider {
	readonly name = NAME;
	/** The payments provider: its OAuth token cache and webhook verification. */
	private readonly api: PayPalProvider;

	constructor(private readonly opts: PayPalPayoutOptions) {
		this.api = new PayPalProvider({ ...opts, returnUrl: "" });
	}

	private async call<T>(method: string, path: string, body?: unknown, extra: Record<string, string> = {}) {
		const token = await this.api.accessToken();
		return providerFetch<T>(NAME, `${this.opts.apiBase}${path}`, {
			method,
			headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", Accept: "application/json", ...extra },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	}

	async submit(order: PayoutOrder): Promise<PayoutState> {
		if (order.method !== "paypal" || !order.email)
			throw new ProviderRefusedError(NAME, "PayPal Payouts needs a PayPal account (email)", "ACCOUNT_NOT_SUPPORTED");
		if (!PAYPAL_CURRENCIES.includes(order.currency))
			throw new ProviderRefusedError(NAME, `PayPal does not pay out ${order.currency}`, "CURRENCY_NOT_SUPPORTED");
		const body = {
			sender_batch_header: { sender_batch_id: order.payoutId, email_subject: "You have a payout from MediaShar" },
			items: [
				{
					recipient_type: "EMAIL",
					amount: { value: toMajorString(order.amount, order.currency), currency: order.currency },
					receiver: order.email,
					note: order.description,
					sender_item_id: order.payoutId,
				},
			],
		};
		const res = expectOk(NAME, "the payout", await this.call<Batch>("POST", "/v1/payments/payouts", body, { "PayPal-Request-Id": order.payoutId }));
		const ref = res.body?.batch_header?.payout_batch_id;
		if (!ref) throw new ProviderRefusedError(NAME, "PayPal answered without a payout_batch_id", "NO_REFERENCE");
		return { ref, status: "processing" };
	}

	async fetchStatus(_payoutId: string, ref: string | undefined): Promise<PayoutState | null> {
		if (!ref) return null;
		const res = await this.call<Batch>("GET", `/v1/payments/payouts/${encodeURIComponent(ref)}`);
		if (res.status === 404) return null;
		const item = expectOk(NAME, "the payout status", res).body?.items?.[0];
		if (!item) return null;
		return { ref, status: paypalProgress(item.transaction_status), reason: item.errors?.message };
	}

	verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]> {
		return this.api.verifyWebhook(rawBody, headers);
	}

	parseEvent(event: unknown): PayoutEvent | null {
		const e = event as { id?: string; event_type?: string; resource?: PayoutItem } | null;
		if (!e || typeof e.id !== "string" || typeof e.event_type !== "string" || !e.event_type.startsWith("PAYMENT.PAYOUTS-ITEM.")) return null;
		const r = e.resource ?? {};
		const status = paypalProgress(r.transaction_status ?? e.event_type.slice("PAYMENT.PAYOUTS-ITEM.".length));
		return {
			eventId: e.id,
			payoutId: r.payout_item?.sender_item_id,
			ref: r.payout_batch_id,
			status,
			reason: status === "failed" ? (r.errors?.message ?? `paypal: ${r.transaction_status ?? e.event_type}`) : undefined,
		};
	}
}
