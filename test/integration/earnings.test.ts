import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, setupStreamer, waitStatus } from "../support/flow";

/** `GET /api/me/earnings` over HTTP: the caller's income per day, from the daily aggregates. */
let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({ services: ["users", "payments", "donations", "ledger", "stats"], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
});

describe("GET /api/me/earnings", () => {
	it("sums today's paid donations less one refunded in full, every day of the window present, only the caller's", async () => {
		const s = await setupStreamer(h.url);
		const other = await setupStreamer(h.url);
		const a = await donate(h.url, s.username, { amount: 10_000_00 });
		const b = await donate(h.url, s.username, { amount: 5_000_00 });
		const c = await donate(h.url, other.username, { amount: 7_000_00 });
		const unpaid = await donate(h.url, s.username, { amount: 3_000_00 });
		expect(unpaid.status).toBe(201);
		for (const d of [a, b, c]) await pay(h.url, d.body.payment.id);
		await waitStatus(h.url, s.token, b.body.donation.id, "paid");
		await waitStatus(h.url, s.token, a.body.donation.id, "paid");
		expect((await api("POST", `/api/payments/${b.body.payment.id}/refund`, undefined, { token: s.token })).status).toBe(202);
		const today = new Date().toISOString().slice(0, 10);
		const todayOf = async (days?: number) => {
			const res = await api("GET", `/api/me/earnings${days ? `?days=${days}` : ""}`, undefined, { token: s.token });
			expect(res.status).toBe(200);
			return res.body;
		};
		await waitFor(async () => (await todayOf()).series[0]?.days.at(-1)?.amount === 10_000_00, 8000, "today's income less the refunded donation");
		const month = await todayOf();
		expect(month).toMatchObject({ days: 30, to: today, payouts: [] });
		expect(month.series).toHaveLength(1);
		expect(month.series[0]).toMatchObject({ currency: "IDR", total: 10_000_00, formattedTotal: "Rp 10.000" });
		expect(month.series[0].days).toHaveLength(30);
		expect(month.series[0].days.at(-1)).toMatchObject({ day: today, amount: 10_000_00, formattedAmount: "Rp 10.000" });
		const quarter = await todayOf(90);
		expect(quarter.series[0].days).toHaveLength(90);
		expect(quarter.series[0].total).toBe(10_000_00);
	});

	it("needs a signed-in caller and a 30 or 90 day window", async () => {
		expect((await api("GET", "/api/me/earnings")).status).toBe(401);
		const u = await registerUser(h.url, "earn");
		const bad = await api("GET", "/api/me/earnings?days=7", undefined, { token: u.token });
		expect(bad.status).toBe(422);
		expect(bad.body.data[0].field).toBe("days");
		const empty = await api("GET", "/api/me/earnings?days=90", undefined, { token: u.token });
		expect(empty.body).toMatchObject({ days: 90, series: [], payouts: [] });
	});
});
