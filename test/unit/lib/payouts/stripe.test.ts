import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StripePayoutProvider } from "../../../../lib/payouts/stripe";
import { ProviderRefusedError, WebhookSignatureError } from "../../../../lib/payments/types";
import { startFakeStripe, type FakeStripe } from "../../../support/fake-providers";
import { addStripeTransfers } from "../../../support/fake-stripe-transfers";

/**
 * Stripe Connect transfers against the Stripe fake; the webhook signature made by the official
 * `stripe` SDK (`webhooks.generateTestHeaderString`).
 */
const WHSEC = "whsec_payouts_test";
const ACCT = "acct_1CreatorTest";
let stripe: FakeStripe;
let fake: ReturnType<typeof addStripeTransfers>;
let provider: StripePayoutProvider;
beforeAll(async () => {
	stripe = await startFakeStripe();
	fake = addStripeTransfers(stripe, [ACCT]);
	provider = new StripePayoutProvider({ secretKey: stripe.secretKey, webhookSecret: WHSEC, apiBase: stripe.url });
});
afterAll(() => stripe?.close());

const ORDER = {
	payoutId: "01PAYOUTSTRIPE000000000001",
	amount: 2500,
	currency: "EUR",
	method: "stripe" as const,
	holderName: "Eva",
	accountNumber: ACCT,
	description: "MediaShar payout 01PAYOUTSTRIPE000000000001",
};

describe("Stripe Connect transfers", () => {
	it("makes one transfer per payout (Idempotency-Key = payout id) and it is paid at once", async () => {
		const first = await provider.submit(ORDER);
		expect(first).toMatchObject({ status: "paid" });
		expect(await provider.submit(ORDER)).toEqual(first);
		expect(fake.transfers.size).toBe(1);
		expect([...fake.transfers.values()][0]).toMatchObject({
			amount: 2500,
			currency: "eur",
			destination: ACCT,
			transfer_group: ORDER.payoutId,
			metadata: { payout_id: ORDER.payoutId },
		});
		expect(stripe.requests.find((r) => r.path === "/v1/transfers")?.headers["idempotency-key"]).toBe(ORDER.payoutId);
		expect(await provider.fetchStatus(ORDER.payoutId, first.ref)).toMatchObject({ status: "paid" });
	});

	it("a destination Stripe does not know is refused outright (the payout fails, the money comes back)", async () => {
		await expect(provider.submit({ ...ORDER, payoutId: "01PAYOUTSTRIPE000000000002", accountNumber: "acct_1Unknown" })).rejects.toBeInstanceOf(
			ProviderRefusedError,
		);
		await expect(provider.submit({ ...ORDER, method: "bank", accountNumber: "123456" })).rejects.toBeInstanceOf(ProviderRefusedError);
	});

	it("verifies webhooks signed by the official SDK and reads transfer.created", async () => {
		const t = [...fake.transfers.values()][0];
		const payload = JSON.stringify({ id: "evt_1", object: "event", type: "transfer.created", data: { object: t } });
		const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: WHSEC });
		const [ev] = await provider.verifyWebhook(payload, { "stripe-signature": header });
		expect(provider.parseEvent(ev)).toMatchObject({ payoutId: ORDER.payoutId, ref: t.id, status: "paid" });
		const forged = Stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_other" });
		await expect(provider.verifyWebhook(payload, { "stripe-signature": forged })).rejects.toBeInstanceOf(WebhookSignatureError);
		expect(provider.parseEvent({ id: "evt_2", type: "payout.paid", data: { object: {} } })).toBeNull();
	});
});
