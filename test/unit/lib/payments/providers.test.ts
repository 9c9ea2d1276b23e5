import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sign } from "../../../../lib/tools/signature";
import { MidtransProvider, mapMidtransStatus, midtransSignature } from "../../../../lib/payments/midtrans";
import { StripeProvider } from "../../../../lib/payments/stripe";
import { PayPalProvider } from "../../../../lib/payments/paypal";
import { SandboxProvider } from "../../../../lib/payments/sandbox";
import { PaymentInputError, ProviderError, WebhookSignatureError } from "../../../../lib/payments/types";
import {
	midtransNotification,
	startFakeMidtrans,
	startFakePayPal,
	startFakeServer,
	startFakeStripe,
	type FakeMidtrans,
	type FakePayPal,
	type FakeStripe,
} from "../../../support/fake-providers";

const input = (over: Record<string, unknown> = {}) => ({
	paymentId: "01JPAYMENT00000000000000001",
	donationId: "01JDONATION0000000000000001",
	amount: 1_000_000,
	currency: "IDR",
	donorName: "Budi",
	email: "budi@example.test",
	description: "Donation to alice",
	resultUrl: "http://pay.example.test/pay/result/01JPAYMENT00000000000000001",
	createdAt: new Date(),
	expiresAt: new Date(Date.now() + 30 * 60_000),
	...over,
});

/** The hostile variants every `t=..,v1=..` provider must refuse, each with the reason it gives. */
async function expectRefusals(verify: (body: string, header: string) => Promise<unknown>, body: string, secret: string) {
	const t = Math.floor(Date.now() / 1000);
	const v1 = sign(body, secret, t).split("v1=")[1];
	const cases: Array<[string, string, string]> = [
		["tampered body", sign(body, secret, t), "signature_mismatch"],
		["wrong secret", sign(body, `${secret}-other`, t), "signature_mismatch"],
		["expired timestamp", sign(body, secret, t - 301), "timestamp_out_of_tolerance"],
		["from the future", sign(body, secret, t + 301), "timestamp_out_of_tolerance"],
		["v0 only", `t=${t},v0=${v1}`, "no_v1_signature"],
		["malformed", "v1", "malformed_header"],
	];
	for (const [what, header, reason] of cases) {
		const sent = what === "tampered body" ? body.replace(/}$/, ',"extra":1}') : body;
		await expect(verify(sent, header), what).rejects.toMatchObject({ reason });
	}
	// Inside the 300 s tolerance it holds, and a second valid v1 among others is enough.
	await expect(verify(body, sign(body, secret, t - 299))).resolves.toBeDefined();
	await expect(verify(body, `t=${t},v1=${"0".repeat(64)},v1=${v1}`)).resolves.toBeDefined();
}

describe("sandbox provider", () => {
	const sandbox = new SandboxProvider({ webhookSecret: "s3cret", publicUrl: "http://pay.example.test" });

	it("redirects to its own checkout page", async () => {
		expect((await sandbox.createPayment(input())).action).toEqual({
			type: "redirect",
			url: "http://pay.example.test/pay/sandbox/01JPAYMENT00000000000000001",
		});
	});

	it("verifies X-Sandbox-Signature and maps its outcomes", async () => {
		const { body, signature } = sandbox.signedWebhook({ event_id: "e1", payment_id: "p1", status: "settlement" });
		const [ev] = await sandbox.verifyWebhook(body, { "x-sandbox-signature": signature });
		expect(sandbox.parseEvent(ev)).toMatchObject({ eventId: "e1", paymentId: "p1", status: "paid" });
		const map = { settlement: "paid", deny: "failed", expire: "expired", refund: "refunded" };
		for (const [status, ours] of Object.entries(map)) expect(sandbox.parseEvent({ event_id: "e", payment_id: "p", status })!.status).toBe(ours);
		await expect(sandbox.verifyWebhook(body, { "x-sandbox-signature": sign(body, "other") })).rejects.toBeInstanceOf(WebhookSignatureError);
		await expect(sandbox.verifyWebhook(body, {})).rejects.toBeInstanceOf(WebhookSignatureError);
	});

	it("refuses a tampered body, a wrong secret, an expired or future timestamp and a v0-only header", async () => {
		const body = JSON.stringify({ event_id: "e2", payment_id: "p2", status: "settlement" });
		await expectRefusals((b, header) => sandbox.verifyWebhook(b, { "x-sandbox-signature": header }), body, "s3cret");
	});
});

describe("midtrans provider", () => {
	let fake: FakeMidtrans;
	let mt: MidtransProvider;
	beforeAll(async () => {
		fake = await startFakeMidtrans("SB-Mid-server-unit");
		mt = new MidtransProvider({ serverKey: fake.serverKey, apiBase: fake.url, snapBase: fake.url });
	});
	afterAll(() => fake.close());

	it("computes signature_key as SHA512(order_id + status_code + gross_amount + server key)", () => {
		const expected = createHash("sha512")
			.update("order-1" + "200" + "10000.00" + "key")
			.digest("hex");
		expect(midtransSignature("order-1", "200", "10000.00", "key")).toBe(expected);
	});

	it("accepts a correctly signed notification and rejects forged, missing and altered ones", async () => {
		const n = midtransNotification(fake.serverKey, { order_id: "P1", transaction_status: "settlement", gross_amount: "10000.00" });
		const [ev] = await mt.verifyWebhook(JSON.stringify(n), {});
		expect(mt.parseEvent(ev)).toMatchObject({ paymentId: "P1", status: "paid", amount: 1_000_000, currency: "IDR" });
		const forged = midtransNotification(fake.serverKey, { order_id: "P1", transaction_status: "settlement", gross_amount: "10000.00" }, true);
		await expect(mt.verifyWebhook(JSON.stringify(forged), {})).rejects.toMatchObject({ reason: "signature_mismatch" });
		const { signature_key: _drop, ...unsigned } = n;
		await expect(mt.verifyWebhook(JSON.stringify(unsigned), {})).rejects.toBeInstanceOf(WebhookSignatureError);
		// The signature covers the amount: raising it breaks the signature.
		await expect(mt.verifyWebhook(JSON.stringify({ ...n, gross_amount: "99999.00" }), {})).rejects.toBeInstanceOf(WebhookSignatureError);
		await expect(mt.verifyWebhook("not json", {})).rejects.toBeInstanceOf(WebhookSignatureError);
	});

	it("maps transaction statuses (table)", () => {
		const table: [string, string | undefined, unknown][] = [
			["settlement", undefined, { status: "paid" }],
			["capture", "accept", { status: "paid" }],
			["capture", "challenge", null],
			["capture", "deny", { status: "pending", ifPaid: "reversed" }],
			["pending", undefined, null],
			["authorize", undefined, null],
			// Midtrans: a deny usually allows a retry that may still settle; not final.
			["deny", undefined, { status: "pending", ifPaid: "reversed" }],
			["cancel", undefined, { status: "failed", ifPaid: "refunded" }],
			["failure", undefined, { status: "failed" }],
			["expire", undefined, { status: "expired" }],
			["refund", undefined, { status: "refunded", ifPaid: "refunded" }],
			["partial_refund", undefined, { status: "refunded", ifPaid: "refunded" }],
			["chargeback", undefined, { status: "reversed", ifPaid: "reversed" }],
			["partial_chargeback", undefined, { status: "reversed", ifPaid: "reversed" }],
		];
		for (const [ts, fraud, expected] of table) expect(mapMidtransStatus(ts, fraud), `${ts}/${fraud}`).toEqual(expected);
	});

	it("gives each transaction status its own event id", () => {
		const a = mt.parseEvent(midtransNotification("k", { order_id: "P", transaction_status: "settlement", gross_amount: "1.00" }));
		const b = mt.parseEvent(midtransNotification("k", { order_id: "P", transaction_status: "refund", gross_amount: "1.00" }));
		expect(a!.eventId).not.toBe(b!.eventId);
	});

	it("creates a Snap transaction by default with whole-rupiah gross_amount and Basic auth", async () => {
		const created = await mt.createPayment(input());
		expect(created.action).toMatchObject({ type: "redirect" });
		expect((created.action as any).url).toMatch(/^https:\/\/app\.midtrans\.test\/snap\/v4\/redirection\//);
		const req = fake.requests.at(-1)!;
		expect(req.path).toBe("/snap/v1/transactions");
		expect(JSON.parse(req.body).transaction_details).toEqual({ order_id: "01JPAYMENT00000000000000001", gross_amount: 10000 });
	});

	it("charges QRIS and bank transfer through the Core API", async () => {
		const qris = await mt.createPayment(input({ method: "qris" }));
		expect(qris.action).toMatchObject({ type: "qris" });
		expect((qris.action as any).qrString).toContain("FAKEQR");
		expect(JSON.parse(fake.requests.at(-1)!.body).payment_type).toBe("qris");
		const va = await mt.createPayment(input({ method: "bank_transfer", bank: "bca" }));
		expect(va.action).toEqual({ type: "bank_transfer", bank: "bca", vaNumber: "12345678901" });
		const permata = await mt.createPayment(input({ method: "bank_transfer", bank: "permata" }));
		expect(permata.action).toMatchObject({ vaNumber: "8562000123456789" });
	});

	it("refuses other currencies, unknown methods and banks with input errors", async () => {
		await expect(mt.createPayment(input({ currency: "USD", amount: 500 }))).rejects.toMatchObject({ field: "currency", type: "CURRENCY_NOT_SUPPORTED" });
		await expect(mt.createPayment(input({ method: "crypto" }))).rejects.toBeInstanceOf(PaymentInputError);
		await expect(mt.createPayment(input({ method: "bank_transfer" }))).rejects.toMatchObject({ field: "bank" });
	});

	it("turns a wrong server key into a provider error", async () => {
		const wrong = new MidtransProvider({ serverKey: "wrong", apiBase: fake.url, snapBase: fake.url });
		await expect(wrong.createPayment(input())).rejects.toBeInstanceOf(ProviderError);
	});

	it("reads the status for reconciliation", async () => {
		fake.statuses.set("P-RECON", { transaction_status: "settlement", gross_amount: "10000.00", transaction_id: "tx-9" });
		expect(await mt.fetchStatus!({ id: "P-RECON", providerRefs: [], amount: 1_000_000, currency: "IDR" })).toMatchObject({
			status: "paid",
			paymentId: "P-RECON",
		});
		expect(await mt.fetchStatus!({ id: "P-NEVER", providerRefs: [], amount: 1_000_000, currency: "IDR" })).toBeNull();
	});
});

describe("stripe provider", () => {
	let fake: FakeStripe;
	let stripe: StripeProvider;
	const WHSEC = "whsec_unit";
	beforeAll(async () => {
		fake = await startFakeStripe();
		stripe = new StripeProvider({ secretKey: fake.secretKey, webhookSecret: WHSEC, apiBase: fake.url });
	});
	afterAll(() => fake.close());

	const event = (type: string, object: Record<string, unknown>) => ({ id: `evt_${type}`, object: "event", type, data: { object } });

	it("opens a Checkout Session with our id as idempotency key, reference and metadata", async () => {
		// One payment, as stored: a retry sends its stored createdAt/expiresAt again.
		const payment = input({ currency: "USD", amount: 500 });
		const created = await stripe.createPayment(payment);
		expect(created.action).toEqual({ type: "redirect", url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\/c\/pay\/cs_test_/) });
		expect(created.providerRef).toMatch(/^cs_test_/);
		const req = fake.requests.at(-1)!;
		expect(req.headers["idempotency-key"]).toBe("01JPAYMENT00000000000000001");
		expect(req.headers["content-type"]).toBe("application/x-www-form-urlencoded");
		const form = new URLSearchParams(req.body);
		expect(form.get("mode")).toBe("payment");
		expect(form.get("client_reference_id")).toBe("01JPAYMENT00000000000000001");
		expect(form.get("metadata[payment_id]")).toBe("01JPAYMENT00000000000000001");
		expect(form.get("payment_intent_data[metadata][payment_id]")).toBe("01JPAYMENT00000000000000001");
		expect(form.get("line_items[0][price_data][unit_amount]")).toBe("500");
		expect(form.get("line_items[0][price_data][currency]")).toBe("usd");
		expect(form.get("success_url")).toContain("session_id={CHECKOUT_SESSION_ID}");
		// Stripe needs at least 30 minutes; our expiry follows Stripe's.
		expect(Number(form.get("expires_at")) * 1000 - Date.now()).toBeGreaterThanOrEqual(30 * 60_000);
		expect(created.expiresAt!.getTime()).toBe(Number(form.get("expires_at")) * 1000);
		// Retried with the same id: Stripe's idempotency returns the same session.
		expect((await stripe.createPayment(payment)).providerRef).toBe(created.providerRef);
	});

	it("sends the same expires_at when the same payment is retried later (Stripe refuses a changed idempotent request)", async () => {
		const createdAt = new Date();
		const first = await stripe.createPayment(input({ paymentId: "01JPAYMENT0000000000000RETRY", currency: "USD", amount: 500, createdAt }));
		vi.useFakeTimers({ toFake: ["Date"] });
		try {
			vi.setSystemTime(Date.now() + 120_000);
			const retried = await stripe.createPayment(input({ paymentId: "01JPAYMENT0000000000000RETRY", currency: "USD", amount: 500, createdAt }));
			expect(retried.providerRef).toBe(first.providerRef);
		} finally {
			vi.useRealTimers();
		}
		const bodies = fake.requests.filter((r) => r.headers["idempotency-key"] === "01JPAYMENT0000000000000RETRY").map((r) => r.body);
		expect(bodies).toHaveLength(2);
		expect(bodies[1]).toBe(bodies[0]);
	});

	it("refuses a bad secret key as a provider error", async () => {
		const bad = new StripeProvider({ secretKey: "sk_wrong", apiBase: fake.url });
		await expect(bad.createPayment(input({ currency: "USD", amount: 500 }))).rejects.toBeInstanceOf(ProviderError);
	});

	it("verifies Stripe-Signature", async () => {
		const body = JSON.stringify(event("checkout.session.completed", { id: "cs_1", payment_status: "paid", client_reference_id: "P1" }));
		expect(await stripe.verifyWebhook(body, { "stripe-signature": sign(body, WHSEC) })).toHaveLength(1);
		await expect(stripe.verifyWebhook(body, { "stripe-signature": sign(body, "whsec_other") })).rejects.toBeInstanceOf(WebhookSignatureError);
		await expect(stripe.verifyWebhook(body, {})).rejects.toMatchObject({ reason: "missing_header" });
		const noSecret = new StripeProvider({ secretKey: "sk", apiBase: fake.url });
		await expect(noSecret.verifyWebhook(body, { "stripe-signature": sign(body, WHSEC) })).rejects.toBeInstanceOf(WebhookSignatureError);
	});

	it("refuses a tampered body, a wrong secret, an expired or future timestamp and a v0-only header", async () => {
		const body = JSON.stringify(event("checkout.session.completed", { id: "cs_2", payment_status: "paid", client_reference_id: "P2" }));
		await expectRefusals((b, header) => stripe.verifyWebhook(b, { "stripe-signature": header }), body, WHSEC);
	});

	it("maps events onto our statuses", () => {
		const cases: [string, Record<string, unknown>, string | null][] = [
			[
				"checkout.session.completed",
				{ id: "cs_1", payment_status: "paid", client_reference_id: "P1", payment_intent: "pi_1", amount_total: 500, currency: "usd" },
				"paid",
			],
			["checkout.session.completed", { id: "cs_1", payment_status: "unpaid", client_reference_id: "P1" }, "pending"],
			["checkout.session.async_payment_succeeded", { id: "cs_1", payment_status: "paid", client_reference_id: "P1" }, "paid"],
			["checkout.session.async_payment_failed", { id: "cs_1", client_reference_id: "P1" }, "failed"],
			["checkout.session.expired", { id: "cs_1", client_reference_id: "P1" }, "expired"],
			["payment_intent.succeeded", { id: "pi_1", metadata: { payment_id: "P1" }, amount_received: 500, currency: "usd" }, "paid"],
			// A decline is not final: the payer may retry in the same Checkout Session.
			["payment_intent.payment_failed", { id: "pi_1", metadata: { payment_id: "P1" } }, "pending"],
			["charge.refunded", { id: "ch_1", payment_intent: "pi_1", refunded: true, amount: 500, amount_refunded: 500 }, "refunded"],
			["charge.refunded", { id: "ch_1", payment_intent: "pi_1", refunded: false, amount: 500, amount_refunded: 200 }, "refunded"],
			["charge.dispute.created", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "needs_response" }, "reversed"],
			["charge.dispute.created", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "warning_needs_response" }, null],
			["charge.dispute.funds_withdrawn", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "needs_response" }, "reversed"],
			["charge.dispute.funds_reinstated", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "won" }, "paid"],
			["charge.dispute.closed", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "won" }, "paid"],
			["charge.dispute.closed", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "lost" }, "reversed"],
			["charge.dispute.closed", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "warning_closed" }, null],
			["customer.created", { id: "cus_1" }, null],
		];
		for (const [type, obj, expected] of cases) expect(stripe.parseEvent(event(type, obj))?.status ?? null, type).toBe(expected);
		const paid = stripe.parseEvent(
			event("checkout.session.completed", {
				id: "cs_1",
				payment_status: "paid",
				client_reference_id: "P1",
				payment_intent: "pi_1",
				amount_total: 500,
				currency: "usd",
			}),
		)!;
		expect(paid).toMatchObject({ paymentId: "P1", amount: 500, currency: "USD", learnedRefs: ["pi_1"] });
		// payment_intent.succeeded records the PaymentIntent (a refund needs it).
		expect(
			stripe.parseEvent(event("payment_intent.succeeded", { id: "pi_9", metadata: { payment_id: "P1" }, amount_received: 500, currency: "usd" }))!
				.learnedRefs,
		).toEqual(["pi_9"]);
		// Partial refunds carry the cumulative refunded amount; a full one does not need it.
		expect(
			stripe.parseEvent(event("charge.refunded", { id: "ch_1", payment_intent: "pi_1", refunded: false, amount: 500, amount_refunded: 200 }))!
				.refundedTotal,
		).toBe(200);
		expect(
			stripe.parseEvent(event("charge.refunded", { id: "ch_1", payment_intent: "pi_1", refunded: true, amount: 500, amount_refunded: 500 }))!
				.refundedTotal,
		).toBeUndefined();
		expect(stripe.parseEvent(event("charge.dispute.closed", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "won" }))!.reinstate).toBe(true);
		// A dispute carries no metadata: it is matched through the PaymentIntent.
		expect(
			stripe.parseEvent(event("charge.dispute.created", { id: "dp_1", charge: "ch_1", payment_intent: "pi_1", status: "needs_response" }))!.providerRefs,
		).toContain("pi_1");
	});

	it("reads a completed session for reconciliation", async () => {
		const created = await stripe.createPayment(input({ paymentId: "01JPAYMENT00000000000000002", currency: "USD", amount: 700 }));
		const sess = fake.sessions.get(created.providerRef!)!;
		expect(await stripe.fetchStatus!({ id: "01JPAYMENT00000000000000002", providerRefs: [sess.id], amount: 700, currency: "USD" })).toBeNull();
		Object.assign(sess, { status: "complete", payment_status: "paid", payment_intent: "pi_77" });
		expect(await stripe.fetchStatus!({ id: "01JPAYMENT00000000000000002", providerRefs: [sess.id], amount: 700, currency: "USD" })).toMatchObject({
			status: "paid",
			amount: 700,
			learnedRefs: ["pi_77"],
		});
	});
});

describe("paypal provider", () => {
	let fake: FakePayPal;
	let pp: PayPalProvider;
	beforeAll(async () => {
		fake = await startFakePayPal();
		pp = new PayPalProvider({
			clientId: fake.clientId,
			clientSecret: fake.clientSecret,
			webhookId: fake.webhookId,
			apiBase: fake.url,
			returnUrl: "http://pay.example.test/api/payments/paypal/return",
		});
	});
	afterAll(() => fake.close());

	const webhook = (type: string, resource: Record<string, unknown>) =>
		JSON.stringify({ id: `WH-${type}`, event_type: type, resource_type: "capture", resource });

	it("caches the OAuth token across calls", async () => {
		const before = fake.tokensIssued;
		await Promise.all([pp.accessToken(), pp.accessToken(), pp.accessToken()]);
		await pp.createPayment(input({ currency: "USD", amount: 500 }));
		expect(fake.tokensIssued - before).toBeLessThanOrEqual(1);
	});

	it("creates an order (intent CAPTURE, custom_id) and redirects to the approval link", async () => {
		const created = await pp.createPayment(input({ currency: "USD", amount: 1234 }));
		expect(created.action).toMatchObject({ type: "redirect", url: expect.stringContaining("paypal.test/checkoutnow?token=") });
		const order = JSON.parse(fake.requests.filter((r) => r.path === "/v2/checkout/orders").at(-1)!.body);
		expect(order.intent).toBe("CAPTURE");
		expect(order.purchase_units[0]).toMatchObject({ custom_id: "01JPAYMENT00000000000000001", amount: { currency_code: "USD", value: "12.34" } });
		expect(order.payment_source.paypal.experience_context.return_url).toBe("http://pay.example.test/api/payments/paypal/return");
		await expect(pp.createPayment(input())).rejects.toMatchObject({ field: "currency" }); // IDR
	});

	it("verifies webhooks through the verify-webhook-signature API", async () => {
		const body = webhook("PAYMENT.CAPTURE.COMPLETED", {
			id: "CAP1",
			status: "COMPLETED",
			custom_id: "P1",
			amount: { currency_code: "USD", value: "5.00" },
			supplementary_data: { related_ids: { order_id: "ORD1" } },
		});
		const [ev] = await pp.verifyWebhook(body, fake.signWebhook(body));
		expect(pp.parseEvent(ev)).toMatchObject({
			eventId: "WH-PAYMENT.CAPTURE.COMPLETED",
			paymentId: "P1",
			status: "paid",
			amount: 500,
			currency: "USD",
			learnedRefs: ["CAP1"],
		});
		const signed = fake.signWebhook(body);
		await expect(pp.verifyWebhook(body.replace("5.00", "500.00"), signed)).rejects.toMatchObject({ reason: "signature_mismatch" });
		await expect(pp.verifyWebhook(body, fake.signWebhook(body, "WH-OTHER-ACCOUNT"))).rejects.toBeInstanceOf(WebhookSignatureError);
		const { "paypal-transmission-sig": _sig, ...missing } = signed;
		await expect(pp.verifyWebhook(body, missing)).rejects.toMatchObject({ reason: "missing_header" });
	});

	it("maps capture events", () => {
		const map: Record<string, string> = {
			"PAYMENT.CAPTURE.COMPLETED": "paid",
			"PAYMENT.CAPTURE.DENIED": "failed",
			"PAYMENT.CAPTURE.REFUNDED": "refunded",
			"PAYMENT.CAPTURE.REVERSED": "reversed",
		};
		for (const [type, status] of Object.entries(map)) expect(pp.parseEvent(JSON.parse(webhook(type, { id: "X", custom_id: "P1" })))!.status).toBe(status);
		// An approved order is captured at once.
		expect(
			pp.parseEvent(JSON.parse(webhook("CHECKOUT.ORDER.APPROVED", { id: "ORD1", status: "APPROVED", purchase_units: [{ custom_id: "P1" }] }))),
		).toMatchObject({ paymentId: "P1", captureRef: "ORD1", status: "pending" });
		// A partial refund: total_refunded_amount is the capture's refunded total so far.
		const partial = pp.parseEvent(
			JSON.parse(
				webhook("PAYMENT.CAPTURE.REFUNDED", {
					id: "REF2",
					amount: { currency_code: "USD", value: "2.00" },
					seller_payable_breakdown: { total_refunded_amount: { currency_code: "USD", value: "3.50" } },
				}),
			),
		)!;
		expect(partial).toMatchObject({ status: "refunded", refundedTotal: 350 });
		const refund = pp.parseEvent(
			JSON.parse(webhook("PAYMENT.CAPTURE.REFUNDED", { id: "REF1", links: [{ rel: "up", href: `${fake.url}/v2/payments/captures/CAP9` }] })),
		)!;
		expect(refund.providerRefs).toEqual(["CAP9"]);
	});

	it("captures an approved order and reports it paid", async () => {
		const created = await pp.createPayment(input({ paymentId: "PCAP", currency: "USD", amount: 500 }));
		const ref = { id: "PCAP", providerRef: created.providerRef, providerRefs: [created.providerRef!], amount: 500, currency: "USD" };
		expect(await pp.capture!(ref, created.providerRef!)).toBeNull(); // not approved yet
		fake.orders.get(created.providerRef!)!.status = "APPROVED";
		const ev = await pp.capture!(ref, created.providerRef!);
		expect(ev).toMatchObject({ status: "paid", paymentId: "PCAP", amount: 500, currency: "USD" });
		// Capturing twice: PayPal says already captured, the order still reads as paid.
		expect(await pp.capture!(ref, created.providerRef!)).toMatchObject({ status: "paid" });
	});

	it("reconciles an approved order the payer never came back from by capturing it", async () => {
		const created = await pp.createPayment(input({ paymentId: "PRECON", currency: "EUR", amount: 990 }));
		const ref = { id: "PRECON", providerRef: created.providerRef, providerRefs: [created.providerRef!], amount: 990, currency: "EUR" };
		expect(await pp.fetchStatus!(ref)).toBeNull(); // still waiting for the payer
		fake.orders.get(created.providerRef!)!.status = "APPROVED";
		expect(await pp.fetchStatus!(ref)).toMatchObject({ status: "paid", amount: 990, currency: "EUR" });
		expect(fake.orders.get(created.providerRef!)!.status).toBe("COMPLETED");
	});

	it("turns an unreachable API into a provider error", async () => {
		const dead = await startFakeServer();
		const url = dead.url;
		await dead.close();
		const off = new PayPalProvider({ clientId: "a", clientSecret: "b", webhookId: "w", apiBase: url, returnUrl: "http://x" });
		await expect(off.createPayment(input({ currency: "USD", amount: 500 }))).rejects.toBeInstanceOf(ProviderError);
	});
});
