import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import { sign } from "../../lib/tools/signature";
import { newId } from "../../lib/tools/ids";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * The sandbox provider end to end over the real gateway: creation through the internal action,
 * completion through the sandbox endpoint (which delivers a signed webhook over HTTP to the real
 * webhook route), dedupe, forged signatures, expiry and refunds. A stub "donations" service
 * records what arrives on the payments.statusChanged channel, as the real one would consume it.
 */

const SECRET = "sandbox-secret-for-tests";
const messages: any[] = [];
const donationOwners = new Map<string, string>();

const donationsStub: Partial<ServiceSchema> = {
	name: "donations",
	actions: {
		get: {
			visibility: "public",
			handler(ctx: any) {
				const recipientId = donationOwners.get(ctx.params.id);
				return recipientId ? { id: ctx.params.id, recipientId } : null;
			},
		},
	},
	channels: {
		"payments.statusChanged": {
			group: "donations",
			handler(payload: any) {
				messages.push(payload);
			},
		},
	},
} as Partial<ServiceSchema>;

let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({
		services: ["users", "payments"],
		extra: [donationsStub],
		env: {
			SANDBOX_WEBHOOK_SECRET: SECRET,
			PUBLIC_URL: "http://pay.example.test",
			SCRYPT_COST: "1024",
			STRIPE_SECRET_KEY: undefined,
			MIDTRANS_SERVER_KEY: undefined,
			PAYPAL_CLIENT_ID: undefined,
		},
	});
	api = client(h.url);
});
afterAll(() => h?.stop());

const messagesFor = (paymentId: string) => messages.filter((m) => m.paymentId === paymentId);

async function createSandboxPayment(extra: Record<string, unknown> = {}) {
	const donationId = newId();
	const payment: any = await h.broker.call("payments.create", {
		donationId,
		amount: 1_000_000,
		currency: "IDR",
		provider: "sandbox",
		donorName: "Budi",
		...extra,
	});
	return { donationId, payment };
}

function sandboxWebhook(body: Record<string, unknown>, secret = SECRET, t?: number) {
	const raw = JSON.stringify(body);
	return api("POST", "/api/payments/webhooks/sandbox", undefined, {
		raw,
		headers: { "Content-Type": "application/json", "X-Sandbox-Signature": sign(raw, secret, t) },
	});
}

describe("sandbox payments", () => {
	it("creates one payment per donation with a redirect to the sandbox checkout", async () => {
		const { donationId, payment } = await createSandboxPayment();
		expect(payment.status).toBe("pending");
		expect(payment.provider).toBe("sandbox");
		expect(payment.action).toEqual({ type: "redirect", url: `http://pay.example.test/pay/sandbox/${payment.id}` });
		const again: any = await h.broker.call("payments.create", { donationId, amount: 1_000_000, currency: "IDR", provider: "sandbox" });
		expect(again.id).toBe(payment.id);

		const got = await api("GET", `/api/payments/${payment.id}`);
		expect(got.status).toBe(200);
		expect(got.body).toMatchObject({
			id: payment.id,
			donationId,
			provider: "sandbox",
			status: "pending",
			amount: 1_000_000,
			currency: "IDR",
			formattedAmount: "Rp 10.000",
		});
		expect(Date.parse(got.body.expiresAt)).toBeGreaterThan(Date.now());
		expect((await api("GET", "/api/payments/01HZZZZZZZZZZZZZZZZZZZZZZZ")).status).toBe(404);
	});

	it("settles through the sandbox endpoint and notifies donations exactly once", async () => {
		const { donationId, payment } = await createSandboxPayment();
		const res = await api("POST", `/api/payments/sandbox/${payment.id}/complete`, { outcome: "settlement" });
		expect(res.status).toBe(202);
		await waitFor(() => messagesFor(payment.id).length === 1, 5000, "statusChanged paid");
		expect(messagesFor(payment.id)[0]).toMatchObject({ paymentId: payment.id, donationId, provider: "sandbox", status: "paid", previousStatus: "pending" });
		const got = await api("GET", `/api/payments/${payment.id}`);
		expect(got.body.status).toBe("paid");
		expect(typeof got.body.paidAt).toBe("string");

		// A second settlement is refused up front: the payment is no longer pending.
		const again = await api("POST", `/api/payments/sandbox/${payment.id}/complete`, { outcome: "settlement" });
		expect(again.status).toBe(409);
		expect(again.body.type).toBe("INVALID_PAYMENT_STATE");
	});

	it("answers a duplicate webhook with 200 and changes nothing twice", async () => {
		const { payment } = await createSandboxPayment();
		const event = { event_id: "evt-dup-" + payment.id, payment_id: payment.id, status: "settlement" };
		const first = await sandboxWebhook(event);
		expect(first.status).toBe(200);
		expect(first.body).toMatchObject({ received: true, status: "paid" });
		const second = await sandboxWebhook(event);
		expect(second.status).toBe(200);
		expect(second.body).toEqual({ received: true, duplicate: true });
		// Five concurrent copies of a fresh event id for the same outcome: still one message.
		const burst = await Promise.all(Array.from({ length: 5 }, () => sandboxWebhook({ ...event, event_id: "evt-burst-" + payment.id })));
		expect(burst.every((r) => r.status === 200)).toBe(true);
		await waitFor(() => messagesFor(payment.id).length >= 1, 5000, "statusChanged");
		await h.broker.call("payments.expireStale");
		expect(messagesFor(payment.id)).toHaveLength(1);
	});

	it("settles exactly once under 20 concurrent distinct webhooks", async () => {
		const { payment: p } = await createSandboxPayment();
		const sends = Array.from({ length: 20 }, (_, i) => {
			const raw = JSON.stringify({ event_id: `race-${i}-${p.id}`, payment_id: p.id, status: "settlement" });
			return api("POST", "/api/payments/webhooks/sandbox", undefined, { raw, headers: { "X-Sandbox-Signature": sign(raw, SECRET) } });
		});
		const results = await Promise.all(sends);
		expect(results.every((r) => r.status === 200)).toBe(true);
		expect(results.filter((r) => r.body.result === "applied")).toHaveLength(1);
		await waitFor(() => messagesFor(p.id).length >= 1, 3000, "paid message");
		expect(messagesFor(p.id)).toHaveLength(1);
	});

	it("refuses forged, stale, v0-only and missing signatures with 400 and leaves the payment alone", async () => {
		const { payment } = await createSandboxPayment();
		const body = { event_id: "evt-forged", payment_id: payment.id, status: "settlement" };
		const forged = await sandboxWebhook(body, "wrong-secret");
		expect(forged.status).toBe(400);
		expect(forged.body.type).toBe("INVALID_SIGNATURE");
		const stale = await sandboxWebhook(body, SECRET, Math.floor(Date.now() / 1000) - 3600);
		expect(stale.status).toBe(400);
		const raw = JSON.stringify(body);
		const v0 = await api("POST", "/api/payments/webhooks/sandbox", undefined, {
			raw,
			headers: { "X-Sandbox-Signature": sign(raw, SECRET).replace("v1=", "v0=") },
		});
		expect(v0.status).toBe(400);
		const missing = await api("POST", "/api/payments/webhooks/sandbox", undefined, { raw, headers: { "Content-Type": "application/json" } });
		expect(missing.status).toBe(400);
		expect(missing.body.type).toBe("INVALID_SIGNATURE");
		// The body was signed, then changed.
		const header = sign(raw, SECRET);
		const tampered = await api("POST", "/api/payments/webhooks/sandbox", undefined, {
			raw: raw.replace("settlement", "refund"),
			headers: { "X-Sandbox-Signature": header },
		});
		expect(tampered.status).toBe(400);

		expect((await api("GET", `/api/payments/${payment.id}`)).body.status).toBe("pending");
		expect(messagesFor(payment.id)).toHaveLength(0);
	});

	it("fails on deny and expires on expire", async () => {
		const denied = (await createSandboxPayment()).payment;
		const expired = (await createSandboxPayment()).payment;
		expect((await api("POST", `/api/payments/sandbox/${denied.id}/complete`, { outcome: "deny" })).status).toBe(202);
		expect((await api("POST", `/api/payments/sandbox/${expired.id}/complete`, { outcome: "expire" })).status).toBe(202);
		await waitFor(() => messagesFor(denied.id).length === 1 && messagesFor(expired.id).length === 1, 5000, "both messages");
		expect(messagesFor(denied.id)[0].status).toBe("failed");
		expect(messagesFor(expired.id)[0].status).toBe("expired");
		expect((await api("GET", `/api/payments/${denied.id}`)).body.status).toBe("failed");
		expect((await api("GET", `/api/payments/${expired.id}`)).body.status).toBe("expired");
		// A settlement arriving after the failure is acknowledged but cannot revive it.
		const late = await sandboxWebhook({ event_id: "evt-late-" + denied.id, payment_id: denied.id, status: "settlement" });
		expect(late.status).toBe(200);
		expect(late.body.result).toBe("invalid_transition");
		expect((await api("GET", `/api/payments/${denied.id}`)).body.status).toBe("failed");
		expect(messagesFor(denied.id)).toHaveLength(1);
	});

	it("refunds a paid payment when the sandbox provider says so, never before it is paid, and never from the checkout", async () => {
		const { payment } = await createSandboxPayment();
		// A payer at the checkout cannot refund anything.
		expect((await api("POST", `/api/payments/sandbox/${payment.id}/complete`, { outcome: "refund" })).status).toBe(422);
		const early = await sandboxWebhook({ event_id: `evt-early-${payment.id}`, payment_id: payment.id, status: "refund" });
		expect(early.status).toBe(409);
		expect(early.body.type).toBe("PAYMENT_NOT_SETTLED");
		await api("POST", `/api/payments/sandbox/${payment.id}/complete`, { outcome: "settlement" });
		await waitFor(() => messagesFor(payment.id).length === 1, 5000, "paid");
		expect((await sandboxWebhook({ event_id: `evt-refund-${payment.id}`, payment_id: payment.id, status: "refund" })).status).toBe(200);
		await waitFor(() => messagesFor(payment.id).length === 2, 5000, "refunded");
		expect(messagesFor(payment.id)[1]).toMatchObject({ status: "refunded", previousStatus: "paid" });
		expect((await api("GET", `/api/payments/${payment.id}`)).body.status).toBe("refunded");
	});

	it("lets the recipient refund over REST and refuses others", async () => {
		const owner = await registerUser(h.url, "payown");
		const stranger = await registerUser(h.url, "paystr");
		const { donationId, payment } = await createSandboxPayment();
		donationOwners.set(donationId, owner.id);
		await api("POST", `/api/payments/sandbox/${payment.id}/complete`, { outcome: "settlement" });
		await waitFor(async () => (await api("GET", `/api/payments/${payment.id}`)).body.status === "paid", 5000, "paid");
		expect((await api("POST", `/api/payments/${payment.id}/refund`)).status).toBe(401);
		expect((await api("POST", `/api/payments/${payment.id}/refund`, {}, { token: stranger.token })).status).toBe(403);
		const ok = await api("POST", `/api/payments/${payment.id}/refund`, {}, { token: owner.token });
		expect(ok.status).toBe(202);
		expect(ok.body.status).toBe("refunded");
		await waitFor(() => messagesFor(payment.id).some((m) => m.status === "refunded"), 5000, "refunded message");
		expect((await api("POST", `/api/payments/${payment.id}/refund`, {}, { token: owner.token })).status).toBe(409);
	});

	it("answers bad input with 4xx, never 5xx", async () => {
		const unknownProvider = h.broker.call("payments.create", { donationId: newId(), amount: 1000, currency: "USD", provider: "bitcoin" });
		await expect(unknownProvider).rejects.toMatchObject({ code: 422 });
		const disabled = h.broker.call("payments.create", { donationId: newId(), amount: 1000, currency: "USD", provider: "stripe" });
		await expect(disabled).rejects.toMatchObject({ code: 422, type: "PROVIDER_UNAVAILABLE" });
		const fractional = h.broker.call("payments.create", { donationId: newId(), amount: 1050, currency: "IDR", provider: "sandbox" });
		await expect(fractional).rejects.toMatchObject({ code: 422 });
		expect((await api("POST", "/api/payments/sandbox/nope/complete", { outcome: "settlement" })).status).toBe(404);
		const { payment } = await createSandboxPayment();
		const badOutcome = await api("POST", `/api/payments/sandbox/${payment.id}/complete`, { outcome: "maybe" });
		expect(badOutcome.status).toBe(422);
		expect(badOutcome.body.data[0].field).toBe("outcome");
		expect((await api("POST", "/api/payments/webhooks/nowhere", undefined, { raw: "{}" })).status).toBe(404);
		// Correctly signed but not JSON / missing fields: the body is refused, not crashed on.
		const raw = "not json";
		const notJson = await api("POST", "/api/payments/webhooks/sandbox", undefined, { raw, headers: { "X-Sandbox-Signature": sign(raw, SECRET) } });
		expect(notJson.status).toBe(400);
		const partial = await sandboxWebhook({ event_id: "x" });
		expect(partial.status).toBe(400);
		// A signed event for a payment that does not exist is acknowledged so the sender stops retrying.
		const unknown = await sandboxWebhook({ event_id: "evt-unknown", payment_id: newId(), status: "settlement" });
		expect(unknown.status).toBe(200);
		expect(unknown.body.ignored).toBe("unknown_payment");
	});
});
