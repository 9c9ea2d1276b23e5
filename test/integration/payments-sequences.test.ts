import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sign } from "../../lib/tools/signature";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import { setupStreamer } from "../support/flow";
import {
	approvePayPalOrder,
	midtransNotification,
	paypalRefundEvent,
	providerEnv,
	startFakeMidtrans,
	startFakePayPal,
	startFakeStripe,
	stripeSequences,
	type FakeMidtrans,
	type FakePayPal,
	type FakeServer,
	type FakeStripe,
} from "../support/fake-providers";

/**
 * The providers' real event sequences, replayed by the fakes through the real gateway, with the
 * real donations service: what the donor and the streamer see (donation status, refundedAmount,
 * ledger, balance) after a decline before a success, a deny before a settlement, a forged status
 * on a genuine notification, partial refunds, disputes (inquiry, withdrawn, won), a declined
 * PayPal funding source and refunds the provider refuses.
 */

const WHSEC = "whsec_sequences";
let h: Harness;
let api: ReturnType<typeof client>;
let stripe: FakeStripe;
let midtrans: FakeMidtrans;
let paypal: FakePayPal;
let usd: Awaited<ReturnType<typeof setupStreamer>>;
let idr: Awaited<ReturnType<typeof setupStreamer>>;

beforeAll(async () => {
	[stripe, midtrans, paypal] = await Promise.all([startFakeStripe(), startFakeMidtrans(), startFakePayPal()]);
	h = await startHarness({
		services: ["users", "payments", "donations", "ledger", "stats"],
		env: { SCRYPT_COST: "1024", PUBLIC_URL: "http://pay.example.test", ...providerEnv({ stripe, stripeWebhookSecret: WHSEC, midtrans, paypal }) },
	});
	api = client(h.url);
	usd = await setupStreamer(h.url, { donations: { enabled: true, minAmount: 100, currency: "USD" } });
	idr = await setupStreamer(h.url);
});
afterAll(async () => {
	await h?.stop();
	await Promise.all([stripe?.close(), midtrans?.close(), paypal?.close()]);
});

async function donate(streamer: typeof usd, provider: string, amount: number, currency: string, extra: Record<string, unknown> = {}) {
	const res = await api("POST", "/api/donations", { to: streamer.username, amount, currency, provider, donorName: "Budi", ...extra });
	expect(res.status, JSON.stringify(res.body)).toBe(201);
	return { donationId: res.body.donation.id as string, paymentId: res.body.payment.id as string, action: res.body.payment.action };
}

const donation = async (streamer: typeof usd, id: string) => (await api("GET", `/api/donations/${id}`, undefined, { token: streamer.token })).body;
const payment = async (id: string) => (await api("GET", `/api/payments/${id}`)).body;
const balance = async (streamer: typeof usd, currency: string) =>
	((await api("GET", "/api/me/balance", undefined, { token: streamer.token })).body.balances.find((b: any) => b.currency === currency)?.amount ??
		0) as number;
const debitsOf = async (streamer: typeof usd, donationId: string) =>
	(await api("GET", "/api/me/ledger?limit=100", undefined, { token: streamer.token })).body.items
		.filter((e: any) => e.donationId === donationId && e.kind !== "credit")
		.map((e: any) => e.gross);

const statsTotal = async (streamer: typeof usd, currency: string) =>
	((await api("GET", `/api/users/${streamer.username}/stats`)).body.totals.find((t: any) => t.currency === currency) ?? { amount: 0, count: 0 }) as {
		amount: number;
		count: number;
	};

/** The paid effects run after the status change: wait for the donation's ledger credit. */
const credited = (streamer: typeof usd, donationId: string) =>
	waitFor(
		async () =>
			(await api("GET", "/api/me/ledger?limit=100", undefined, { token: streamer.token })).body.items.some(
				(e: any) => e.donationId === donationId && e.kind === "credit",
			),
		8000,
		"ledger credit",
	);

async function until(streamer: typeof usd, id: string, check: (d: any) => boolean, what: string) {
	await waitFor(async () => check(await donation(streamer, id)), 8000, what);
	return donation(streamer, id);
}

const postStripe = (event: unknown) => {
	const raw = JSON.stringify(event);
	return api("POST", "/api/payments/webhooks/stripe", undefined, {
		raw,
		headers: { "Content-Type": "application/json", "Stripe-Signature": sign(raw, WHSEC) },
	});
};
const postMidtrans = (n: unknown) =>
	api("POST", "/api/payments/webhooks/midtrans", undefined, { raw: JSON.stringify(n), headers: { "Content-Type": "application/json" } });
const postPayPal = (event: unknown) => {
	const raw = JSON.stringify(event);
	return api("POST", "/api/payments/webhooks/paypal", undefined, { raw, headers: { "Content-Type": "application/json", ...paypal.signWebhook(raw) } });
};

async function stripeDonation(amount = 1000) {
	const d = await donate(usd, "stripe", amount, "USD");
	const session = [...stripe.sessions.values()].find((s) => s.form.get("client_reference_id") === d.paymentId)!;
	return { ...d, seq: stripeSequences(d.paymentId, { sessionId: session.id, amount, currency: "usd" }) };
}

describe("stripe", () => {
	it("a declined card then a successful retry in the same Checkout Session ends paid", async () => {
		const d = await stripeDonation();
		const [declined, completed, succeeded] = d.seq.declineThenSuccess();
		expect((await postStripe(declined)).status).toBe(200);
		expect((await payment(d.paymentId)).status).toBe("pending");
		expect((await postStripe(completed)).body.status).toBe("paid");
		expect((await postStripe(succeeded)).body.result).toBe("no_change");
		const paid = await until(usd, d.donationId, (x) => x.status === "paid", "donation paid");
		expect(paid.refundedAmount).toBe(0);
		// Only the session's expiry fails a payment.
		const e = await stripeDonation();
		expect((await postStripe(e.seq.expired()[0])).body.status).toBe("expired");
	});

	it("books partial refunds once each, in any order, and a full refund as refunded", async () => {
		const d = await stripeDonation(1000);
		await postStripe(d.seq.paid()[0]);
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		await credited(usd, d.donationId);
		const before = await balance(usd, "USD");
		const [r200, r500, r1000] = d.seq.refunds(200, 300, 500);
		expect((await postStripe(r500)).body).toMatchObject({ status: "paid", result: "applied" });
		// Older, smaller total delivered late, and a redelivery: nothing more is booked.
		expect((await postStripe(r200)).body.result).toBe("no_change");
		expect((await postStripe(r500)).body.duplicate).toBe(true);
		const partly = await until(usd, d.donationId, (x) => x.refundedAmount === 500, "refundedAmount 500");
		expect(partly.status).toBe("paid");
		expect(await debitsOf(usd, d.donationId)).toEqual([-500]);
		expect(await balance(usd, "USD")).toBe(before - 500);
		expect((await payment(d.paymentId)).refundedAmount).toBe(500);

		expect((await postStripe(r1000)).body.status).toBe("refunded");
		// The status first, then the effects book the rest of the debit.
		const refunded = await until(usd, d.donationId, (x) => x.status === "refunded" && x.refundedAmount === 1000, "refunded in full");
		expect(refunded.refundedAmount).toBe(1000);
		expect((await debitsOf(usd, d.donationId)).sort()).toEqual([-500, -500]);
		expect(await balance(usd, "USD")).toBe(before - 1000);
	});

	it("an inquiry does not reverse; withdrawn funds do; a won dispute gives them back exactly once", async () => {
		const d = await stripeDonation(700);
		await postStripe(d.seq.paid()[0]);
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		await credited(usd, d.donationId);
		const before = await balance(usd, "USD");
		const statsBefore = await statsTotal(usd, "USD");
		for (const ev of d.seq.inquiry()) expect((await postStripe(ev)).status).toBe(200);
		expect((await payment(d.paymentId)).status).toBe("paid");

		const [created, withdrawn] = d.seq.disputeWithdrawn();
		expect((await postStripe(created)).body.status).toBe("reversed");
		expect((await postStripe(withdrawn)).body.result).toBe("no_change");
		await until(usd, d.donationId, (x) => x.status === "reversed", "reversed");
		await waitFor(async () => (await balance(usd, "USD")) === before - 700, 8000, "debited");
		await waitFor(async () => (await statsTotal(usd, "USD")).amount === statsBefore.amount - 700, 8000, "stats without it");

		const [reinstated, closedWon] = d.seq.disputeWon();
		expect((await postStripe(reinstated)).body).toMatchObject({ status: "paid", result: "applied" });
		expect((await postStripe(closedWon)).body.result).toBe("no_change");
		await until(usd, d.donationId, (x) => x.status === "paid", "paid again");
		await waitFor(async () => (await balance(usd, "USD")) === before, 8000, "credited back");
		// Counted in the stats again, once.
		await waitFor(async () => (await statsTotal(usd, "USD")).amount === statsBefore.amount, 8000, "stats with it again");
		expect((await statsTotal(usd, "USD")).count).toBe(statsBefore.count);
		// The reversal's message delivered again after the reinstatement, and the reinstatement's
		// again: nothing changes (the channel handler itself, awaited).
		const donations = h.broker.getLocalService("donations") as any;
		await donations.applyPaymentStatus(d.donationId, "reversed", d.paymentId, { refundedAmount: 700, reinstatements: 0 });
		await donations.applyPaymentStatus(d.donationId, "paid", d.paymentId, { refundedAmount: 0, reinstatements: 1 });
		expect((await donation(usd, d.donationId)).status).toBe("paid");
		expect(await balance(usd, "USD")).toBe(before);
		const entries = (await api("GET", "/api/me/ledger?limit=100", undefined, { token: usd.token })).body.items.filter(
			(e: any) => e.donationId === d.donationId,
		);
		expect(entries.map((e: any) => e.kind).sort()).toEqual(["credit", "debit", "reinstatement"]);
	});

	it("a reinstatement cut short after its status change gets its credit from the redelivered message", async () => {
		const d = await stripeDonation(400);
		await postStripe(d.seq.paid()[0]);
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		await credited(usd, d.donationId);
		const before = await balance(usd, "USD");
		await postStripe(d.seq.disputeWithdrawn()[1]);
		await until(usd, d.donationId, (x) => x.status === "reversed", "reversed");
		await waitFor(async () => (await balance(usd, "USD")) === before - 400, 8000, "debited");
		// The process died right after the reinstatement's status change: paid again, no credit yet.
		const donations = h.broker.getLocalService("donations") as any;
		await donations.store.updateMany({ _id: d.donationId }, { $set: { status: "paid", reinstatements: 1 } });
		expect(await balance(usd, "USD")).toBe(before - 400);
		// The payment's message is delivered again (twice): the credit is booked once.
		await donations.applyPaymentStatus(d.donationId, "paid", d.paymentId, { refundedAmount: 0, reinstatements: 1 });
		await donations.applyPaymentStatus(d.donationId, "paid", d.paymentId, { refundedAmount: 0, reinstatements: 1 });
		expect(await balance(usd, "USD")).toBe(before);
		expect((await donation(usd, d.donationId)).refundedAmount).toBe(0);
	});

	it("payment_intent.succeeded alone records the PaymentIntent, so the refund works", async () => {
		const d = await stripeDonation(900);
		await postStripe(d.seq.paid()[0]);
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		const res = await api("POST", `/api/payments/${d.paymentId}/refund`, undefined, { token: usd.token });
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		expect(stripe.refunds.get(d.seq.pi)).toHaveLength(1);
	});

	it("a refund Stripe refuses is a 422 with Stripe's reason, not a 503", async () => {
		const d = await stripeDonation(900);
		await postStripe(d.seq.paid()[0]);
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		stripe.refundError = { code: "charge_already_refunded", message: "Charge has already been refunded." };
		try {
			const res = await api("POST", `/api/payments/${d.paymentId}/refund`, undefined, { token: usd.token });
			expect(res.status).toBe(422);
			expect(res.body).toMatchObject({ type: "PROVIDER_REFUSED", data: { provider: "stripe", reason: "charge_already_refunded" } });
			expect(res.body.message).toContain("Charge has already been refunded");
		} finally {
			stripe.refundError = null;
		}
		expect((await payment(d.paymentId)).status).toBe("paid");
	});

	it("pins Stripe-Version on every request", () => {
		expect(stripe.requests.length).toBeGreaterThan(0);
		expect(stripe.requests.every((r) => r.headers["stripe-version"] === "2026-10-28.endive")).toBe(true);
	});
});

describe("midtrans", () => {
	it("a genuine pending notification edited to settlement (same signature) does not pay", async () => {
		const d = await donate(idr, "midtrans", 1_000_000, "IDR", { method: "qris" });
		const pending = midtrans.step(d.paymentId, { transaction_status: "pending", gross_amount: "10000.00" });
		expect((await postMidtrans(pending)).status).toBe(200);
		// The signature covers order_id + status_code + gross_amount only: this edit keeps it valid.
		const edited = { ...pending, transaction_status: "settlement" };
		const res = await postMidtrans(edited);
		expect(res.status).toBe(200);
		expect((await payment(d.paymentId)).status).toBe("pending");
		expect(midtrans.requests.filter((r) => r.path === `/v2/${d.paymentId}/status`).length).toBeGreaterThanOrEqual(2);
		// Likewise a challenged card capture edited to fraud_status accept.
		const c = await donate(idr, "midtrans", 1_000_000, "IDR");
		const challenge = midtrans.step(c.paymentId, {
			transaction_status: "capture",
			fraud_status: "challenge",
			gross_amount: "10000.00",
			payment_type: "credit_card",
		});
		await postMidtrans({ ...challenge, fraud_status: "accept" });
		expect((await payment(c.paymentId)).status).toBe("pending");
		// Once Midtrans itself reports the settlement, it pays.
		const settled = midtrans.step(d.paymentId, { transaction_status: "settlement", gross_amount: "10000.00" });
		expect((await postMidtrans(settled)).body.status).toBe("paid");
		await until(idr, d.donationId, (x) => x.status === "paid", "paid");
	});

	it("a deny leaves the payment pending; the retry that settles pays it", async () => {
		const d = await donate(idr, "midtrans", 1_000_000, "IDR");
		const deny = midtrans.step(d.paymentId, { transaction_status: "deny", gross_amount: "10000.00", payment_type: "credit_card" });
		expect((await postMidtrans(deny)).status).toBe(200);
		expect((await payment(d.paymentId)).status).toBe("pending");
		const settle = midtrans.step(d.paymentId, { transaction_status: "settlement", gross_amount: "10000.00", payment_type: "credit_card" });
		expect((await postMidtrans(settle)).body.status).toBe("paid");
		await until(idr, d.donationId, (x) => x.status === "paid", "paid");
		// cancel, expire and failure do fail a pending payment.
		for (const ts of ["cancel", "expire", "failure"]) {
			const x = await donate(idr, "midtrans", 1_000_000, "IDR");
			await postMidtrans(midtrans.step(x.paymentId, { transaction_status: ts, gross_amount: "10000.00" }));
			expect((await payment(x.paymentId)).status, ts).toBe(ts === "expire" ? "expired" : "failed");
		}
	});

	it("partial refunds and chargebacks debit their part; the full amount refunds", async () => {
		const d = await donate(idr, "midtrans", 1_000_000, "IDR");
		await postMidtrans(midtrans.step(d.paymentId, { transaction_status: "settlement", gross_amount: "10000.00" }));
		await until(idr, d.donationId, (x) => x.status === "paid", "paid");
		await credited(idr, d.donationId);
		const before = await balance(idr, "IDR");
		const first = midtrans.step(d.paymentId, {
			transaction_status: "partial_refund",
			gross_amount: "10000.00",
			refund_amount: "2500.00",
			refunds: [{ refund_amount: "2500.00" }],
		});
		expect((await postMidtrans(first)).body).toMatchObject({ status: "paid", result: "applied" });
		expect((await postMidtrans(first)).body.duplicate).toBe(true);
		await until(idr, d.donationId, (x) => x.refundedAmount === 250_000, "first partial");
		const second = midtrans.step(d.paymentId, {
			transaction_status: "partial_refund",
			gross_amount: "10000.00",
			refund_amount: "4000.00",
			refunds: [{ refund_amount: "2500.00" }, { refund_amount: "1500.00" }],
		});
		await postMidtrans(second);
		await until(idr, d.donationId, (x) => x.refundedAmount === 400_000, "second partial");
		expect(await balance(idr, "IDR")).toBe(before - 400_000);
		// The streamer refunds the rest: Midtrans is asked for what remains, not the whole amount.
		expect((await api("POST", `/api/payments/${d.paymentId}/refund`, undefined, { token: idr.token })).status).toBe(202);
		expect(JSON.parse(midtrans.requests.filter((r) => r.path === `/v2/${d.paymentId}/refund`).at(-1)!.body).amount).toBe(6000);
		await postMidtrans(midtrans.step(d.paymentId, { transaction_status: "refund", gross_amount: "10000.00" }));
		const done = await until(idr, d.donationId, (x) => x.status === "refunded" && x.refundedAmount === 1_000_000, "refunded in full");
		expect(done.refundedAmount).toBe(1_000_000);
		expect((await debitsOf(idr, d.donationId)).reduce((a: number, b: number) => a + b, 0)).toBe(-1_000_000);
		expect(await balance(idr, "IDR")).toBe(before - 1_000_000);
	});

	it("refunds a card still in capture with /cancel, and refuses a virtual-account refund with 422", async () => {
		const card = await donate(idr, "midtrans", 1_000_000, "IDR");
		await postMidtrans(
			midtrans.step(card.paymentId, { transaction_status: "capture", fraud_status: "accept", gross_amount: "10000.00", payment_type: "credit_card" }),
		);
		await until(idr, card.donationId, (x) => x.status === "paid", "paid");
		const res = await api("POST", `/api/payments/${card.paymentId}/refund`, undefined, { token: idr.token });
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		expect(midtrans.requests.some((r) => r.method === "POST" && r.path === `/v2/${card.paymentId}/cancel`)).toBe(true);
		expect(midtrans.requests.some((r) => r.path === `/v2/${card.paymentId}/refund`)).toBe(false);
		await postMidtrans(midtrans.step(card.paymentId, { transaction_status: "cancel", gross_amount: "10000.00", payment_type: "credit_card" }));
		await until(idr, card.donationId, (x) => x.status === "refunded", "voided capture refunded");

		const va = await donate(idr, "midtrans", 1_000_000, "IDR", { method: "bank_transfer", bank: "bca" });
		await postMidtrans(midtrans.step(va.paymentId, { transaction_status: "settlement", gross_amount: "10000.00", payment_type: "bank_transfer" }));
		await until(idr, va.donationId, (x) => x.status === "paid", "paid");
		const refused = await api("POST", `/api/payments/${va.paymentId}/refund`, undefined, { token: idr.token });
		expect(refused.status).toBe(422);
		expect(refused.body).toMatchObject({ type: "PROVIDER_REFUSED", data: { reason: "NOT_REFUNDABLE" } });
		expect((await payment(va.paymentId)).status).toBe("paid");
	});

	it("ignores a notification for an order Midtrans does not know (HTTP 404 on the status check)", async () => {
		const d = await donate(idr, "midtrans", 1_000_000, "IDR");
		const n = midtransNotification(midtrans.serverKey, { order_id: d.paymentId, transaction_status: "settlement", gross_amount: "10000.00" });
		const res = await postMidtrans(n);
		expect(res.status).toBe(200);
		expect((await payment(d.paymentId)).status).toBe("pending");
	});
});

describe("paypal", () => {
	async function paypalDonation(amount = 1500) {
		const d = await donate(usd, "paypal", amount, "USD");
		return { ...d, orderId: new URL(d.action.url).searchParams.get("token")! };
	}

	it("INSTRUMENT_DECLINED on capture sends the payer back to PayPal; the next funding source pays", async () => {
		const d = await paypalDonation();
		approvePayPalOrder(paypal, d.orderId);
		paypal.orders.get(d.orderId)!.declineNext = "INSTRUMENT_DECLINED";
		const back = await fetch(`${h.url}/api/payments/paypal/return?token=${d.orderId}&PayerID=P1`, { redirect: "manual" });
		await back.text();
		expect(back.status).toBe(302);
		expect(back.headers.get("location")).toBe(`https://www.paypal.test/checkoutnow?token=${d.orderId}`);
		expect((await payment(d.paymentId)).status).toBe("pending");
		approvePayPalOrder(paypal, d.orderId);
		const again = await fetch(`${h.url}/api/payments/paypal/return?token=${d.orderId}&PayerID=P1`, { redirect: "manual" });
		await again.text();
		expect(again.headers.get("location")).toBe(`http://pay.example.test/pay/result/${d.paymentId}?status=paid`);
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
	});

	it("REDIRECT_PAYER_FOR_ALTERNATE_FUNDING is a payer action, not a 503", async () => {
		const d = await paypalDonation();
		approvePayPalOrder(paypal, d.orderId);
		paypal.orders.get(d.orderId)!.declineNext = "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING";
		const back = await fetch(`${h.url}/api/payments/paypal/return?token=${d.orderId}`, { redirect: "manual" });
		await back.text();
		expect(back.status).toBe(302);
		expect(back.headers.get("location")).toContain("paypal.test/checkoutnow");
	});

	it("captures at once on CHECKOUT.ORDER.APPROVED, and books a partial refund", async () => {
		const d = await paypalDonation(2000);
		approvePayPalOrder(paypal, d.orderId);
		const o = paypal.orders.get(d.orderId)!;
		const approved = {
			id: `WH-APPROVED-${d.orderId}`,
			event_type: "CHECKOUT.ORDER.APPROVED",
			resource_type: "checkout-order",
			resource: { id: d.orderId, status: "APPROVED", intent: "CAPTURE", purchase_units: [{ custom_id: d.paymentId, amount: o.amount }] },
		};
		const res = await postPayPal(approved);
		expect(res.body).toMatchObject({ status: "paid", result: "applied" });
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		const captureId = o.capture!.id;
		expect((await postPayPal(paypalRefundEvent(captureId, { currency: "USD", value: "5.00", totalRefunded: "5.00" }))).body).toMatchObject({
			status: "paid",
		});
		await until(usd, d.donationId, (x) => x.refundedAmount === 500, "partial refund");
		expect((await postPayPal(paypalRefundEvent(captureId, { currency: "USD", value: "15.00", totalRefunded: "20.00" }))).body.status).toBe("refunded");
		await until(usd, d.donationId, (x) => x.status === "refunded" && x.refundedAmount === 2000, "refunded");
		// A refund PayPal refuses (already fully refunded) is a 422 with PayPal's issue.
		const refused = await api("POST", `/api/payments/${d.paymentId}/refund`, undefined, { token: usd.token });
		expect(refused.status).toBe(409); // our own rule first: only a paid payment can be refunded
		const p2 = await paypalDonation(1000);
		approvePayPalOrder(paypal, p2.orderId);
		await fetch(`${h.url}/api/payments/paypal/return?token=${p2.orderId}`, { redirect: "manual" }).then((r) => r.text());
		paypal.orders.get(p2.orderId)!.refunded = 1000; // refunded in PayPal's dashboard, webhook not here yet
		const r2 = await api("POST", `/api/payments/${p2.paymentId}/refund`, undefined, { token: usd.token });
		expect(r2.status).toBe(422);
		expect(r2.body).toMatchObject({ type: "PROVIDER_REFUSED", data: { reason: "CAPTURE_FULLY_REFUNDED" } });
	});
});

describe("stripe checkout requests", () => {
	it("derives expires_at from the payment's own creation time (identical on every retry)", async () => {
		const { idTime, randomId } = await import("../../lib/tools/ids");
		const id = randomId(Date.now() - 120_000);
		await h.broker.call("payments.create", { paymentId: id, donationId: `d-${id}`, amount: 500, currency: "USD", provider: "stripe" });
		const form = new URLSearchParams(stripe.requests.filter((r) => r.path === "/v1/checkout/sessions").find((r) => r.body.includes(id))!.body);
		expect(Number(form.get("expires_at"))).toBe(Math.floor(idTime(id) / 1000) + 35 * 60);
	});
});

describe("partial refunds asked over REST", () => {
	const refundsAt = (server: FakeServer, path: string) => server.requests.filter((r) => r.method === "POST" && r.path === path);

	it("stripe: POST /v1/refunds with payment_intent and amount; a repeat before the webhook is the same refund", async () => {
		const d = await stripeDonation(1000);
		await postStripe(d.seq.paid()[0]);
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		const first = await api("POST", `/api/payments/${d.paymentId}/refund`, { amount: 300 }, { token: usd.token });
		expect(first.status, JSON.stringify(first.body)).toBe(202);
		const repeat = await api("POST", `/api/payments/${d.paymentId}/refund`, { amount: 300 }, { token: usd.token });
		expect(repeat.status).toBe(202);
		// Both asked from the same refunded total: one key, one refund at Stripe.
		const asked = refundsAt(stripe, "/v1/refunds").slice(-2);
		expect(asked.map((r) => new URLSearchParams(r.body).get("amount"))).toEqual(["300", "300"]);
		expect(asked[0].headers["idempotency-key"]).toBe(asked[1].headers["idempotency-key"]);
		expect(stripe.refunds.get(d.seq.pi)).toEqual([300]);
		// Stripe's charge.refunded books it; the rest is refunded by default.
		const [r300, r1000] = d.seq.refunds(300, 700);
		expect((await postStripe(r300)).body.status).toBe("paid");
		await until(usd, d.donationId, (x) => x.refundedAmount === 300, "partial booked");
		expect((await api("POST", `/api/payments/${d.paymentId}/refund`, { amount: 701 }, { token: usd.token })).body.type).toBe("REFUND_TOO_LARGE");
		expect((await api("POST", `/api/payments/${d.paymentId}/refund`, undefined, { token: usd.token })).status).toBe(202);
		expect(stripe.refunds.get(d.seq.pi)).toEqual([300, 700]);
		expect((await postStripe(r1000)).body.status).toBe("refunded");
		await until(usd, d.donationId, (x) => x.status === "refunded", "refunded");
		// The debits follow the status change (ledger effects): 300 then the remaining 700.
		await waitFor(async () => (await debitsOf(usd, d.donationId)).length === 2, 8000, "two debits");
		expect((await debitsOf(usd, d.donationId)).sort((x: number, y: number) => x - y)).toEqual([-700, -300]);
	});

	it("midtrans: POST /v2/{order_id}/refund with refund_key and amount (IDR major units)", async () => {
		const d = await donate(idr, "midtrans", 1_000_000, "IDR", { method: "qris" });
		await postMidtrans(midtrans.step(d.paymentId, { transaction_status: "settlement", gross_amount: "10000.00", payment_type: "qris" }));
		await until(idr, d.donationId, (x) => x.status === "paid", "paid");
		const res = await api("POST", `/api/payments/${d.paymentId}/refund`, { amount: 250_000 }, { token: idr.token });
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		const body = JSON.parse(refundsAt(midtrans, `/v2/${d.paymentId}/refund`).at(-1)!.body);
		expect(body).toMatchObject({ amount: 2500, refund_key: `refund-${d.paymentId}-from-0` });
		// Whole rupiah only (Midtrans's amount is a Long): refused without a refund request.
		const sen = await api("POST", `/api/payments/${d.paymentId}/refund`, { amount: 250_050 }, { token: idr.token });
		expect([sen.status, sen.body.data?.reason]).toEqual([422, "INVALID_AMOUNT"]);
		expect(refundsAt(midtrans, `/v2/${d.paymentId}/refund`)).toHaveLength(1);
		// A card still in capture can only be voided whole: a partial refund of it is refused.
		const card = await donate(idr, "midtrans", 1_000_000, "IDR");
		await postMidtrans(
			midtrans.step(card.paymentId, { transaction_status: "capture", fraud_status: "accept", gross_amount: "10000.00", payment_type: "credit_card" }),
		);
		await until(idr, card.donationId, (x) => x.status === "paid", "card paid");
		const partCard = await api("POST", `/api/payments/${card.paymentId}/refund`, { amount: 100_000 }, { token: idr.token });
		expect(partCard.status).toBe(422);
		expect(refundsAt(midtrans, `/v2/${card.paymentId}/cancel`)).toHaveLength(0);
	});

	it("paypal: POST /v2/payments/captures/{id}/refund with amount {value, currency_code}", async () => {
		const d = await donate(usd, "paypal", 2000, "USD");
		const orderId = new URL(d.action.url).searchParams.get("token")!;
		approvePayPalOrder(paypal, orderId);
		await fetch(`${h.url}/api/payments/paypal/return?token=${orderId}`, { redirect: "manual" }).then((r) => r.text());
		await until(usd, d.donationId, (x) => x.status === "paid", "paid");
		const captureId = paypal.orders.get(orderId)!.capture!.id;
		const res = await api("POST", `/api/payments/${d.paymentId}/refund`, { amount: 550 }, { token: usd.token });
		expect(res.status, JSON.stringify(res.body)).toBe(202);
		const req = refundsAt(paypal, `/v2/payments/captures/${captureId}/refund`).at(-1)!;
		expect(JSON.parse(req.body)).toEqual({ amount: { value: "5.50", currency_code: "USD" } });
		expect(req.headers["paypal-request-id"]).toBe(`refund-${d.paymentId}-from-0`);
		expect(paypal.orders.get(orderId)!.refunded).toBe(550);
	});
});
