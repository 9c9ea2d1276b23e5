import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PayPalPayoutProvider } from "../../../../lib/payouts/paypal";
import { ProviderRefusedError, WebhookSignatureError } from "../../../../lib/payments/types";
import { startFakePayPal, type FakePayPal } from "../../../support/fake-providers";
import { addPayPalPayouts } from "../../../support/fake-paypal-payouts";

/** The PayPal Payouts provider against the PayPal fake with its payouts routes. */
let pp: FakePayPal;
let payouts: ReturnType<typeof addPayPalPayouts>;
let provider: PayPalPayoutProvider;
beforeAll(async () => {
	pp = await startFakePayPal();
	payouts = addPayPalPayouts(pp);
	provider = new PayPalPayoutProvider({ clientId: pp.clientId, clientSecret: pp.clientSecret, webhookId: pp.webhookId, apiBase: pp.url });
});
afterAll(() => pp?.close());

const ORDER = {
	payoutId: "01PAYOUTPAYPAL000000000001",
	amount: 2500,
	currency: "USD",
	method: "paypal" as const,
	holderName: "Ana",
	email: "ana@example.test",
	description: "MediaShar payout 01PAYOUTPAYPAL000000000001",
};

describe("PayPal Payouts", () => {
	it("sends one batch per payout (our id as sender_batch_id and PayPal-Request-Id); a re-sent order is the same batch", async () => {
		const first = await provider.submit(ORDER);
		const req = pp.requests.find((r) => r.path === "/v1/payments/payouts")!;
		expect(req.headers["paypal-request-id"]).toBe(ORDER.payoutId);
		expect(JSON.parse(req.body)).toMatchObject({
			sender_batch_header: { sender_batch_id: ORDER.payoutId },
			items: [{ recipient_type: "EMAIL", amount: { value: "25.00", currency: "USD" }, receiver: "ana@example.test", sender_item_id: ORDER.payoutId }],
		});
		expect((await provider.submit(ORDER)).ref).toBe(first.ref);
		expect(payouts.created()).toBe(1);
		expect(await provider.fetchStatus(ORDER.payoutId, first.ref)).toMatchObject({ status: "processing" });
	});

	it("reads verified PAYMENT.PAYOUTS-ITEM events; UNCLAIMED is not final; a forged delivery is refused", async () => {
		const { ref } = await provider.submit({ ...ORDER, payoutId: "01PAYOUTPAYPAL000000000002" });
		const unclaimed = payouts.event(ref!, "UNCLAIMED");
		const body = JSON.stringify(unclaimed);
		const [ev] = await provider.verifyWebhook(body, pp.signWebhook(body));
		expect(provider.parseEvent(ev)).toMatchObject({ payoutId: "01PAYOUTPAYPAL000000000002", ref, status: "processing" });
		const failed = JSON.stringify(payouts.event(ref!, "FAILED"));
		expect(provider.parseEvent((await provider.verifyWebhook(failed, pp.signWebhook(failed)))[0])).toMatchObject({
			status: "failed",
			reason: "Receiver is unregistered",
		});
		await expect(provider.verifyWebhook(failed, pp.signWebhook(failed, "WH-OTHER"))).rejects.toBeInstanceOf(WebhookSignatureError);
		expect(await provider.fetchStatus("x", ref)).toMatchObject({ status: "failed" });
		expect(provider.parseEvent({ id: "WH-1", event_type: "PAYMENT.CAPTURE.COMPLETED", resource: {} })).toBeNull();
	});

	it("refuses what PayPal cannot pay", async () => {
		await expect(provider.submit({ ...ORDER, currency: "IDR" })).rejects.toBeInstanceOf(ProviderRefusedError);
		await expect(provider.submit({ ...ORDER, method: "bank", email: undefined, accountNumber: "123" })).rejects.toBeInstanceOf(ProviderRefusedError);
	});
});
