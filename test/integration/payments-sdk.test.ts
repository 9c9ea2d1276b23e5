import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import Stripe from "stripe";
import { newId } from "../../lib/tools/ids";
import { StripeProvider } from "../../lib/payments/stripe";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import {
	providerEnv,
	startFakeMidtrans,
	startFakeStripe,
	stripeSequences,
	type FakeMidtrans,
	type FakeStripe,
	type RecordedRequest,
} from "../support/fake-providers";

/**
 * The official SDKs against our code. Stripe: webhook signatures made by `stripe` itself
 * (`webhooks.generateTestHeaderString`) go through the real gateway, and a Checkout Session the
 * SDK builds from the same parameters encodes to what we send (and pins the same Stripe-Version).
 * Midtrans: `midtrans-client`, pointed at the local fake, makes the status, cancel and refund
 * requests we make: same path, method, Basic auth with the server key, Accept, body fields.
 */

// midtrans-client ships CommonJS without types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const midtransClient = require("midtrans-client") as { CoreApi: new (o: { isProduction: boolean; serverKey: string }) => any };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const MidtransApiConfig = require("midtrans-client/lib/apiConfig") as { CORE_SANDBOX_BASE_URL: string };

const WHSEC = "whsec_sdk";
const messages: any[] = [];
let h: Harness;
let stripe: FakeStripe;
let midtrans: FakeMidtrans;
let sdk: Stripe;

beforeAll(async () => {
	[stripe, midtrans] = await Promise.all([startFakeStripe(), startFakeMidtrans()]);
	h = await startHarness({
		services: ["payments"],
		extra: [
			{
				name: "donations",
				channels: { "payments.statusChanged": { group: "donations", handler: (m: any) => void messages.push(m) } },
			} as Partial<ServiceSchema>,
		],
		env: { PUBLIC_URL: "http://pay.example.test", ...providerEnv({ stripe, stripeWebhookSecret: WHSEC, midtrans }) },
	});
	const u = new URL(stripe.url);
	sdk = new Stripe(stripe.secretKey, { host: u.hostname, port: Number(u.port), protocol: "http", maxNetworkRetries: 0, telemetry: false });
});
afterAll(async () => {
	await h?.stop();
	await Promise.all([stripe?.close(), midtrans?.close()]);
});

const api = () => client(h.url);
const sorted = (body: string) => [...new URLSearchParams(body).entries()].sort(([a], [b]) => a.localeCompare(b));

describe("stripe SDK", () => {
	it("events signed by stripe.webhooks.generateTestHeaderString settle through the gateway (a decline first)", async () => {
		const p = await h.broker.call<any, any>("payments.create", { donationId: newId(), amount: 1200, currency: "USD", provider: "stripe" });
		const session = [...stripe.sessions.values()].find((s) => s.form.get("client_reference_id") === p.id)!;
		const seq = stripeSequences(p.id, { sessionId: session.id, amount: 1200, currency: "usd" });
		const results = [];
		for (const event of seq.declineThenSuccess()) {
			const payload = JSON.stringify(event);
			const header = sdk.webhooks.generateTestHeaderString({ payload, secret: WHSEC });
			// What the SDK signs, the SDK also verifies: the same bytes our gateway gets.
			expect(sdk.webhooks.constructEvent(payload, header, WHSEC).id).toBe(event.id);
			const res = await api()("POST", "/api/payments/webhooks/stripe", undefined, {
				raw: payload,
				headers: { "Content-Type": "application/json", "Stripe-Signature": header },
			});
			expect(res.status).toBe(200);
			results.push(res.body);
		}
		expect(results.map((r) => r.status)).toEqual(["pending", "paid", "paid"]);
		await waitFor(() => messages.some((m) => m.paymentId === p.id && m.status === "paid"), 5000, "paid message");
		// A header signed with another secret by the SDK is refused.
		const payload = JSON.stringify(seq.expired()[0]);
		const forged = sdk.webhooks.generateTestHeaderString({ payload, secret: "whsec_other" });
		expect(
			(
				await api()("POST", "/api/payments/webhooks/stripe", undefined, {
					raw: payload,
					headers: { "Content-Type": "application/json", "Stripe-Signature": forged },
				})
			).status,
		).toBe(400);
	});

	it("our Checkout Session request encodes like the SDK's and pins the SDK's Stripe-Version", async () => {
		const paymentId = "01JSDKPAYMENT0000000000001";
		const createdAt = new Date();
		const ours = new StripeProvider({ secretKey: stripe.secretKey, apiBase: stripe.url });
		await ours.createPayment({
			paymentId,
			donationId: "01JSDKDONATION000000000001",
			amount: 1500,
			currency: "EUR",
			email: "fan@example.test",
			description: "Donation to alice",
			resultUrl: "http://pay.example.test/pay/result/x",
			createdAt,
			expiresAt: new Date(createdAt.getTime() + 1800_000),
		});
		const mine = stripe.requests.filter((r) => r.path === "/v1/checkout/sessions" && r.headers["idempotency-key"] === paymentId).at(-1)!;
		const form = new URLSearchParams(mine.body);
		await sdk.checkout.sessions.create(
			{
				mode: "payment",
				client_reference_id: paymentId,
				success_url: form.get("success_url")!,
				cancel_url: form.get("cancel_url")!,
				customer_email: "fan@example.test",
				expires_at: Number(form.get("expires_at")),
				metadata: { payment_id: paymentId, donation_id: "01JSDKDONATION000000000001" },
				payment_intent_data: { metadata: { payment_id: paymentId, donation_id: "01JSDKDONATION000000000001" } },
				line_items: [{ quantity: 1, price_data: { currency: "eur", unit_amount: 1500, product_data: { name: "Donation to alice" } } }],
			},
			{ idempotencyKey: `${paymentId}-sdk` },
		);
		const theirs = stripe.requests.filter((r) => r.headers["idempotency-key"] === `${paymentId}-sdk`).at(-1)!;
		expect(sorted(mine.body)).toEqual(sorted(theirs.body));
		expect(mine.headers["stripe-version"]).toBe(theirs.headers["stripe-version"]);
		expect(mine.headers["content-type"]).toBe(theirs.headers["content-type"]);
		expect(mine.headers.authorization).toBe(theirs.headers.authorization);
	});
});

describe("midtrans-client", () => {
	const saved = MidtransApiConfig.CORE_SANDBOX_BASE_URL;
	let core: any;
	beforeAll(() => {
		MidtransApiConfig.CORE_SANDBOX_BASE_URL = midtrans.url;
		core = new midtransClient.CoreApi({ isProduction: false, serverKey: midtrans.serverKey });
	});
	afterAll(() => {
		MidtransApiConfig.CORE_SANDBOX_BASE_URL = saved;
	});

	const last = (pred: (r: RecordedRequest) => boolean) => midtrans.requests.filter(pred).at(-1)!;
	const sameRequest = (ours: RecordedRequest, sdkReq: RecordedRequest) => {
		expect(ours.method).toBe(sdkReq.method);
		expect(ours.path).toBe(sdkReq.path);
		expect(ours.headers.authorization).toBe(sdkReq.headers.authorization);
		expect(ours.headers.accept).toBe(sdkReq.headers.accept);
	};

	it("the status check behind a notification is the SDK's transaction.status() request", async () => {
		const p = await h.broker.call<any, any>("payments.create", {
			donationId: newId(),
			amount: 1_000_000,
			currency: "IDR",
			provider: "midtrans",
			method: "qris",
		});
		const n = midtrans.step(p.id, { transaction_status: "settlement", gross_amount: "10000.00" });
		const res = await api()("POST", "/api/payments/webhooks/midtrans", undefined, {
			raw: JSON.stringify(n),
			headers: { "Content-Type": "application/json" },
		});
		expect(res.body.status).toBe("paid");
		const ours = last((r) => r.path === `/v2/${p.id}/status` && !String(r.headers["user-agent"]).startsWith("midtransclient"));
		const confirmed = await core.transaction.status(p.id);
		expect(confirmed).toMatchObject({ order_id: p.id, transaction_status: "settlement" });
		sameRequest(
			ours,
			last((r) => r.path === `/v2/${p.id}/status` && String(r.headers["user-agent"]).startsWith("midtransclient")),
		);
		// The SDK's notification() asks the same API (by transaction_id, which Midtrans accepts as well).
		expect(await core.transaction.notification(n)).toMatchObject({ transaction_status: "settlement" });
	});

	it("cancel and refund are the SDK's transaction.cancel() and transaction.refund() requests", async () => {
		// A card still in capture: we cancel.
		const card = await h.broker.call<any, any>("payments.create", { donationId: newId(), amount: 1_000_000, currency: "IDR", provider: "midtrans" });
		await api()("POST", "/api/payments/webhooks/midtrans", undefined, {
			raw: JSON.stringify(
				midtrans.step(card.id, { transaction_status: "capture", fraud_status: "accept", gross_amount: "10000.00", payment_type: "credit_card" }),
			),
			headers: { "Content-Type": "application/json" },
		});
		await (h.broker.getLocalService("payments") as any).providers.midtrans.refund(
			{ id: card.id, providerRefs: [], amount: 1_000_000, currency: "IDR" },
			{ amount: 1_000_000, key: `refund-${card.id}-from-0` },
		);
		const oursCancel = last((r) => r.path === `/v2/${card.id}/cancel`);
		midtrans.step(card.id, { transaction_status: "capture", fraud_status: "accept", gross_amount: "10000.00", payment_type: "credit_card" });
		await core.transaction.cancel(card.id);
		sameRequest(
			oursCancel,
			last((r) => r.path === `/v2/${card.id}/cancel` && String(r.headers["user-agent"]).startsWith("midtransclient")),
		);

		// A settled QRIS payment: we refund, with the fields the SDK's refund() takes.
		const q = await h.broker.call<any, any>("payments.create", {
			donationId: newId(),
			amount: 1_000_000,
			currency: "IDR",
			provider: "midtrans",
			method: "qris",
		});
		midtrans.step(q.id, { transaction_status: "settlement", gross_amount: "10000.00", payment_type: "qris" });
		await (h.broker.getLocalService("payments") as any).providers.midtrans.refund(
			{ id: q.id, providerRefs: [], amount: 1_000_000, currency: "IDR" },
			{ amount: 400_000, key: `refund-${q.id}-from-0` },
		);
		const oursRefund = last((r) => r.path === `/v2/${q.id}/refund`);
		const body = JSON.parse(oursRefund.body);
		await core.transaction.refund(q.id, body);
		const sdkRefund = last((r) => r.path === `/v2/${q.id}/refund` && String(r.headers["user-agent"]).startsWith("midtransclient"));
		sameRequest(oursRefund, sdkRefund);
		expect(JSON.parse(sdkRefund.body)).toEqual(body);
		expect(Object.keys(body).sort()).toEqual(["amount", "reason", "refund_key"]);
	});
});
