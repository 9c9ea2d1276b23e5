import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, setupStreamer } from "../support/flow";
import { linkToken, SmtpCapture } from "../support/smtp-capture";
import { payoutEnv, payoutHelpers } from "../support/payouts";
import { startFakePayPal, type FakePayPal } from "../support/fake-providers";
import { addPayPalPayouts } from "../support/fake-paypal-payouts";
import type { PayoutDoc } from "../../lib/domain/payouts/docs";

/**
 * A USD payout to a PayPal account executed by PayPal Payouts over real HTTP, against the PayPal
 * fake: one batch per payout, its `PAYMENT.PAYOUTS-ITEM.SUCCEEDED` webhook (verified through the
 * verify-webhook-signature API) pays it, a forged one changes nothing.
 */
const PUBLIC_URL = "https://mediashar.example";
const ADMIN = `ppadmin_${process.pid % 10000}`;
const smtp = new SmtpCapture();
let pp: FakePayPal;
let fake: ReturnType<typeof addPayPalPayouts>;
let h: Harness;

beforeAll(async () => {
	pp = await startFakePayPal();
	fake = addPayPalPayouts(pp);
	h = await startHarness({
		services: ["users", "mailer", "donations", "ledger", "stats", "payments", "payouts"],
		env: {
			...payoutEnv(await smtp.listen(), PUBLIC_URL, ADMIN),
			PAYOUT_PROVIDER: "paypal",
			PAYPAL_CLIENT_ID: pp.clientId,
			PAYPAL_CLIENT_SECRET: pp.clientSecret,
			PAYPAL_WEBHOOK_ID: pp.webhookId,
			PAYPAL_API_BASE: pp.url,
		},
	});
});
afterAll(async () => {
	await h?.stop();
	await smtp.close();
	await pp?.close();
});

describe("payouts through PayPal Payouts", () => {
	it("approve → one batch at PayPal → its verified SUCCEEDED webhook pays the payout", async () => {
		const x = payoutHelpers(h, smtp, PUBLIC_URL);
		const admin = await x.registerAdmin(ADMIN);
		const c = await setupStreamer(h.url, { donations: { enabled: true, minAmount: 100, currency: "USD" } });
		const mail = await smtp.waitFor(`${c.username}@example.test`);
		expect((await x.api("POST", "/api/auth/email/verify", { token: linkToken(mail, PUBLIC_URL, "/auth/verify") })).status).toBe(204);
		const d = await donate(h.url, c.username, { amount: 5000, currency: "USD" });
		expect((await pay(h.url, d.body.payment.id)).status).toBe(202);
		await waitFor(async () => (await x.api("GET", "/api/me/balance", undefined, { token: c.token })).body.balances[0]?.amount === 5000, 8000, "credit");
		const account = { method: "paypal", currency: "USD", holderName: "Ana", email: "ana.creator@example.test" };
		const put = await x.api("PUT", "/api/me/payout-account", account, { token: c.token });
		expect(put.body.email).toBe("****test");
		await x.cooled(c.id);
		const p = await x.api("POST", "/api/me/payouts", { amount: 2500, currency: "USD" }, { token: c.token });
		expect(p.status).toBe(201);
		expect((await x.api("POST", `/api/admin/payouts/${p.body.id}/approve`, undefined, { token: admin })).status).toBe(202);
		await waitFor(async () => (await x.payoutStatus(c.token, p.body.id)) === "processing", 5000, "processing");
		expect(fake.created()).toBe(1);
		const store = (h.broker.getLocalService("payouts") as unknown as { store: { findById(id: string): Promise<PayoutDoc | null> } }).store;
		const ref = (await store.findById(p.body.id))!.providerRef!;
		expect(fake.batches.get(ref)?.item).toMatchObject({ receiver: "ana.creator@example.test", amount: { value: "25.00", currency: "USD" } });

		const body = JSON.stringify(fake.event(ref, "SUCCEEDED"));
		const post = (headers: Record<string, string>) =>
			fetch(`${h.url}/api/payouts/webhooks/paypal`, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body });
		expect((await post(pp.signWebhook(body, "WH-SOMEONE-ELSE"))).status).toBe(400);
		expect(await x.payoutStatus(c.token, p.body.id)).toBe("processing");
		expect((await post(pp.signWebhook(body))).status).toBe(200);
		await waitFor(async () => (await x.payoutStatus(c.token, p.body.id)) === "paid", 5000, "paid");
		expect((await x.ledger(c.token)).filter((e) => e.payoutId === p.body.id).map((e) => e.kind)).toEqual(["payout"]);
	});
});
