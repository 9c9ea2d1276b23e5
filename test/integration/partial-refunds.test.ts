import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, setupStreamer, waitStatus } from "../support/flow";

/**
 * Partial refunds over HTTP: `POST /api/payments/:id/refund {amount?}` by the recipient, through
 * the sandbox provider's signed webhook path, with the donation, the ledger and the balance.
 */
const SERVICES = ["users", "payments", "donations", "ledger", "stats"];
const ENV = { SCRYPT_COST: "1024", REDRIVE_INTERVAL_MS: "500" };

describe("partial refunds (embedded)", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;
	let streamer: Awaited<ReturnType<typeof setupStreamer>>;

	const balance = async () => (await api("GET", "/api/me/balance", undefined, { token: streamer.token })).body.balances[0]?.amount ?? 0;
	const ledgerFor = async (donationId: string): Promise<number[]> => {
		const res = await api("GET", "/api/me/ledger?limit=100", undefined, { token: streamer.token });
		return res.body.items.filter((e: any) => e.donationId === donationId).map((e: any) => e.amount as number);
	};
	const donation = async (id: string) => (await api("GET", `/api/donations/${id}`, undefined, { token: streamer.token })).body;
	async function paidDonation(amount: number) {
		const res = await donate(h.url, streamer.username, { amount });
		expect(res.status).toBe(201);
		expect((await pay(h.url, res.body.payment.id)).status).toBe(202);
		await waitStatus(h.url, streamer.token, res.body.donation.id, "paid");
		// The credit follows the status change: wait for it, so balances compare from it.
		await waitFor(async () => (await ledgerFor(res.body.donation.id)).includes(amount), 8000, "ledger credit");
		return { donationId: res.body.donation.id as string, paymentId: res.body.payment.id as string };
	}

	beforeAll(async () => {
		h = await startHarness({ services: SERVICES, env: ENV });
		api = client(h.url);
		streamer = await setupStreamer(h.url);
	});
	afterAll(async () => {
		await h?.stop();
	});

	it("refunds part, keeps the donation paid, then refunds the rest by default and makes it refunded", async () => {
		const { donationId, paymentId } = await paidDonation(10_000_00);
		const paidBalance = await balance();

		const part = await api("POST", `/api/payments/${paymentId}/refund`, { amount: 3_000_00 }, { token: streamer.token });
		expect(part.status).toBe(202);
		expect(part.body).toMatchObject({ status: "paid", refundedAmount: 3_000_00 });
		await waitFor(async () => (await donation(donationId)).refundedAmount === 3_000_00, 5000, "donation refundedAmount");
		expect((await donation(donationId)).status).toBe("paid");
		await waitFor(async () => (await balance()) === paidBalance - 3_000_00, 5000, "partial debit");

		// More than remains: refused, nothing changes.
		const tooMuch = await api("POST", `/api/payments/${paymentId}/refund`, { amount: 7_000_01 }, { token: streamer.token });
		expect(tooMuch.status).toBe(422);
		expect(tooMuch.body.type).toBe("REFUND_TOO_LARGE");
		expect((await api("POST", `/api/payments/${paymentId}/refund`, { amount: 0 }, { token: streamer.token })).status).toBe(422);
		expect((await api("GET", `/api/payments/${paymentId}`)).body).toMatchObject({ status: "paid", refundedAmount: 3_000_00 });

		// No amount: what remains.
		const rest = await api("POST", `/api/payments/${paymentId}/refund`, {}, { token: streamer.token });
		expect(rest.status).toBe(202);
		expect(rest.body).toMatchObject({ status: "refunded", refundedAmount: 10_000_00 });
		await waitStatus(h.url, streamer.token, donationId, "refunded");
		await waitFor(async () => (await balance()) === paidBalance - 10_000_00, 5000, "full debit");
		const entries = await ledgerFor(donationId);
		expect(entries.reduce((a, b) => a + b, 0)).toBe(0);
		expect([...entries].sort((a, b) => a - b)).toEqual([-7_000_00, -3_000_00, 10_000_00]);

		// Nothing remains: a refunded payment cannot be refunded again.
		expect((await api("POST", `/api/payments/${paymentId}/refund`, { amount: 1 }, { token: streamer.token })).status).toBe(409);
	});

	it("replays a retried refund under the same Idempotency-Key instead of refunding twice", async () => {
		const { donationId, paymentId } = await paidDonation(4_000_00);
		const paidBalance = await balance();
		const headers = { "Idempotency-Key": `refund-retry-${paymentId}` };
		const first = await api("POST", `/api/payments/${paymentId}/refund`, { amount: 1_000_00 }, { token: streamer.token, headers });
		const again = await api("POST", `/api/payments/${paymentId}/refund`, { amount: 1_000_00 }, { token: streamer.token, headers });
		expect(first.status).toBe(202);
		expect(again.status).toBe(202);
		expect(again.body).toEqual(first.body);
		await waitFor(async () => (await balance()) === paidBalance - 1_000_00, 5000, "one debit");
		expect((await api("GET", `/api/payments/${paymentId}`)).body.refundedAmount).toBe(1_000_00);
		expect((await ledgerFor(donationId)).filter((a) => a < 0)).toEqual([-1_000_00]);
	});

	it("lets only the recipient refund", async () => {
		const { paymentId } = await paidDonation(2_000_00);
		const stranger = await registerUser(h.url, "stranger");
		expect((await api("POST", `/api/payments/${paymentId}/refund`, { amount: 1_000_00 }, { token: stranger.token })).status).toBe(403);
		expect((await api("GET", `/api/payments/${paymentId}`)).body.refundedAmount).toBe(0);
	});
});
