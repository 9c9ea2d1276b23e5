import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startHarness, type Harness } from "../support/harness";
import { setupStreamer } from "../support/flow";
import { startFakeMidtrans, startFakeStripe, type FakeMidtrans, type FakeStripe, providerEnv } from "../support/fake-providers";

/**
 * A donation whose payment the provider refuses (422) or cannot open (503) leaves nothing stored:
 * the donor gets the error, the streamer's history and balance do not change.
 */
let h: Harness;
let api: ReturnType<typeof client>;
let stripe: FakeStripe;
let midtrans: FakeMidtrans;

beforeAll(async () => {
	[stripe, midtrans] = await Promise.all([startFakeStripe(), startFakeMidtrans()]);
	h = await startHarness({
		services: ["users", "payments", "donations", "ledger", "stats"],
		env: {
			SCRYPT_COST: "1024",
			...providerEnv({ stripe, midtrans }),
		},
	});
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
	await Promise.all([stripe?.close(), midtrans?.close()]);
});

describe("a payment the provider refuses", () => {
	it("422 from the provider's rules: nothing stored", async () => {
		const s = await setupStreamer(h.url, { donations: { enabled: true, minAmount: 100, currency: "USD" } });
		const res = await api("POST", "/api/donations", { to: s.username, amount: 500, currency: "USD", provider: "midtrans", donorName: "Budi" });
		expect(res.status).toBe(422);
		expect(res.body.type).toBe("CURRENCY_NOT_SUPPORTED");
		expect((await api("GET", "/api/me/donations/received", undefined, { token: s.token })).body.items).toEqual([]);
		expect(await h.broker.call("payments.providers")).toMatchObject({ providers: expect.arrayContaining(["midtrans"]) });
	});

	it("503 when the provider is down: nothing stored, and the same request works once it is back", async () => {
		const s = await setupStreamer(h.url, { donations: { enabled: true, minAmount: 100, currency: "USD" } });
		let failing = true;
		stripe.route("POST /v1/checkout/sessions", () =>
			failing
				? { status: 500, body: { error: { message: "internal" } } }
				: {
						status: 200,
						body: { id: `cs_${Date.now()}`, url: "https://checkout.stripe.test/c/pay/x", expires_at: Math.floor(Date.now() / 1000) + 3600 },
					},
		);
		const body = { to: s.username, amount: 500, currency: "USD", provider: "stripe", donorName: "Budi" };
		const down = await api("POST", "/api/donations", body, { headers: { "Idempotency-Key": `k-${s.username}` } });
		expect(down.status).toBe(503);
		expect(down.body.type).toBe("PROVIDER_ERROR");
		expect((await api("GET", "/api/me/donations/received", undefined, { token: s.token })).body.items).toEqual([]);
		failing = false;
		const ok = await api("POST", "/api/donations", body, { headers: { "Idempotency-Key": `k-${s.username}` } });
		expect(ok.status).toBe(201);
		const received = (await api("GET", "/api/me/donations/received", undefined, { token: s.token })).body.items;
		expect(received.map((d: any) => [d.id, d.status, d.paymentId])).toEqual([[ok.body.donation.id, "pending", ok.body.payment.id]]);
	});
});
