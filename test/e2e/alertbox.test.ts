import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { client, registerUser, startHarness, type Harness } from "../support/harness";
import { buildPages, context, launch, shot, signInDashboard, watchErrors } from "./support";
import { png, wav } from "../support/media-files";

/**
 * The alert box in headless Chromium against the whole system: the streamer uploads an image and
 * a sound to the media library (the real `POST /api/media`), makes a variation with them in the
 * dashboard's editor, fires its test alert from the dashboard, and the overlay shows the image and
 * starts the sound (HTMLMediaElement: playing, time moving).
 * With speech on, the server's voice (a WAV from the library) plays after the sound.
 */
let h: Harness;
let api: ReturnType<typeof client>;
let browser: Browser;

async function upload(token: string, name: string, type: string, data: Buffer) {
	const form = new FormData();
	form.append("file", new Blob([new Uint8Array(data)], { type }), name);
	const res = await fetch(`${h.url}/api/media`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: form });
	return { status: res.status, body: await res.json().catch(() => null) };
}

beforeAll(async () => {
	buildPages();
	// The voice renders in a worker at the lowest CPU priority: on a busy CI machine the first one
	// (the engine's start included) can take seconds. Here the alert waits for it (TTS_WAIT_MS), so
	// it arrives with its `ttsUrl` however slow the machine is; the late `alert:tts` path is covered
	// in test/integration/alertbox.test.ts.
	h = await startHarness({ env: { SCRYPT_COST: "1024", ALERT_TICK_MS: "250", TTS_TIMEOUT_MS: "60000", TTS_WAIT_MS: "60000" } });
	api = client(h.url);
	browser = await launch();
});

afterAll(async () => {
	await browser?.close();
	await h?.stop();
});

describe("alert variations in the browser", () => {
	it("upload an image and a sound, make a variation in the dashboard, test it: the overlay shows the image and the sound starts", async () => {
		const s = await registerUser(h.url, "alertbox");
		const patch = await api(
			"PATCH",
			"/api/users/me",
			{ settings: { donations: { enabled: true, currency: "IDR", minAmount: 500000 } } },
			{ token: s.token },
		);
		const overlayToken = patch.body.overlayToken as string;
		// The sound goes in through the API, the image through the editor's upload below.
		const sound = await upload(s.token, "ding.wav", "audio/wav", wav(3));
		expect(sound.status).toBe(201);
		expect(sound.body.kind).toBe("audio");

		const overlayCtx = await context(browser, { width: 1280, height: 720 });
		const overlay = await overlayCtx.newPage();
		const overlayErrors = watchErrors(overlay);
		await overlay.goto(`${h.url}/overlay/alerts?token=${encodeURIComponent(overlayToken)}`);
		await overlay.waitForSelector("body[data-state=connected]", { state: "attached", timeout: 10_000 });

		const ctx = await context(browser);
		const dash = await ctx.newPage();
		const errors = watchErrors(dash);
		await signInDashboard(dash, h.url, s.username);
		await dash.click("[data-tab=alerts]");
		const fresh = dash.locator("form.variation-form[data-variation=new]");
		await fresh.waitFor();
		await fresh.locator("input[name=name]").fill("Hype");
		await fresh.locator("input[name=template]").fill("{name} nyawer {amount}!");
		await fresh.locator("input[name=upload-imageMediaId]").setInputFiles({ name: "hype.png", mimeType: "image/png", buffer: png(64, 64, 3) });
		await dash.waitForFunction(() => document.querySelector<HTMLSelectElement>("form[data-variation=new] select[name=imageMediaId]")?.value);
		const mine = await api("GET", "/api/media?kind=image", undefined, { token: s.token });
		expect(mine.body.items).toHaveLength(1);
		const image = { body: mine.body.items[0] };
		expect(await fresh.locator("select[name=imageMediaId]").inputValue()).toBe(image.body.id);
		await fresh.locator("select[name=soundMediaId]").selectOption(sound.body.id);
		await fresh.locator("select[name=layout]").selectOption("image-left");
		// The live preview follows the form.
		await dash.locator('[data-preview=new] img.alert-image[src="' + image.body.url + '"]').waitFor();
		expect(await dash.locator("[data-preview=new] .alert-title").textContent()).toMatch(/nyawer Rp/);
		await fresh.locator("button[data-act=save-variation]").click();
		const saved = dash.locator("article.variation:not([data-variation-id=new])");
		await saved.waitFor();
		await shot(dash, "dashboard-variations");
		const list = await api("GET", "/api/alerts/variations", undefined, { token: s.token });
		expect(list.body.items).toEqual([
			expect.objectContaining({ name: "Hype", imageMediaId: image.body.id, soundMediaId: sound.body.id, layout: "image-left" }),
		]);

		await saved.locator("button[data-act=test-variation]").click();
		const card = overlay.locator(".alert-card.layout-image-left");
		await card.waitFor({ timeout: 15_000 });
		expect(await card.locator(".alert-title").textContent()).toMatch(/^MediaShar nyawer Rp/);
		await overlay.waitForFunction(() => {
			const img = document.querySelector<HTMLImageElement>(".alert-card img.alert-image");
			return !!img && img.complete && img.naturalWidth > 0;
		});
		const state = await overlay.waitForFunction(
			() => {
				const el = document.querySelector<HTMLAudioElement>(".alert-card audio.alert-sound");
				return el && !el.paused && el.currentTime > 0 ? { src: el.src, volume: el.volume } : null;
			},
			undefined,
			{ timeout: 10_000 },
		);
		expect(await state.jsonValue()).toMatchObject({ src: `${h.url}${sound.body.url}`, volume: 1 });
		await shot(overlay, "overlay-variation");
		expect(errors).toEqual([]);
		expect(overlayErrors).toEqual([]);
		await ctx.close();
		await overlayCtx.close();
	});

	it("with speech on, the server's voice plays after the variation's sound", async () => {
		const s = await registerUser(h.url, "voice");
		const patch = await api(
			"PATCH",
			"/api/users/me",
			{ settings: { donations: { enabled: true, currency: "IDR", minAmount: 500000 }, alerts: { ttsLanguage: "id" } } },
			{ token: s.token },
		);
		const sound = await upload(s.token, "blip.wav", "audio/wav", wav(0.5));
		expect(sound.status).toBe(201);
		const v = await api("POST", "/api/alerts/variations", { name: "Voice", soundMediaId: sound.body.id, tts: true, durationSec: 2 }, { token: s.token });
		expect(v.status).toBe(201);
		const ctx = await context(browser, { locale: "id-ID" });
		const overlay = await ctx.newPage();
		const errors = watchErrors(overlay);
		await overlay.goto(`${h.url}/overlay/alerts?token=${encodeURIComponent(patch.body.overlayToken)}`);
		await overlay.waitForSelector("body[data-state=connected]", { state: "attached", timeout: 10_000 });
		expect((await api("POST", "/api/alerts/test", { variationId: v.body.id, message: "halo semua" }, { token: s.token })).status).toBe(202);
		const voice = await overlay.waitForFunction(
			() => {
				const snd = document.querySelector<HTMLAudioElement>(".alert-card audio.alert-sound");
				const el = document.querySelector<HTMLAudioElement>(".alert-card audio.alert-speech");
				return snd?.ended && el && !el.paused && el.currentTime > 0 ? { src: el.src, soundEnded: snd.ended } : null;
			},
			undefined,
			{ timeout: 60_000 },
		);
		expect(await voice.jsonValue()).toMatchObject({ src: expect.stringMatching(/\/media\/[0-9a-f]{64}\.wav$/), soundEnded: true });
		expect(errors).toEqual([]);
		await ctx.close();
	});
});
