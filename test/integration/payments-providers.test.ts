import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import { sign } from "../../lib/tools/signature";
import { newId } from "../../lib/tools/ids";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import {
	approvePayPalOrder,
	midtransNotification,
	startFakeMidtrans,
	startFakePayPal,
	startFakeStripe,
	type FakeMidtrans,
	type FakePayPal,
	type FakeStripe,
	providerEnv,
} from "../support/fake-providers";

/**
 * Stripe, Midtrans and PayPal over the real gateway, with their APIs replaced by local fake
 * servers (STRIPE_API_BASE etc. point at them). Webhooks are sent the way each provider sends
 * them; a stub "donations" service records the payments.statusChanged channel.
 */

const WHSEC = "whsec_integration";
const messages: any[] = [];
const donationsStub = {
	name: "donations",
	channels: { "payments.statusChanged": { group: "donations", handler: (payload: any) => void messages.push(payload) } },
} as Partial<ServiceSchema>;

let h: Harness;
let api: ReturnType<typeof client>;
let stripe: FakeStripe;
let midtrans: FakeMidtrans;
let paypal: FakePayPal;

beforeAll(async () => {
	[stripe, midtrans, paypal] = await Promise.all([startFakeStripe(), startFakeMidtrans(), startFakePayPal()]);
	h = await startHarness({
		services: ["payments"],
		extra: [donationsStub],
		env: {
			PUBLIC_URL: "http://pay.example.test",
			...providerEnv({ stripe, stripeWebhookSecret: WHSEC, midtrans, paypal }),
		},
	});
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
	await Promise.all([stripe?.close(), midtrans?.close(), paypal?.close()]);
});

const messagesFor = (paymentId: string) => messages.filter((m) => m.paymentId === paymentId);
const create = (provider: string, extra: Record<string, unknown>) => h.broker.call<any, any>("payments.create", { donationId: newId(), provider, ...extra });
const statusOf = async (id: string) => (await api("GET", `/api/payments/${id}`)).body.status;

function post(provider: string, raw: string, headers: Record<string, string> = {}) {
	return api("POST", `/api/payments/webhooks/${provider}`, undefined, { raw, headers: { "Content-Type": "application/json", ...headers } });
}

describe("stripe", () => {
	const stripeEvent = (id: string, type: string, object: Record<string, unknown>) => JSON.stringify({ id, object: "event", type, data: { object } });

	it("creates a Checkout Session at the provider and redirects to it", async () => {
		const p = await create("stripe", { amount: 500, currency: "USD", email: "fan@example.test" });
		expect(p.action.type).toBe("redirect");
		const session = [...stripe.sessions.values()].find((s) => s.form.get("client_reference_id") === p.id)!;
		expect(session).toBeDefined();
		expect(p.action.url).toBe(`https://checkout.stripe.test/c/pay/${session.id}`);
		expect(session.form.get("customer_email")).toBe("fan@example.test");
		expect(stripe.requests.find((r) => r.body.includes(p.id))!.headers["idempotency-key"]).toBe(p.id);
	});

	it("settles on a correctly signed checkout.session.completed; a forged one changes nothing", async () => {
		const p = await create("stripe", { amount: 500, currency: "USD" });
		const session = [...stripe.sessions.values()].find((s) => s.form.get("client_reference_id") === p.id)!;
		const body = stripeEvent(`evt_${p.id}`, "checkout.session.completed", {
			id: session.id,
			client_reference_id: p.id,
			metadata: { payment_id: p.id },
			payment_status: "paid",
			payment_intent: `pi_${p.id}`,
			amount_total: 500,
			currency: "usd",
		});

		const forged = await post("stripe", body, { "Stripe-Signature": sign(body, "whsec_attacker") });
		expect(forged.status).toBe(400);
		expect(forged.body.type).toBe("INVALID_SIGNATURE");
		const v0 = await post("stripe", body, { "Stripe-Signature": sign(body, WHSEC).replace("v1=", "v0=") });
		expect(v0.status).toBe(400);
		expect(await statusOf(p.id)).toBe("pending");

		const ok = await post("stripe", body, { "Stripe-Signature": sign(body, WHSEC) });
		expect(ok.status).toBe(200);
		expect(ok.body.status).toBe("paid");
		await waitFor(() => messagesFor(p.id).length === 1, 5000, "paid message");
		expect(messagesFor(p.id)[0]).toMatchObject({ status: "paid", provider: "stripe", previousStatus: "pending" });

		// payment_intent.succeeded for the same payment is a different event: 200, no second message.
		const pi = stripeEvent(`evt_pi_${p.id}`, "payment_intent.succeeded", {
			id: `pi_${p.id}`,
			metadata: { payment_id: p.id },
			amount_received: 500,
			currency: "usd",
		});
		expect((await post("stripe", pi, { "Stripe-Signature": sign(pi, WHSEC) })).body.result).toBe("no_change");
		expect((await post("stripe", body, { "Stripe-Signature": sign(body, WHSEC) })).body.duplicate).toBe(true);

		// A dispute carries only the PaymentIntent: matched through it, the payment is reversed.
		const dispute = stripeEvent(`evt_dp_${p.id}`, "charge.dispute.created", { id: "dp_1", charge: "ch_1", payment_intent: `pi_${p.id}` });
		expect((await post("stripe", dispute, { "Stripe-Signature": sign(dispute, WHSEC) })).body.status).toBe("reversed");
		await waitFor(() => messagesFor(p.id).length === 2, 5000, "reversed message");
		expect(messagesFor(p.id)[1].status).toBe("reversed");
	});

	it("does not settle when the paid amount differs from the payment", async () => {
		const p = await create("stripe", { amount: 500, currency: "USD" });
		const body = stripeEvent(`evt_low_${p.id}`, "checkout.session.completed", {
			id: "cs_x",
			client_reference_id: p.id,
			payment_status: "paid",
			amount_total: 5,
			currency: "usd",
		});
		const res = await post("stripe", body, { "Stripe-Signature": sign(body, WHSEC) });
		expect(res.status).toBe(200);
		expect(res.body.result).toBe("amount_mismatch");
		expect(await statusOf(p.id)).toBe("pending");
	});

	it("expires on checkout.session.expired and refunds on charge.refunded", async () => {
		const a = await create("stripe", { amount: 900, currency: "EUR" });
		const expired = stripeEvent(`evt_exp_${a.id}`, "checkout.session.expired", { id: "cs_e", client_reference_id: a.id });
		expect((await post("stripe", expired, { "Stripe-Signature": sign(expired, WHSEC) })).body.status).toBe("expired");

		const b = await create("stripe", { amount: 900, currency: "EUR" });
		const paid = stripeEvent(`evt_paid_${b.id}`, "payment_intent.succeeded", {
			id: `pi_${b.id}`,
			metadata: { payment_id: b.id },
			amount_received: 900,
			currency: "eur",
		});
		await post("stripe", paid, { "Stripe-Signature": sign(paid, WHSEC) });
		const refunded = stripeEvent(`evt_ref_${b.id}`, "charge.refunded", {
			id: "ch_r",
			payment_intent: `pi_${b.id}`,
			metadata: { payment_id: b.id },
			refunded: true,
		});
		expect((await post("stripe", refunded, { "Stripe-Signature": sign(refunded, WHSEC) })).body.status).toBe("refunded");
		await waitFor(
			() =>
				messagesFor(b.id)
					.map((m) => m.status)
					.join() === "paid,refunded",
			5000,
			"paid then refunded",
		);
	});

	it("asks the provider to retry a refund that overtakes its settlement", async () => {
		const p = await create("stripe", { amount: 800, currency: "USD" });
		const refunded = stripeEvent(`evt_early_ref_${p.id}`, "charge.refunded", {
			id: "ch_e",
			payment_intent: `pi_${p.id}`,
			metadata: { payment_id: p.id },
			refunded: true,
		});
		const early = await post("stripe", refunded, { "Stripe-Signature": sign(refunded, WHSEC) });
		expect(early.status).toBe(409);
		expect(early.body.type).toBe("PAYMENT_NOT_SETTLED");
		expect(await statusOf(p.id)).toBe("pending");
		const paid = stripeEvent(`evt_late_paid_${p.id}`, "payment_intent.succeeded", {
			id: `pi_${p.id}`,
			metadata: { payment_id: p.id },
			amount_received: 800,
			currency: "usd",
		});
		expect((await post("stripe", paid, { "Stripe-Signature": sign(paid, WHSEC) })).body.status).toBe("paid");
		// Stripe's retry of the same event now applies.
		const retry = await post("stripe", refunded, { "Stripe-Signature": sign(refunded, WHSEC) });
		expect(retry.status).toBe(200);
		expect(retry.body.status).toBe("refunded");
		await waitFor(
			() =>
				messagesFor(p.id)
					.map((m) => m.status)
					.join() === "paid,refunded",
			5000,
			"paid then refunded",
		);
	});

	it("reconciles through payments.recheck when the webhook never came", async () => {
		const p = await create("stripe", { amount: 1500, currency: "USD" });
		const session = [...stripe.sessions.values()].find((s) => s.form.get("client_reference_id") === p.id)!;
		expect((await h.broker.call<any, any>("payments.recheck", { paymentId: p.id })).status).toBe("pending");
		Object.assign(session, { status: "complete", payment_status: "paid", payment_intent: `pi_${p.id}` });
		expect((await h.broker.call<any, any>("payments.recheck", { paymentId: p.id })).status).toBe("paid");
		await waitFor(() => messagesFor(p.id).length === 1, 5000, "paid message");
	});
});

describe("midtrans", () => {
	it("creates Snap, QRIS and bank-transfer payments and refuses other currencies", async () => {
		const snap = await create("midtrans", { amount: 2_500_000, currency: "IDR" });
		expect(snap.action).toMatchObject({ type: "redirect", url: expect.stringContaining("midtrans.test/snap/"), token: expect.any(String) });
		const snapReq = midtrans.requests.find((r) => r.path === "/snap/v1/transactions" && r.body.includes(snap.id))!;
		expect(JSON.parse(snapReq.body).transaction_details).toEqual({ order_id: snap.id, gross_amount: 25_000 });

		const qris = await create("midtrans", { amount: 2_500_000, currency: "IDR", method: "qris" });
		expect(qris.action.type).toBe("qris");
		expect(qris.action.qrString).toContain(qris.id);

		const va = await create("midtrans", { amount: 2_500_000, currency: "IDR", method: "bank_transfer", bank: "bni" });
		expect(va.action).toEqual({ type: "bank_transfer", bank: "bni", vaNumber: "12345678901" });

		await expect(create("midtrans", { amount: 500, currency: "USD" })).rejects.toMatchObject({ code: 422, type: "CURRENCY_NOT_SUPPORTED" });
		await expect(create("midtrans", { amount: 2_500_000, currency: "IDR", method: "bank_transfer" })).rejects.toMatchObject({ code: 422 });
	});

	it("settles on a signed settlement, refuses a forged one, then refunds", async () => {
		const p = await create("midtrans", { amount: 2_500_000, currency: "IDR" });
		const forged = midtransNotification(midtrans.serverKey, { order_id: p.id, transaction_status: "settlement", gross_amount: "25000.00" }, true);
		const bad = await post("midtrans", JSON.stringify(forged));
		expect(bad.status).toBe(400);
		expect(bad.body.type).toBe("INVALID_SIGNATURE");
		expect(await statusOf(p.id)).toBe("pending");

		const settled = midtrans.step(p.id, { transaction_status: "settlement", gross_amount: "25000.00" });
		const ok = await post("midtrans", JSON.stringify(settled));
		expect(ok.status).toBe(200);
		expect(ok.body.status).toBe("paid");
		// Midtrans repeats notifications: the same one again is a duplicate.
		expect((await post("midtrans", JSON.stringify(settled))).body.duplicate).toBe(true);

		const refund = midtrans.step(p.id, { transaction_status: "refund", gross_amount: "25000.00" });
		expect((await post("midtrans", JSON.stringify(refund))).body.status).toBe("refunded");
		await waitFor(
			() =>
				messagesFor(p.id)
					.map((m) => m.status)
					.join() === "paid,refunded",
			5000,
			"paid then refunded",
		);
	});

	it("waits on a challenged capture, and reverses on a deny after capture", async () => {
		const p = await create("midtrans", { amount: 1_000_000, currency: "IDR" });
		const challenge = midtrans.step(p.id, {
			transaction_status: "capture",
			fraud_status: "challenge",
			gross_amount: "10000.00",
			payment_type: "credit_card",
		});
		expect((await post("midtrans", JSON.stringify(challenge))).status).toBe(200);
		expect(await statusOf(p.id)).toBe("pending");
		const accept = midtrans.step(p.id, { transaction_status: "capture", fraud_status: "accept", gross_amount: "10000.00", payment_type: "credit_card" });
		expect((await post("midtrans", JSON.stringify(accept))).body.status).toBe("paid");
		const deny = midtrans.step(p.id, { transaction_status: "deny", gross_amount: "10000.00", payment_type: "credit_card" });
		expect((await post("midtrans", JSON.stringify(deny))).body.status).toBe("reversed");

		const q = await create("midtrans", { amount: 1_000_000, currency: "IDR" });
		const expire = midtrans.step(q.id, { transaction_status: "expire", gross_amount: "10000.00" });
		expect((await post("midtrans", JSON.stringify(expire))).body.status).toBe("expired");
		const unknown = newId();
		const cancel = midtrans.step(unknown, { transaction_status: "cancel", gross_amount: "10000.00" });
		expect((await post("midtrans", JSON.stringify(cancel))).body.ignored).toBe("unknown_payment");
	});
});

describe("paypal", () => {
	const ppEvent = (id: string, type: string, resource: Record<string, unknown>) =>
		JSON.stringify({ id, event_type: type, resource_type: "capture", resource });

	it("creates an order, captures it when the payer returns, and redirects to the result page", async () => {
		const p = await create("paypal", { amount: 1000, currency: "USD" });
		expect(p.action.url).toMatch(/paypal\.test\/checkoutnow\?token=/);
		const orderId = new URL(p.action.url).searchParams.get("token")!;
		approvePayPalOrder(paypal, orderId);

		const res = await fetch(`${h.url}/api/payments/paypal/return?token=${orderId}&PayerID=PAYER1`, { redirect: "manual" });
		expect(res.status).toBe(302);
		expect(res.headers.get("location")).toBe(`http://pay.example.test/pay/result/${p.id}?status=paid`);
		await res.text();
		expect(await statusOf(p.id)).toBe("paid");
		await waitFor(() => messagesFor(p.id).length === 1, 5000, "paid message");

		// PayPal's own webhook for that capture arrives later: acknowledged, nothing changes.
		const capture = paypal.orders.get(orderId)!.capture!;
		const completed = ppEvent(`WH-C-${p.id}`, "PAYMENT.CAPTURE.COMPLETED", {
			id: capture.id,
			status: "COMPLETED",
			custom_id: p.id,
			amount: { currency_code: "USD", value: "10.00" },
			supplementary_data: { related_ids: { order_id: orderId } },
		});
		const again = await post("paypal", completed, paypal.signWebhook(completed));
		expect(again.status).toBe(200);
		expect(again.body.result).toBe("no_change");

		const refunded = ppEvent(`WH-R-${p.id}`, "PAYMENT.CAPTURE.REFUNDED", {
			id: "REFUND1",
			status: "COMPLETED",
			links: [{ rel: "up", href: `${paypal.url}/v2/payments/captures/${capture.id}` }],
		});
		const forged = await post("paypal", refunded, paypal.signWebhook(refunded, "WH-SOMEONE-ELSE"));
		expect(forged.status).toBe(400);
		expect(await statusOf(p.id)).toBe("paid");
		const ok = await post("paypal", refunded, paypal.signWebhook(refunded));
		expect(ok.body.status).toBe("refunded");
		await waitFor(
			() =>
				messagesFor(p.id)
					.map((m) => m.status)
					.join() === "paid,refunded",
			5000,
			"paid then refunded",
		);
	});

	it("settles from the PAYMENT.CAPTURE.COMPLETED webhook alone and refuses IDR", async () => {
		const p = await create("paypal", { amount: 2000, currency: "SGD" });
		const body = ppEvent(`WH-ONLY-${p.id}`, "PAYMENT.CAPTURE.COMPLETED", {
			id: "CAPX",
			status: "COMPLETED",
			custom_id: p.id,
			amount: { currency_code: "SGD", value: "20.00" },
		});
		const missing = await post("paypal", body);
		expect(missing.status).toBe(400);
		expect((await post("paypal", body, paypal.signWebhook(body))).body.status).toBe("paid");
		await expect(create("paypal", { amount: 1_000_000, currency: "IDR" })).rejects.toMatchObject({ code: 422, type: "CURRENCY_NOT_SUPPORTED" });
	});
});

describe("provider failures", () => {
	it("answers 503 PROVIDER_ERROR when the provider API fails, stores nothing, and succeeds on retry", async () => {
		let failing = true;
		const sessionsBefore = stripe.sessions.size;
		stripe.route("POST /v1/checkout/sessions", () =>
			failing
				? { status: 500, body: { error: { message: "internal" } } }
				: {
						status: 200,
						body: { id: `cs_retry_${newId()}`, url: "https://checkout.stripe.test/c/pay/retry", expires_at: Math.floor(Date.now() / 1000) + 3600 },
					},
		);
		const donationId = newId();
		await expect(h.broker.call("payments.create", { donationId, provider: "stripe", amount: 500, currency: "USD" })).rejects.toMatchObject({
			code: 503,
			type: "PROVIDER_ERROR",
		});
		expect(stripe.sessions.size).toBe(sessionsBefore);
		failing = false;
		const p = await h.broker.call<any, any>("payments.create", { donationId, provider: "stripe", amount: 500, currency: "USD" });
		expect(p).toMatchObject({ status: "pending", action: { type: "redirect", url: "https://checkout.stripe.test/c/pay/retry" } });
		expect((await api("GET", `/api/payments/${p.id}`)).body.donationId).toBe(donationId);
	});
});
