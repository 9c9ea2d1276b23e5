import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as media from "../support/media-files";
import { client, connectSocket, emitAck, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { closeAll, donate, openOverlay, pay, setupStreamer } from "../support/flow";

/**
 * The alert box over real HTTP and Socket.IO, with the real media library: variations (CRUD,
 * validation, the look a donation gets, a test alert with a variation), server-rendered speech
 * following the alert and served from the library, moderated names in alerts and the events
 * widget, channel moderators approving held alerts, and the goal and leaderboard pushed to the
 * overlay socket.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-alertbox-"));
const SERVICES = ["users", "payments", "donations", "ledger", "stats", "alerts", "chat", "moderation", "dm", "follows", "media"];
let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({
		services: SERVICES,
		env: { SCRYPT_COST: "1024", ALERT_TICK_MS: "100", REDRIVE_INTERVAL_MS: "500", DATA_DIR: dataDir, MEDIA_STORE: "fs" },
	});
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
	fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Uploads one file to the media library as the dashboard does; answers the file. */
async function upload(token: string, data: Buffer, name: string) {
	const form = new FormData();
	form.append("file", new Blob([new Uint8Array(data)]), name);
	const res = await fetch(`${h.url}/api/media`, { method: "POST", body: form, headers: { Authorization: `Bearer ${token}` } });
	const body = await res.json();
	if (res.status !== 201) throw new Error(`upload failed ${res.status} ${JSON.stringify(body)}`);
	return body as { id: string; kind: string; url: string };
}

async function paidDonation(to: string, body: Record<string, unknown> = {}) {
	const res = await donate(h.url, to, body);
	if (res.status !== 201) throw new Error(`donate failed ${res.status} ${JSON.stringify(res.body)}`);
	await pay(h.url, res.body.payment.id);
	return res.body.donation.id as string;
}

describe("alert variations over HTTP", () => {
	it("CRUD with validation; a paid donation and a test alert carry the variation's look", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 } });
		const gif = await upload(s.token, media.gif(), "hype.gif");
		const ding = await upload(s.token, media.wav(1), "ding.wav");
		const other = await registerUser(h.url, "other");
		const theirs = await upload(other.token, media.png(4, 4, 7), "theirs.png");
		const as = { token: s.token };

		const bad = [
			{ name: "x", template: "{name} {phone}" },
			{ name: "x", imageMediaId: ding.id },
			{ name: "x", soundMediaId: gif.id },
			{ name: "x", imageMediaId: theirs.id },
			{ name: "x", volume: 2 },
			{ name: "x", layout: "diagonal" },
			{ name: "x", minAmount: 100, maxAmount: 50 },
			{ name: "x", color: "red" },
		];
		for (const body of bad) expect((await api("POST", "/api/alerts/variations", body, as)).status, JSON.stringify(body)).toBe(422);
		expect((await api("GET", "/api/alerts/variations", undefined, as)).body).toEqual({ items: [] });
		expect((await api("GET", "/api/alerts/variations")).status).toBe(401);

		const created = await api(
			"POST",
			"/api/alerts/variations",
			{
				name: "Sultan",
				minAmount: 20_000_00,
				template: "{name} nyawer {amount}!",
				imageMediaId: gif.id,
				soundMediaId: ding.id,
				volume: 0.4,
				durationSec: 6,
				layout: "image-left",
			},
			as,
		);
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ name: "Sultan", enabled: true, maxAmount: null, tts: false, imageMediaId: gif.id });
		const id = created.body.id;
		expect((await api("PATCH", `/api/alerts/variations/${id}`, { name: "Sultan!" }, { token: other.token })).status).toBe(404);
		const patched = await api("PATCH", `/api/alerts/variations/${id}`, { name: "Sultan!" }, as);
		expect(patched.body).toMatchObject({ name: "Sultan!", minAmount: 20_000_00, layout: "image-left" });

		const overlay = await openOverlay(h.url, s.overlayToken);
		const small = await paidDonation(s.username, { amount: 5_000_00, donorName: "Kecil" });
		const a1 = await overlay.next(1);
		expect(a1).toMatchObject({
			donationId: small,
			variationId: null,
			title: "Kecil donated Rp 5.000",
			imageUrl: null,
			soundUrl: null,
			layout: "image-above",
			durationSec: 30,
			ttsUrl: null,
		});
		await overlay.done(a1.id);
		const big = await paidDonation(s.username, { amount: 25_000_00, donorName: "Besar" });
		const a2 = await overlay.next(2);
		expect(a2).toMatchObject({
			donationId: big,
			variationId: id,
			title: "Besar nyawer Rp 25.000!",
			imageUrl: gif.url,
			soundUrl: ding.url,
			volume: 0.4,
			durationSec: 6,
			layout: "image-left",
		});
		await overlay.done(a2.id);

		expect((await api("POST", "/api/alerts/test", { variationId: id }, as)).status).toBe(202);
		const a3 = await overlay.next(3);
		expect(a3).toMatchObject({ type: "test", variationId: id, imageUrl: gif.url, amount: 20_000_00 });
		await overlay.done(a3.id);
		expect((await api("POST", "/api/alerts/test", { variationId: "nope" }, as)).status).toBe(404);

		// Deleting a file the variation uses takes it out of the variation (and so of its alerts).
		expect((await api("DELETE", `/api/media/${gif.id}`, undefined, as)).status).toBe(204);
		await waitFor(
			async () => (await api("GET", "/api/alerts/variations", undefined, as)).body.items[0]?.imageMediaId === null,
			5000,
			"the image gone from the variation",
		);
		expect((await api("GET", "/api/alerts/variations", undefined, as)).body.items[0]).toMatchObject({ imageUrl: null, soundMediaId: ding.id });
		expect((await api("DELETE", `/api/alerts/variations/${id}`, undefined, as)).status).toBe(204);
		expect((await api("DELETE", `/api/alerts/variations/${id}`, undefined, as)).status).toBe(404);
		overlay.close();
	});
});

describe("server-side speech", () => {
	it("the alert goes out at once, its speech follows as a same-origin audio file of the moderated text", async () => {
		const s = await setupStreamer(h.url, {
			alerts: { displaySeconds: 30, tts: true, ttsMinAmount: 1_000_00, ttsLanguage: "id" },
			moderation: { blockedTerms: ["judi"], useDefaultList: true },
		});
		const overlay = await openOverlay(h.url, s.overlayToken);
		const speech: any[] = [];
		overlay.socket.on("alert:tts", (p) => speech.push(p));
		await paidDonation(s.username, { donorName: "Bangsat Joe", message: "main judi di www.judi.example yuk" });
		const a = await overlay.next(1);
		// The name is masked on the alert itself (built-in list), and the alert did not wait for speech.
		expect(a.donorName).toBe("******* Joe");
		expect(a).toMatchObject({ tts: true, ttsUrl: null });
		const p = await waitFor(() => speech.find((x) => x.id === a.id), 10_000, "alert:tts");
		expect(p.ttsUrl).toMatch(/^\/media\/[0-9a-f]{64}\.wav$/);
		// Served by the gateway from the library, same origin: a WAV file of some seconds.
		const file = await fetch(h.url + p.ttsUrl);
		expect(file.status).toBe(200);
		expect(file.headers.get("content-type")).toMatch(/^audio\/(wav|x-wav|wave)/);
		const bytes = Buffer.from(await file.arrayBuffer());
		expect(bytes.subarray(0, 4).toString()).toBe("RIFF");
		expect(bytes.length).toBeGreaterThan(44_100);
		// An overlay that reconnects gets the alert with its speech.
		overlay.close();
		const again = await openOverlay(h.url, s.overlayToken);
		expect((await again.next(1)).ttsUrl).toBe(p.ttsUrl);
		await again.done(a.id);
		again.close();
	});
});

describe("moderators and held alerts", () => {
	it("a channel moderator lists, approves and rejects held alerts; anyone else is refused", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 }, moderation: { blockedTerms: ["spoiler"], blockedTermAction: "hold" } });
		const mod = await registerUser(h.url, "mod");
		const stranger = await registerUser(h.url, "stranger");
		expect((await api("PUT", `/api/channels/${s.username}/moderators/${mod.id}`, undefined, { token: s.token })).status).toBe(204);
		const overlay = await openOverlay(h.url, s.overlayToken);
		const held1 = await paidDonation(s.username, { message: "spoiler: he dies" });
		const held2 = await paidDonation(s.username, { donorName: "spoiler king", message: "hi" });
		const list = await waitFor(
			async () => {
				const r = await api("GET", `/api/alerts/held?username=${s.username}`, undefined, { token: mod.token });
				return r.body.items?.length === 2 ? r.body.items : null;
			},
			8000,
			"two held alerts",
		);
		expect(list.map((x: any) => x.donationId).sort()).toEqual([held1, held2].sort());
		expect((await api("GET", `/api/alerts/held?username=${s.username}`, undefined, { token: stranger.token })).status).toBe(403);
		expect((await api("POST", `/api/alerts/${held1}/approve`, { username: s.username }, { token: stranger.token })).status).toBe(403);
		// Without `username` a call works on the caller's own channel, where this donation is not.
		expect((await api("POST", `/api/alerts/${held1}/approve`, {}, { token: mod.token })).status).toBe(404);
		expect((await api("POST", `/api/alerts/${held1}/approve`, { username: s.username }, { token: mod.token })).body).toEqual({
			donationId: held1,
			status: "queued",
		});
		const shown = await overlay.next(1);
		expect(shown).toMatchObject({ donationId: held1, message: "*******: he dies" });
		expect((await api("POST", `/api/alerts/${held2}/reject`, { username: s.username }, { token: mod.token })).body).toEqual({
			donationId: held2,
			status: "rejected",
		});
		overlay.close();
	});
});

describe("widgets", () => {
	it("the events widget lists paid donations and follows newest first, names moderated, and gets new ones live", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 }, moderation: { blockedTerms: ["jerk"] } });
		await paidDonation(s.username, { donorName: "Ani", amount: 2_000_00, message: "halo jerk" });
		const widget = await connectSocket(h.url, "/overlay", { token: s.overlayToken });
		const live: any[] = [];
		widget.on("events:new", (e) => live.push(e));
		const first = await waitFor(
			async () => {
				const ack = await emitAck(widget, "events:list", {});
				return ack.items?.length === 1 ? ack : null;
			},
			8000,
			"the first event",
		);
		expect(first.items[0]).toMatchObject({ kind: "donation", name: "Ani", formattedAmount: "Rp 2.000", message: "halo ****" });
		const fan = await registerUser(h.url, "fan");
		expect((await api("PUT", `/api/users/${s.username}/follow`, undefined, { token: fan.token })).status).toBe(204);
		const followed = await waitFor(() => live.find((e) => e.kind === "follow"), 8000, "the follow, live");
		expect(followed.name).toBe(fan.username);
		await paidDonation(s.username, { donorName: "Jerk Budi", amount: 3_000_00, message: "" });
		await waitFor(() => live.find((e) => e.kind === "donation" && e.name === "**** Budi"), 8000, "the second donation, live");
		const list = await emitAck(widget, "events:list", {});
		expect(list.items.map((e: any) => [e.kind, e.name])).toEqual([
			["donation", "**** Budi"],
			["follow", fan.username],
			["donation", "Ani"],
		]);
		closeAll(widget);
	});

	it("the goal starts from an offset and the goal and leaderboard are pushed to the overlay socket", async () => {
		const s = await setupStreamer(h.url, { alerts: { displaySeconds: 30 } });
		const goal = await api(
			"PUT",
			"/api/me/goal",
			{ title: "Mic baru", target: 100_000_00, currency: "IDR", startingAmount: 40_000_00 },
			{ token: s.token },
		);
		expect(goal.status).toBe(200);
		expect(goal.body).toMatchObject({ current: 40_000_00, startingAmount: 40_000_00 });
		expect((await api("PUT", "/api/me/goal", { title: "x", target: 100, currency: "IDR", startingAmount: -1 }, { token: s.token })).status).toBe(422);
		const widget = await connectSocket(h.url, "/overlay", { token: s.overlayToken });
		const pushes: any[] = [];
		widget.on("widgets:stats", (p) => pushes.push(p));
		await paidDonation(s.username, { donorName: "Citra", amount: 10_000_00 });
		const pushed = await waitFor(() => pushes.find((p) => p.goal?.current === 50_000_00), 8000, "the goal push");
		expect(pushed.topDonors.all).toEqual([expect.objectContaining({ name: "Citra", amount: 10_000_00 })]);
		expect(pushed.topDonors["7d"]).toHaveLength(1);
		// Reset: the goal starts again from zero, donations before now no longer count.
		const reset = await api("PUT", "/api/me/goal", { title: "Mic baru", target: 100_000_00, currency: "IDR", startingAmount: 0 }, { token: s.token });
		expect(reset.body).toMatchObject({ current: 0 });
		closeAll(widget);
	});
});
