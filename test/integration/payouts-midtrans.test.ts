import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { SmtpCapture } from "../support/smtp-capture";
import { BANK, payoutEnv, payoutHelpers } from "../support/payouts";
import { IRIS_API_KEY, IRIS_MERCHANT_KEY, startFakeIris, type FakeIris } from "../support/fake-iris";
import type { PayoutDoc } from "../../lib/domain/payouts/docs";

/**
 * Payouts executed by Midtrans Payouts (Iris) over real HTTP, against the local fake of its
 * documented API: approvals racing send one order (our id as X-Idempotency-Key), Iris's signed
 * notification settles it through `/api/payouts/webhooks/midtrans`, a forged one changes
 * nothing, and a payout whose notification never came is settled by the sweep asking Iris.
 */
const PUBLIC_URL = "https://mediashar.example";
const ADMIN = `irisadmin_${process.pid % 10000}`;
const smtp = new SmtpCapture();
let iris: FakeIris;
let h: Harness;
let x: ReturnType<typeof payoutHelpers>;
let admin: string;

beforeAll(async () => {
	iris = await startFakeIris();
	h = await startHarness({
		services: ["users", "mailer", "donations", "ledger", "stats", "payments", "payouts", "notifications"],
		env: {
			...payoutEnv(await smtp.listen(), PUBLIC_URL, ADMIN),
			PAYOUT_PROVIDER: "midtrans",
			MIDTRANS_IRIS_API_KEY: IRIS_API_KEY,
			MIDTRANS_IRIS_MERCHANT_KEY: IRIS_MERCHANT_KEY,
			MIDTRANS_IRIS_API_BASE: iris.url,
			PAYOUT_SWEEP_MS: "3600000",
			PAYOUT_STUCK_SEC: "0",
		},
	});
	x = payoutHelpers(h, smtp, PUBLIC_URL);
	admin = await x.registerAdmin(ADMIN);
});
afterAll(async () => {
	await h?.stop();
	await smtp.close();
	await iris?.close();
});

const store = () => (h.broker.getLocalService("payouts") as unknown as { store: { findById(id: string): Promise<PayoutDoc | null> } }).store;
const sweep = () => (h.broker.getLocalService("payouts") as unknown as { runSweep(n: string): Promise<void> }).runSweep("tick");

async function requested(amount: number) {
	const c = await x.verifiedCreator();
	await x.earn(c, 200_000_00);
	expect((await x.api("PUT", "/api/me/payout-account", BANK, { token: c.token })).status).toBe(200);
	await x.cooled(c.id);
	const res = await x.api("POST", "/api/me/payouts", { amount, currency: "IDR" }, { token: c.token });
	expect(res.status).toBe(201);
	return { c, id: res.body.id as string };
}

describe("payouts through Midtrans Payouts (Iris)", () => {
	it("approvals racing send one order; Iris's signed notification pays it; a forged one is refused", async () => {
		const { c, id } = await requested(60_000_00);
		const before = iris.created();
		const answers = await Promise.all([1, 2].map(() => x.api("POST", `/api/admin/payouts/${id}/approve`, undefined, { token: admin })));
		expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
		await waitFor(async () => (await x.payoutStatus(c.token, id)) === "processing", 5000, "processing");
		expect(iris.created()).toBe(before + 1);
		const ref = (await store().findById(id))!.providerRef!;
		const order = [...iris.payouts.values()].find((p) => p.reference_no === ref)!;
		expect(order).toMatchObject({ beneficiary_account: "1234567890", beneficiary_bank: "bca", amount: "60000.00" });
		expect(iris.server.requests.find((r) => r.method === "POST" && r.headers["x-idempotency-key"] === id)).toBeTruthy();

		const forged = iris.notification({ reference_no: ref, amount: "60000.00", status: "completed" }, "not-the-merchant-key");
		const refused = await fetch(`${h.url}/api/payouts/webhooks/midtrans`, {
			method: "POST",
			headers: { "Iris-Signature": forged.signature },
			body: forged.body,
		});
		expect(refused.status).toBe(400);
		expect(await x.payoutStatus(c.token, id)).toBe("processing");

		expect(await iris.settle(ref, "completed", `${h.url}/api/payouts/webhooks/midtrans`)).toBe(200);
		await waitFor(async () => (await x.payoutStatus(c.token, id)) === "paid", 5000, "paid");
		expect(await iris.settle(ref, "completed", `${h.url}/api/payouts/webhooks/midtrans`)).toBe(200); // duplicate delivery
		expect((await x.ledger(c.token)).filter((e) => e.payoutId === id).map((e) => e.kind)).toEqual(["payout"]);
		await waitFor(async () => (await x.notifications(c.token)).some((n) => n.type === "payout.paid"), 5000, "payout.paid");
	});

	it("a payout whose notification never came is settled by the sweep asking Iris; a failure gives the money back", async () => {
		const { c, id } = await requested(70_000_00);
		expect((await x.api("POST", `/api/admin/payouts/${id}/approve`, undefined, { token: admin })).status).toBe(202);
		await waitFor(async () => (await x.payoutStatus(c.token, id)) === "processing", 5000, "processing");
		const ref = (await store().findById(id))!.providerRef!;
		iris.payouts.get(ref)!.status = "failed"; // Iris failed it; its notification was lost
		await sweep();
		expect(await x.payoutStatus(c.token, id)).toBe("failed");
		expect(
			(await x.ledger(c.token))
				.filter((e) => e.payoutId === id)
				.map((e) => e.kind)
				.sort(),
		).toEqual(["payout", "payout_reversal"]);
		expect((await x.balanceOf(c.token)).amount).toBe(200_000_00);
	});
});
