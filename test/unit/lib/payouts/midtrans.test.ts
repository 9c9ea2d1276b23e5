import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MidtransIrisPayoutProvider } from "../../../../lib/payouts/midtrans";
import { ProviderRefusedError, WebhookSignatureError } from "../../../../lib/payments/types";
import { IRIS_API_KEY, IRIS_MERCHANT_KEY, startFakeIris, type FakeIris } from "../../../support/fake-iris";

/** The Midtrans Payouts (Iris) provider against the local fake of its documented API. */
let iris: FakeIris;
let provider: MidtransIrisPayoutProvider;
beforeAll(async () => {
	iris = await startFakeIris();
	provider = new MidtransIrisPayoutProvider({ apiKey: IRIS_API_KEY, merchantKey: IRIS_MERCHANT_KEY, apiBase: iris.url });
});
afterAll(() => iris?.close());

const ORDER = {
	payoutId: "01PAYOUTIRIS00000000000001",
	amount: 60_000_00,
	currency: "IDR",
	method: "bank" as const,
	holderName: "Budi Santoso",
	bankCode: "bca",
	accountNumber: "1234567890",
	description: "MediaShar payout 01PAYOUTIRIS00000000000001",
};

describe("Midtrans Payouts (Iris)", () => {
	it("creates the payout with Basic auth, the documented body and our id as X-Idempotency-Key; a re-sent order is the same payout", async () => {
		const first = await provider.submit(ORDER);
		expect(first).toMatchObject({ status: "processing" });
		const req = iris.server.requests.find((r) => r.method === "POST")!;
		expect(req.headers["x-idempotency-key"]).toBe(ORDER.payoutId);
		expect(JSON.parse(req.body)).toEqual({
			payouts: [
				{ beneficiary_name: "Budi Santoso", beneficiary_account: "1234567890", beneficiary_bank: "bca", amount: "60000.00", notes: ORDER.description },
			],
		});
		const again = await provider.submit(ORDER);
		expect(again.ref).toBe(first.ref);
		expect(iris.created()).toBe(1);
	});

	it("maps Iris statuses when asked, and refuses what Iris cannot pay", async () => {
		const { ref } = await provider.submit({ ...ORDER, payoutId: "01PAYOUTIRIS00000000000002" });
		expect(await provider.fetchStatus("x", ref)).toMatchObject({ status: "processing" });
		iris.payouts.get(ref!)!.status = "completed";
		expect(await provider.fetchStatus("x", ref)).toMatchObject({ status: "paid" });
		iris.payouts.get(ref!)!.status = "rejected";
		expect(await provider.fetchStatus("x", ref)).toMatchObject({ status: "failed" });
		expect(await provider.fetchStatus("x", "unknown-ref")).toBeNull();
		await expect(provider.submit({ ...ORDER, currency: "USD" })).rejects.toBeInstanceOf(ProviderRefusedError);
		await expect(provider.submit({ ...ORDER, method: "paypal", accountNumber: undefined, email: "a@b.test" })).rejects.toBeInstanceOf(ProviderRefusedError);
	});

	it("verifies Iris-Signature = SHA512(body + merchant key) and reads the notification", async () => {
		const n = iris.notification({ reference_no: "ref-1", amount: "60000.00", status: "failed", error_message: "Beneficiary account not found" });
		const [ev] = await provider.verifyWebhook(n.body, { "iris-signature": n.signature });
		expect(provider.parseEvent(ev)).toMatchObject({ ref: "ref-1", status: "failed", reason: "001: Beneficiary account not found" });
		const forged = iris.notification({ reference_no: "ref-1", amount: "60000.00", status: "completed" }, "another-key");
		await expect(provider.verifyWebhook(forged.body, { "iris-signature": forged.signature })).rejects.toBeInstanceOf(WebhookSignatureError);
		await expect(provider.verifyWebhook(n.body.replace("failed", "completed"), { "iris-signature": n.signature })).rejects.toBeInstanceOf(
			WebhookSignatureError,
		);
		await expect(provider.verifyWebhook(n.body, {})).rejects.toBeInstanceOf(WebhookSignatureError);
		expect(provider.parseEvent({ order_id: "t1", status: "topup", gross_amount: "1000000.00" })).toBeNull();
	});
});
