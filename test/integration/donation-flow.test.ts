import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, donationStatus, openOverlay, pay, sandboxWebhook, setupStreamer, waitStatus, type Overlay } from "../support/flow";

const SERVICES = ["users", "payments", "donations", "ledger", "stats", "alerts"];
const ENV = { SCRYPT_COST: "1024", ALERT_ACK_GRACE_MS: "500", ALERT_TICK_MS: "100", REDRIVE_INTERVAL_MS: "500" };

describe("donation pipeline (embedded)", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;
	let streamer: Awaited<ReturnType<typeof setupStreamer>>;
	let overlay: Overlay;

	beforeAll(async () => {
		h = await startHarness({ services: SERVICES, env: ENV });
		api = client(h.url);
		streamer = await setupStreamer(h.url);
		overlay = await openOverlay(h.url, streamer.overlayToken);
	});
	afterAll(async () => {
		overlay?.close();
		await h?.stop();
	});

	it("shows exactly one alert when an anonymous donation is paid through the sandbox", async () => {
		const res = await donate(h.url, streamer.username, { donorName: "Budi", message: "semangat bang" });
		expect(res.status).toBe(201);
		expect(res.body.donation).toMatchObject({ status: "pending", amount: 5_000_00, currency: "IDR", formattedAmount: "Rp 5.000" });
		expect(res.body.payment).toMatchObject({ provider: "sandbox", status: "pending", action: { type: "redirect" } });
		expect(res.body.payment.action.url).toContain(`/pay/sandbox/${res.body.payment.id}`);

		const before = overlay.alerts.length;
		expect((await pay(h.url, res.body.payment.id)).status).toBe(202);
		const alert = await overlay.next(before + 1);
		expect(alert).toMatchObject({
			donationId: res.body.donation.id,
			type: "donation",
			donorName: "Budi",
			amount: 5_000_00,
			currency: "IDR",
			formattedAmount: "Rp 5.000",
			message: "semangat bang",
		});
		expect(typeof alert.id).toBe("string");
		expect(await overlay.done(alert.id)).toMatchObject({ ok: true });
		await waitStatus(h.url, streamer.token, res.body.donation.id, "paid");
		const balance = await api("GET", "/api/me/balance", undefined, { token: streamer.token });
		// Just paid: all of it is held for the chargeback window (PAYOUT_HOLD_SEC).
		expect(balance.body.balances).toEqual([
			expect.objectContaining({ currency: "IDR", amount: 5_000_00, formattedAmount: "Rp 5.000", held: 5_000_00, available: 0, pendingPayouts: 0 }),
		]);
	});

	it("alerts a signed-in donor by display name and lists the donation on both sides", async () => {
		const viewer = await registerUser(h.url, "viewer");
		const res = await donate(h.url, streamer.username, { donorName: undefined, message: "gg" }, { token: viewer.token });
		expect(res.status).toBe(201);
		const before = overlay.alerts.length;
		await pay(h.url, res.body.payment.id);
		const alert = await overlay.next(before + 1);
		expect(alert.donorName).toBe(viewer.username);
		await overlay.done(alert.id);
		const sent = await api("GET", "/api/me/donations/sent", undefined, { token: viewer.token });
		expect(sent.body.items.map((d: any) => d.id)).toEqual([res.body.donation.id]);
		const received = await api("GET", "/api/me/donations/received?status=paid", undefined, { token: streamer.token });
		expect(received.body.items.map((d: any) => d.id)).toContain(res.body.donation.id);
		// someone else cannot read it
		const other = await registerUser(h.url, "other");
		expect((await api("GET", `/api/donations/${res.body.donation.id}`, undefined, { token: other.token })).status).toBe(404);
	});

	it("ignores a duplicate webhook: still one alert and one ledger credit", async () => {
		const res = await donate(h.url, streamer.username, { amount: 2_000_00 });
		const paymentId = res.body.payment.id;
		const before = overlay.alerts.length;
		const body = { event_id: `evt-dup-${paymentId}`, payment_id: paymentId, status: "settlement" };
		const first = await sandboxWebhook(h.url, body);
		const second = await sandboxWebhook(h.url, body);
		expect(first.status).toBe(200);
		expect(second.status).toBe(200);
		// a different event id for the same settlement must not pay twice either
		expect((await sandboxWebhook(h.url, { payment_id: paymentId, status: "settlement" })).status).toBe(200);
		const alert = await overlay.next(before + 1);
		expect(alert.donationId).toBe(res.body.donation.id);
		await overlay.done(alert.id);
		const ledger = await api("GET", "/api/me/ledger?limit=100", undefined, { token: streamer.token });
		expect(ledger.body.items.filter((e: any) => e.donationId === res.body.donation.id)).toHaveLength(1);
		// the next alert to arrive is a new donation, not a duplicate of this one
		const probe = await donate(h.url, streamer.username, { amount: 1_000_00 });
		await pay(h.url, probe.body.payment.id);
		const next = await overlay.next(before + 2);
		expect(next.donationId).toBe(probe.body.donation.id);
		await overlay.done(next.id);
	});

	it("refuses a forged webhook with 400 and changes nothing", async () => {
		const res = await donate(h.url, streamer.username);
		const paymentId = res.body.payment.id;
		const forged = await sandboxWebhook(h.url, { payment_id: paymentId, status: "settlement" }, { secret: "wrong-secret" });
		expect(forged.status).toBe(400);
		const stale = await sandboxWebhook(h.url, { payment_id: paymentId, status: "settlement" }, { t: Math.floor(Date.now() / 1000) - 3600 });
		expect(stale.status).toBe(400);
		const v0 = await sandboxWebhook(h.url, { payment_id: paymentId, status: "settlement" }, { scheme: "v0" });
		expect(v0.status).toBe(400);
		expect(await donationStatus(h.url, streamer.token, res.body.donation.id)).toBe("pending");
		expect((await api("GET", `/api/payments/${paymentId}`)).body.status).toBe("pending");
	});

	it("replays the first response for the same Idempotency-Key and refuses a changed body", async () => {
		const key = `key-${Date.now()}`;
		const a = await donate(h.url, streamer.username, { amount: 3_000_00 }, { key });
		const b = await donate(h.url, streamer.username, { amount: 3_000_00 }, { key });
		expect(a.status).toBe(201);
		expect(b.status).toBe(201);
		expect(b.body.donation.id).toBe(a.body.donation.id);
		expect(b.body.payment.id).toBe(a.body.payment.id);
		const c = await donate(h.url, streamer.username, { amount: 4_000_00 }, { key });
		expect(c.status).toBe(422);
		expect(c.body.type).toBe("IDEMPOTENCY_KEY_REUSED");
		const received = await api("GET", "/api/me/donations/received?limit=100", undefined, { token: streamer.token });
		expect(received.body.items.filter((d: any) => d.amount === 3_000_00)).toHaveLength(1);
	});

	it("refuses donations that can never succeed with 422 and stores nothing", async () => {
		const count = async () => (await api("GET", "/api/me/donations/received?limit=100", undefined, { token: streamer.token })).body.items.length;
		const before = await count();
		const cases: [Record<string, unknown>, string][] = [
			[{ amount: 500_00 }, "AMOUNT_TOO_LOW"],
			[{ currency: "USD" }, "CURRENCY_MISMATCH"],
			[{ donorName: undefined }, "DONOR_NAME_REQUIRED"],
			[{ mediaUrl: "https://youtu.be/dQw4w9WgXcQ" }, "MEDIA_SHARE_DISABLED"],
			[{ to: "nobody_at_all" }, "RECIPIENT_NOT_FOUND"],
			[{ amount: -5 }, "VALIDATION_ERROR"],
			[{ amount: 1.5 }, "VALIDATION_ERROR"],
			[{ currency: "XXX" }, "VALIDATION_ERROR"],
			[{ mediaUrl: "javascript:alert(1)" }, "VALIDATION_ERROR"],
			[{ provider: "stripe" }, "PROVIDER_UNAVAILABLE"],
		];
		for (const [patch, type] of cases) {
			const res = await donate(h.url, streamer.username, patch);
			expect(res.status, JSON.stringify(patch)).toBe(422);
			expect(res.body.type, JSON.stringify(patch)).toBe(type);
		}
		const viewer = await registerUser(h.url, "nodon");
		const off = await donate(h.url, viewer.username);
		expect(off.status).toBe(422);
		expect(off.body.type).toBe("DONATIONS_DISABLED");
		expect(await count()).toBe(before);
		expect((await api("GET", "/api/payments/providers")).body.providers).toEqual(["sandbox"]);
	});

	it("never alerts a denied or expired payment", async () => {
		const denied = await donate(h.url, streamer.username, { donorName: "Denied" });
		const expired = await donate(h.url, streamer.username, { donorName: "Expired" });
		await pay(h.url, denied.body.payment.id, "deny");
		await pay(h.url, expired.body.payment.id, "expire");
		await waitStatus(h.url, streamer.token, denied.body.donation.id, "failed");
		await waitStatus(h.url, streamer.token, expired.body.donation.id, "expired");
		const before = overlay.alerts.length;
		const ok = await donate(h.url, streamer.username, { donorName: "Paid" });
		await pay(h.url, ok.body.payment.id);
		const alert = await overlay.next(before + 1);
		expect(alert.donorName).toBe("Paid");
		await overlay.done(alert.id);
		expect(overlay.alerts.some((a) => a.donorName === "Denied" || a.donorName === "Expired")).toBe(false);
	});

	it("debits the balance when a paid donation is refunded", async () => {
		const balance = async () => (await api("GET", "/api/me/balance", undefined, { token: streamer.token })).body.balances[0]?.amount ?? 0;
		const res = await donate(h.url, streamer.username, { amount: 7_000_00 });
		const before = overlay.alerts.length;
		await pay(h.url, res.body.payment.id);
		const alert = await overlay.next(before + 1);
		await overlay.done(alert.id);
		await waitStatus(h.url, streamer.token, res.body.donation.id, "paid");
		const paidBalance = await balance();
		expect((await sandboxWebhook(h.url, { payment_id: res.body.payment.id, status: "refund" })).status).toBe(200);
		await waitStatus(h.url, streamer.token, res.body.donation.id, "refunded");
		await waitFor(async () => (await balance()) === paidBalance - 7_000_00, 5000, "balance debit");
		const ledger = await api("GET", "/api/me/ledger?limit=100", undefined, { token: streamer.token });
		const entries = ledger.body.items
			.filter((e: any) => e.donationId === res.body.donation.id)
			.map((e: any) => e.amount)
			.sort();
		expect(entries).toEqual([-7_000_00, 7_000_00]);
	});

	it("delivers the alert to an overlay that was offline during payment", async () => {
		overlay.close();
		const res = await donate(h.url, streamer.username, { donorName: "Offline" });
		await pay(h.url, res.body.payment.id);
		await waitStatus(h.url, streamer.token, res.body.donation.id, "paid");
		overlay = await openOverlay(h.url, streamer.overlayToken);
		const alert = await overlay.next(1);
		expect(alert.donorName).toBe("Offline");
		await overlay.done(alert.id);
	});

	it("keeps stats, leaderboard, goal and recent donations from aggregates", async () => {
		const goal = await api("PUT", "/api/me/goal", { title: "New mic", target: 100_000_00, currency: "IDR" }, { token: streamer.token });
		expect(goal.status).toBe(200);
		const res = await donate(h.url, streamer.username, { donorName: "Goal Giver", amount: 10_000_00 });
		const before = overlay.alerts.length;
		await pay(h.url, res.body.payment.id);
		await overlay.done((await overlay.next(before + 1)).id);
		const stats = (await waitFor(
			async () => {
				const s = await api("GET", `/api/users/${streamer.username}/stats?period=7d`);
				return s.body.goal?.current === 10_000_00 ? s : null;
			},
			5000,
			"goal progress",
		))!;
		expect(stats.body.goal).toMatchObject({ title: "New mic", target: 100_000_00, current: 10_000_00, currency: "IDR" });
		expect(stats.body.topDonors[0]).toMatchObject({ name: "Goal Giver", amount: 10_000_00, currency: "IDR", count: 1 });
		expect(stats.body.recent[0]).toMatchObject({ donorName: "Goal Giver", amount: 10_000_00 });
		const all = await api("GET", `/api/users/${streamer.username}/stats?period=all`);
		const idr = all.body.totals.find((t: any) => t.currency === "IDR");
		const received = await api("GET", "/api/me/donations/received?status=paid&limit=100", undefined, { token: streamer.token });
		expect(idr.amount).toBe(received.body.items.reduce((s: number, d: any) => s + d.amount, 0));
		const profile = await api("GET", `/api/users/${streamer.username}`);
		expect(profile.body.goal).toMatchObject({ title: "New mic" });
		expect((await api("GET", `/api/users/${streamer.username}/stats?period=year`)).status).toBe(422);
	});
});

describe("restart on the same data (NeDB files; the MongoDB database when MONGO_URI is set)", () => {
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-restart-"));
	afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

	it("still delivers an unfinished alert after the broker restarts", async () => {
		const env = { ...ENV, DB_ADAPTER: process.env.MONGO_URI ? "mongo" : "nedb", DATA_DIR: dataDir };
		let h = await startHarness({ services: SERVICES, env });
		const streamer = await setupStreamer(h.url);
		const res = await donate(h.url, streamer.username, { donorName: "Before Restart" });
		await pay(h.url, res.body.payment.id);
		await waitStatus(h.url, streamer.token, res.body.donation.id, "paid");
		await h.stop();

		h = await startHarness({ services: SERVICES, env });
		try {
			const overlay = await openOverlay(h.url, streamer.overlayToken);
			const alert = await overlay.next(1);
			expect(alert.donorName).toBe("Before Restart");
			await overlay.done(alert.id);
			const login = await client(h.url)("POST", "/api/auth/login", { login: streamer.username, password: "correct horse battery" });
			expect(login.status).toBe(200);
			const balance = await client(h.url)("GET", "/api/me/balance", undefined, { token: login.body.accessToken });
			expect(balance.body.balances[0].amount).toBe(5_000_00);
			overlay.close();
		} finally {
			await h.stop();
		}
	});
});
