import { createHash, timingSafeEqual } from "node:crypto";
import { toMajorString } from "../domain/money";
import { expectOk, providerFetch } from "../payments/http";
import { headerValue, parseJson, ProviderRefusedError, WebhookPayloadError, WebhookSignatureError } from "../payments/types";
import type { PayoutEvent, PayoutOrder, PayoutProgress, PayoutProvider, PayoutState } from "./types";

/**
 * Midtrans Payouts (Iris), the disbursement API to Indonesian banks and e-wallets:
 *
 *  - create: `POST {base}/api/v1/payouts` `{payouts: [{beneficiary_name, beneficiary_account,
 *    beneficiary_bank, beneficiary_email?, amount: "50000.00", notes}]}` with HTTP Basic auth (the
 *    creator API key as user, empty password) and `X-Idempotency-Key` (our payout id: a re-sent
 *    order within Iris's 24 h is the same payout) → 201 `{payouts: [{status: "queued",
 *    reference_no}]}`. Approval on Iris's side (maker/checker) is configured in its dashboard.
 *  - status: `GET {base}/api/v1/payouts/{reference_no}` → `{status: queued | approved | processed
 *    | completed | failed | rejected, error_message?}`.
 *  - notifications: POST with the payout `{reference_no, amount, status, updated_at, error_code?,
 *    error_message?}` and header `Iris-Signature` = SHA512(raw body + merchant key); the
 *    signature covers the whole body. Top-up notifications (`status: "topup"`) are ignored.
 *
 * IDR only; bank and e-wallet accounts (the bank code is Iris's, e.g. `bca`, `gopay`).
 */

export interface IrisOptions {
	apiKey: string;
	merchantKey?: string;
	/** `https://app.sandbox.midtrans.com/iris` or `https://app.midtrans.com/iris`. */
	apiBase: string;
}

const NAME = "midtrans";

/** Iris status → ours. */
export function irisProgress(status: unknown): PayoutProgress {
	if (status === "completed") return "paid";
	if (status === "failed" || status === "rejected") return "failed";
	return "processing";
}

interface IrisPayout {
	status?: string;
	reference_no?: string;
	error_message?: string;
	error_code?: string;
	updated_at?: string;
}

export class MidtransIrisPayoutProvider implements PayoutProvider {
	readonly name = NAME;

	constructor(private readonly opts: IrisOptions) {}

	private headers(idempotencyKey?: string): Record<string, string> {
		return {
			Authorization: `Basic ${Buffer.from(`${this.opts.apiKey}:`).toString("base64")}`,
			"Content-Type": "application/json",
			Accept: "application/json",
			...(idempotencyKey ? { "X-Idempotency-Key": idempotencyKey } : {}),
		};
	}

	async submit(order: PayoutOrder): Promise<PayoutState> {
		if (order.currency !== "IDR") throw new ProviderRefusedError(NAME, "Midtrans Payouts pays out IDR only", "CURRENCY_NOT_SUPPORTED");
		if (order.method === "paypal" || !order.accountNumber || !order.bankCode) {
			throw new ProviderRefusedError(NAME, "Midtrans Payouts needs a bank or e-wallet account", "ACCOUNT_NOT_SUPPORTED");
		}
		const body = {
			payouts: [
				{
					beneficiary_name: order.holderName,
					beneficiary_account: order.accountNumber,
					beneficiary_bank: order.bankCode,
					...(order.email ? { beneficiary_email: order.email } : {}),
					amount: toMajorString(order.amount, "IDR"),
					notes: order.description.slice(0, 100),
				},
			],
		};
		const res = expectOk(
			NAME,
			"the payout",
			await providerFetch<{ payouts?: IrisPayout[] }>(NAME, `${this.opts.apiBase}/api/v1/payouts`, {
				method: "POST",
				headers: this.headers(order.payoutId),
				body: JSON.stringify(body),
			}),
		);
		const created = res.body?.payouts?.[0];
		if (!created?.reference_no) throw new ProviderRefusedError(NAME, "Midtrans answered without a reference_no", "NO_REFERENCE");
		return { ref: created.reference_no, status: irisProgress(created.status), reason: created.error_message };
	}

	async fetchStatus(_payoutId: string, ref: string | undefined): Promise<PayoutState | null> {
		if (!ref) return null;
		const res = await providerFetch<IrisPayout>(NAME, `${this.opts.apiBase}/api/v1/payouts/${encodeURIComponent(ref)}`, { headers: this.headers() });
		if (res.status === 404) return null;
		const p = expectOk(NAME, "the payout status", res).body;
		return { ref, status: irisProgress(p?.status), reason: p?.error_message };
	}

	async verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]> {
		const given = headerValue(headers, "iris-signature");
		if (!this.opts.merchantKey) throw new WebhookSignatureError("no_merchant_key");
		if (!given) throw new WebhookSignatureError("missing_header");
		const expected = createHash("sha512")
			.update(rawBody + this.opts.merchantKey)
			.digest("hex");
		const a = Buffer.from(given.toLowerCase());
		const b = Buffer.from(expected);
		if (a.length !== b.length || !timingSafeEqual(a, b)) throw new WebhookSignatureError("signature_mismatch");
		return [parseJson(rawBody)];
	}

	parseEvent(event: unknown): PayoutEvent | null {
		const e = event as IrisPayout | null;
		if (!e || typeof e !== "object") throw new WebhookPayloadError("Midtrans payout notification is not an object");
		if (e.status === "topup") return null;
		if (typeof e.reference_no !== "string" || !e.reference_no) throw new WebhookPayloadError("Midtrans payout notification needs reference_no");
		const status = irisProgress(e.status);
		return {
			eventId: `${e.reference_no}:${e.status}:${e.updated_at ?? ""}`,
			ref: e.reference_no,
			status,
			reason: status === "failed" ? [e.error_code, e.error_message].filter(Boolean).join(": ") || `midtrans: ${e.status}` : undefined,
		};
	}
}
