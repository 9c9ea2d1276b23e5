import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, setupStreamer } from "../support/flow";
import { linkToken, SmtpCapture } from "../support/smtp-capture";
import { payoutEnv, payoutHelpers } from "../support/payouts";
import { startFakeStripe, type FakeStripe } from "../support/fake-providers";
import { addStripeTransfers } from "../support/fake-stripe-transfers";

/**
 * Payouts by Stripe Connect transfers over real HTTP, against the Stripe fake: a transfer to the
 * creator's connected account pays the payout at once (one transfer, whatever is re-driven); a
 * destination Stripe refuses fails it and the money comes back once.
 */
const PUBLIC_URL = "https://mediashar.example";
const ADMIN = `stadmin_${process.pid % 10000}`;
const ACCT = "acct_1KnownCreator";
const smtp = new SmtpCapture();
let stripe: FakeStripe;
let fake: ReturnType<typeof addStripeTransfers>;
let h: Harness;
let x: ReturnType<typeof payoutHelpers>;
let admin: string;

beforeAll(async () => {
	stripe = await startFakeStripe();
	fake = addStripeTransfers(stripe, [ACCT]);
	h = await startHarness({
		services: ["users", "mailer", "donations", "ledger", "stats", "payments", "payouts"],
		env: {
			...payoutEnv(await smtp.listen(), PUBLIC_URL, ADMIN),
			PAYOUT_PROVIDER: "stripe",
			STRIPE_SECRET_KEY: stripe.secretKey,
			STRIPE_API_BASE: stripe.url,
		},
	});
	x = payoutHelpers(h, smtp, PUBLIC_URL);
	admin = await x.registerAdmin(ADMIN);
});
afterAll(async () => {
	await h?.stop();
	await smtp.close();
	await stripe?.close();
});

async function eurCreator(acct: string) {
	const c = await setupStreamer(h.url, { donations: { enabled: true, minAmount: 100, currency: "EUR" } });
	const mail = await smtp.waitFor(`${c.username}@example.test`);
	expect((await x.api("POST", "/api/auth/email/verify", { token: linkToken(mail, PUBLIC_URL, "/auth/verify") })).status).toBe(204);
	const d = await donate(h.url, c.username, { amount: 5000, currency: "EUR" });
	expect((await pay(h.url, d.body.payment.id)).status).toBe(202);
	await waitFor(async () => (await x.api("GET", "/api/me/balance", undefined, { token: c.token })).body.balances[0]?.amount === 5000, 8000, "credit");
	const put = await x.api("PUT", "/api/me/payout-account", { method: "stripe", currency: "EUR", holderName: "Eva", accountNumber: acct }, { token: c.token });
	expect(put.body.accountNumber).toBe(`****${acct.slice(-4)}`);
	await x.cooled(c.id);
	const p = await x.api("POST", "/api/me/payouts", { amount: 3000, currency: "EUR" }, { token: c.token });
	expect(p.status).toBe(201);
	expect((await x.api("POST", `/api/admin/payouts/${p.body.id}/approve`, undefined, { token: admin })).status).toBe(202);
	return { c, id: p.body.id as string };
}

describe("payouts through Stripe Connect transfers", () => {
	it("a transfer to the connected account pays the payout at once", async () => {
		const { c, id } = await eurCreator(ACCT);
		await waitFor(async () => (await x.payoutStatus(c.token, id)) === "paid", 5000, "paid");
		expect([...fake.transfers.values()].filter((t) => t.metadata.payout_id === id)).toHaveLength(1);
		expect((await x.api("GET", "/api/me/balance", undefined, { token: c.token })).body.balances[0]).toMatchObject({
			currency: "EUR",
			amount: 2000,
			pendingPayouts: 0,
		});
	});

	it("a destination Stripe refuses fails the payout and gives the money back once", async () => {
		const { c, id } = await eurCreator("acct_1Unknown");
		await waitFor(async () => (await x.payoutStatus(c.token, id)) === "failed", 5000, "failed");
		const p = (await x.api("GET", `/api/me/payouts/${id}`, undefined, { token: c.token })).body;
		expect(p.failureReason).toContain("No such destination");
		expect(
			(await x.ledger(c.token))
				.filter((e) => e.payoutId === id)
				.map((e) => e.kind)
				.sort(),
		).toEqual(["payout", "payout_reversal"]);
		expect((await x.api("GET", "/api/me/balance", undefined, { token: c.token })).body.balances[0]).toMatchObject({ amount: 5000, available: 5000 });
	});
});
