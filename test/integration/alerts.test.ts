import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, connectSocket, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, openOverlay, pay, sandboxWebhook, setupStreamer, waitStatus } from "../support/flow";

const SERVICES = ["users", "payments", "donations", "ledger", "stats", "alerts"];
// A short display time and grace so the "resend after timeout" case runs in about two seconds.
const ENV = { SCRYPT_COST: "1024", ALERT_ACK_GRACE_MS: "300", ALERT_TICK_MS: "100", REDRIVE_INTERVAL_MS: "500" };

let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({ services: SERVICES, env: ENV });
	api = client(h.url);
});
afterAll(() => h?.stop());

async function paidDonation(to: string, body: Record<string, unknown> = {}) {
	const res = await donate(h.url, to, body);
	if (res.status !== 201) throw new Error(`donate failed ${res.status} ${JSON.stringify(res.body)}`);
	await pay(h.url, res.body.payment.id);
	return res.body.donation.id as string;
}

describe("overlay alerts", () => {
	it("refuses an overlay with a bad token", async () => {
		await expect(connectSocket(h.url, "/overlay", { token: "nope" })).rejects.toThrow(/Invalid overlay token/);
		await expect(connectSocket(h.url, "/overlay", {})).rejects.toThrow(/token/i);
	});

	it("shows one alert at a time in payment order, the next after alert:done", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 } });
		const overlay = await openOverlay(h.url, s.overlayToken);
		const first = await paidDonation(s.username, { donorName: "First" });
		const firstAlert = await overlay.next(1);
		expect(firstAlert.donationId).toBe(first);
		await paidDonation(s.username, { donorName: "Second" });
		await paidDonation(s.username, { donorName: "Third" });
		const queue = await waitFor(
			async () => {
				const q = await api("GET", "/api/alerts/queue", undefined, { token: s.token });
				return q.body.depth === 2 ? q.body : null;
			},
			5000,
			"two queued alerts",
		);
		expect(queue.current.donorName).toBe("First");
		expect(queue.queued.map((a: any) => a.donorName)).toEqual(["Second", "Third"]);
		expect(overlay.alerts).toHaveLength(1);
		await overlay.done(firstAlert.id);
		expect((await overlay.next(2)).donorName).toBe("Second");
		await overlay.done(overlay.alerts[1].id);
		expect((await overlay.next(3)).donorName).toBe("Third");
		await overlay.done(overlay.alerts[2].id);
		overlay.close();
	});

	it("sends an unacknowledged alert again after its display time, with the same id", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 2 } });
		const overlay = await openOverlay(h.url, s.overlayToken);
		await paidDonation(s.username, { donorName: "Slow" });
		const a = await overlay.next(1);
		const again = await overlay.next(2, 6000);
		expect(again.id).toBe(a.id);
		await overlay.done(a.id);
		overlay.close();
	});

	it("test alert, skip, pause and resume, replay", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 } });
		const overlay = await openOverlay(h.url, s.overlayToken);
		const skips: any[] = [];
		overlay.socket.on("alert:skip", (d) => skips.push(d));
		expect((await api("POST", "/api/alerts/test", { message: "hello overlay" }, { token: s.token })).status).toBe(202);
		const t = await overlay.next(1);
		expect(t).toMatchObject({ type: "test", message: "hello overlay", donationId: null });
		const skipped = await api("POST", "/api/alerts/skip", undefined, { token: s.token });
		expect(skipped.body.skipped).toBe(t.id);
		await waitFor(() => skips.length === 1, 3000, "alert:skip");

		expect((await api("POST", "/api/alerts/pause", undefined, { token: s.token })).body.paused).toBe(true);
		const donationId = await paidDonation(s.username, { donorName: "While Paused" });
		await waitFor(async () => (await api("GET", "/api/alerts/queue", undefined, { token: s.token })).body.depth === 1, 5000, "queued while paused");
		expect(overlay.alerts).toHaveLength(1);
		expect((await api("POST", "/api/alerts/resume", undefined, { token: s.token })).body.paused).toBe(false);
		const resumed = await overlay.next(2);
		expect(resumed).toMatchObject({ donorName: "While Paused", donationId });
		await overlay.done(resumed.id);

		const replay = await api("POST", `/api/alerts/${donationId}/replay`, undefined, { token: s.token });
		expect(replay.status).toBe(202);
		const replayed = await overlay.next(3);
		expect(replayed.donationId).toBe(donationId);
		expect(replayed.id).not.toBe(resumed.id);
		await overlay.done(replayed.id);
		overlay.close();
	});

	it("masks blocked terms, and holds donations for approval when asked to", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 }, moderation: { blockedTerms: ["noob"], blockedTermAction: "mask" } });
		const overlay = await openOverlay(h.url, s.overlayToken);
		await paidDonation(s.username, { message: "you noob" });
		const masked = await overlay.next(1);
		expect(masked.message).toBe("you ****");
		await overlay.done(masked.id);

		await api("PATCH", "/api/users/me", { settings: { moderation: { blockedTermAction: "hold" } } }, { token: s.token });
		const held = await paidDonation(s.username, { donorName: "Held", message: "noob streamer" });
		const rejected = await paidDonation(s.username, { donorName: "Rejected", message: "noob again" });
		const list = await waitFor(
			async () => {
				const r = await api("GET", "/api/alerts/held", undefined, { token: s.token });
				return r.body.items.length === 2 ? r.body.items : null;
			},
			5000,
			"two held",
		);
		expect(list.map((a: any) => a.donationId).sort()).toEqual([held, rejected].sort());
		expect(list[0].heldReason).toBe("BLOCKED_TERM");

		// nobody else can approve
		const other = await registerUser(h.url, "mod");
		expect((await api("POST", `/api/alerts/${held}/approve`, undefined, { token: other.token })).status).toBe(404);

		expect((await api("POST", `/api/alerts/${rejected}/reject`, undefined, { token: s.token })).body.status).toBe("rejected");
		expect((await api("POST", `/api/alerts/${held}/approve`, undefined, { token: s.token })).body.status).toBe("queued");
		const shown = await overlay.next(2);
		expect(shown).toMatchObject({ donorName: "Held", message: "**** streamer" });
		await overlay.done(shown.id);
		// the rejected donation stays paid; only its alert was dropped
		await waitStatus(h.url, s.token, rejected, "paid");
		expect(overlay.alerts.some((a) => a.donorName === "Rejected")).toBe(false);
		expect((await api("POST", `/api/alerts/${rejected}/approve`, undefined, { token: s.token })).status).toBe(422);
		// A rejected alert cannot come back through replay either; the approved one replays masked.
		const replayRejected = await api("POST", `/api/alerts/${rejected}/replay`, undefined, { token: s.token });
		expect(replayRejected.status).toBe(409);
		expect(replayRejected.body.type).toBe("NOT_REPLAYABLE");
		expect((await api("POST", `/api/alerts/${held}/replay`, undefined, { token: s.token })).status).toBe(202);
		const again = await overlay.next(3);
		expect(again).toMatchObject({ donorName: "Held", message: "**** streamer" });
		await overlay.done(again.id);
		expect(overlay.alerts.some((a) => a.donorName === "Rejected")).toBe(false);
		overlay.close();
	});

	it("moderates the donor name too: masked on the overlay, in the donation and the stats; held when asked", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 }, moderation: { blockedTerms: ["scam"], blockedTermAction: "mask" } });
		const overlay = await openOverlay(h.url, s.overlayToken);
		// Cyrillic "а" and a zero-width space do not get a blocked term past the filter.
		const id = await paidDonation(s.username, { donorName: "sc\u0430m king", message: "hi" });
		const shown = await overlay.next(1);
		expect(shown).toMatchObject({ donationId: id, donorName: "**** king", message: "hi" });
		await overlay.done(shown.id);
		expect((await api("GET", `/api/donations/${id}`, undefined, { token: s.token })).body.donorName).toBe("**** king");
		const stats = await waitFor(
			async () => {
				const r = await api("GET", `/api/users/${s.username}/stats`);
				return r.body.recent?.length ? r.body : null;
			},
			5000,
			"stats",
		);
		expect(stats.topDonors.map((d: any) => d.name)).toEqual(["**** king"]);
		expect(stats.recent.map((d: any) => d.donorName)).toEqual(["**** king"]);

		await api("PATCH", "/api/users/me", { settings: { moderation: { blockedTermAction: "hold" } } }, { token: s.token });
		const held = await paidDonation(s.username, { donorName: "s\u200Bcam", message: "clean message" });
		const list = await waitFor(
			async () => {
				const r = await api("GET", "/api/alerts/held", undefined, { token: s.token });
				return r.body.items.length === 1 ? r.body.items : null;
			},
			5000,
			"held for the name",
		);
		// The overlay would show "****"; the streamer deciding sees what was typed.
		expect(list[0]).toMatchObject({ donationId: held, heldReason: "BLOCKED_TERM", donorName: "****", originalDonorName: "scam" });
		expect(overlay.alerts).toHaveLength(1);
		overlay.close();
	});

	it("media share takes YouTube videos only, stored and shown as the canonical watch URL", async () => {
		const s = await setupStreamer(h.url, {
			alerts: { displaySeconds: 30 },
			mediaShare: { enabled: true, pricePerSecond: 0, maxSeconds: 30, requireApproval: false },
		});
		for (const mediaUrl of [
			"https://www.youtube.com@evil.com/watch?v=dQw4w9WgXcQ",
			"https://youtube.com.evil.com/watch?v=dQw4w9WgXcQ",
			"https://evil.com/dQw4w9WgXcQ",
		]) {
			const res = await donate(h.url, s.username, { mediaUrl });
			expect(res.status, mediaUrl).toBe(422);
			expect(res.body).toMatchObject({ type: "INVALID_URL", data: [{ field: "mediaUrl" }] });
		}
		const overlay = await openOverlay(h.url, s.overlayToken);
		const id = await paidDonation(s.username, { mediaUrl: "https://youtu.be/dQw4w9WgXcQ?t=1m30s&si=abc" });
		const a = await overlay.next(1);
		expect(a).toMatchObject({ donationId: id, mediaUrl: "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=90", mediaSeconds: 30 });
		expect((await api("GET", `/api/donations/${id}`, undefined, { token: s.token })).body.mediaUrl).toBe(
			"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=90",
		);
		await overlay.done(a.id);
		overlay.close();
	});

	it("a refunded donation is never shown again", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 } });
		const overlay = await openOverlay(h.url, s.overlayToken);
		const res = await donate(h.url, s.username, { donorName: "Refunded" });
		await pay(h.url, res.body.payment.id);
		const first = await overlay.next(1);
		await overlay.done(first.id);
		expect((await sandboxWebhook(h.url, { payment_id: res.body.payment.id, status: "refund" })).status).toBe(200);
		await waitStatus(h.url, s.token, res.body.donation.id, "refunded");
		const replay = await api("POST", `/api/alerts/${res.body.donation.id}/replay`, undefined, { token: s.token });
		expect(replay.status).toBe(409);
		expect(replay.body.type).toBe("DONATION_NOT_PAID");
		expect(overlay.alerts).toHaveLength(1);
		overlay.close();
	});

	it("rotating the overlay token disconnects overlays that used the old one", async () => {
		const s = await setupStreamer(h.url);
		const overlay = await openOverlay(h.url, s.overlayToken);
		const gone = new Promise((resolve) => overlay.socket.once("disconnect", resolve));
		const rotated = await api("POST", "/api/users/me/overlay-token", undefined, { token: s.token });
		expect(rotated.status).toBe(200);
		expect(rotated.body.overlayToken).not.toBe(s.overlayToken);
		expect(rotated.body.overlayUrl).toContain(encodeURIComponent(rotated.body.overlayToken));
		await gone;
		await expect(connectSocket(h.url, "/overlay", { token: s.overlayToken })).rejects.toThrow();
		const fresh = await openOverlay(h.url, rotated.body.overlayToken);
		fresh.close();
	});

	it("an overlay cannot acknowledge another channel's alert", async () => {
		const a = await setupStreamer(h.url, { alerts: { displaySeconds: 30 } });
		const b = await setupStreamer(h.url);
		const overlayA = await openOverlay(h.url, a.overlayToken);
		const overlayB = await openOverlay(h.url, b.overlayToken);
		await paidDonation(a.username, { donorName: "For A" });
		const alert = await overlayA.next(1);
		await overlayB.done(alert.id);
		const q = await api("GET", "/api/alerts/queue", undefined, { token: a.token });
		expect(q.body.current?.id).toBe(alert.id);
		expect(overlayB.alerts).toHaveLength(0);
		await overlayA.done(alert.id);
		overlayA.close();
		overlayB.close();
	});
});
