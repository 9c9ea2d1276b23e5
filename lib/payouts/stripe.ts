import { expectOk, formEncode, providerFetch } from "../payments/http";
import { headerValue, parseJson, ProviderRefusedError, WebhookSignatureError } from "../payments/types";
import { verify } from "../tools/signature";
import type { PayoutEvent, PayoutOrder, PayoutProvider, PayoutState } from "./types";

/**
 * Stripe Connect transfers: the creator's payout account is their connected Stripe account
 * (`method: "stripe"`, `accountNumber: "acct_…"`); Stripe then pays the connected account out
 * to its bank on the account's own schedule.
 *
 *  - create: `POST /v1/transfers` (form-encoded `amount`, `currency`, `destination`,
 *    `transfer_group`, `metadata[payout_id]`) with `Idempotency-Key: <payout id>` → the transfer
 *    `{id: "tr_…", reversed}`. A created transfer has moved the money: the payout is paid.
 *  - status: `GET /v1/transfers/{id}`.
 *  - webhooks (`Stripe-Signature`, STRIPE_PAYOUT_WEBHOOK_SECRET): `transfer.created` confirms it;
 *    `transfer.reversed` after the payout was paid is not a failure of ours to apply (the money
 *    was taken back from the connected account by the platform): it is logged by the caller.
 */

export interface StripePayoutOptions {
	secretKey: string;
	webhookSecret?: string;
	apiBase: string;
}

const NAME = "stripe";

interface Transfer {
	id?: string;
	reversed?: boolean;
	metadata?: { payout_id?: string };
}

export class StripePayoutProvider implements PayoutProvider {
	readonly name = NAME;

	constructor(private readonly opts: StripePayoutOptions) {}

	private headers(idempotencyKey?: string): Record<string, string> {
		return {
			Authorization: `Bearer ${this.opts.secretKey}`,
			"Content-Type": "application/x-www-form-urlencoded",
			...(idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {}),
		};
	}

	async submit(order: PayoutOrder): Promise<PayoutState> {
		if (order.method !== "stripe" || !order.accountNumber?.startsWith("acct_")) {
			throw new ProviderRefusedError(NAME, "Stripe transfers need a connected Stripe account (acct_…)", "ACCOUNT_NOT_SUPPORTED");
		}
		const body = formEncode({
			amount: order.amount,
			currency: order.currency.toLowerCase(),
			destination: order.accountNumber,
			transfer_group: order.payoutId,
			description: order.description,
			metadata: { payout_id: order.payoutId },
		});
		const res = expectOk(
			NAME,
			"the transfer",
			await providerFetch<Transfer>(NAME, `${this.opts.apiBase}/v1/transfers`, { method: "POST", headers: this.headers(order.payoutId), body }),
		);
		if (!res.body?.id) throw new ProviderRefusedError(NAME, "Stripe answered without a transfer id", "NO_REFERENCE");
		return { ref: res.body.id, status: res.body.reversed ? "failed" : "paid", reason: res.body.reversed ? "stripe: transfer reversed" : undefined };
	}

	async fetchStatus(_payoutId: string, ref: string | undefined): Promise<PayoutState | null> {
		if (!ref) return null;
		const res = await providerFetch<Transfer>(NAME, `${this.opts.apiBase}/v1/transfers/${encodeURIComponent(ref)}`, { headers: this.headers() });
		if (res.status === 404) return null;
		const t = expectOk(NAME, "the transfer", res).body;
		return { ref, status: t?.reversed ? "failed" : "paid" };
	}

	async verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]> {
		if (!this.opts.webhookSecret) throw new WebhookSignatureError("webhook_secret_not_configured");
		const check = verify(headerValue(headers, "stripe-signature"), rawBody, this.opts.webhookSecret);
		if (!check.ok) throw new WebhookSignatureError(check.reason);
		return [parseJson(rawBody)];
	}

	parseEvent(event: unknown): PayoutEvent | null {
		const e = event as { id?: string; type?: string; data?: { object?: Transfer } } | null;
		if (!e || typeof e.id !== "string" || e.type !== "transfer.created") return null;
		const t = e.data?.object;
		if (!t?.id) return null;
		return { eventId: e.id, payoutId: t.metadata?.payout_id, ref: t.id, status: t.reversed ? "failed" : "paid" };
	}
}
