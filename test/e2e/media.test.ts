import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { client, registerUser, startHarness, type Harness } from "../support/harness";
import * as files from "../support/media-files";
import { buildPages, context, launch, outsideRequests, shot, signInDashboard, watchErrors } from "./support";

/**
 * The dashboard's media library in headless Chromium: a streamer uploads an image and a sound
 * through the page, sees both listed with the quota used, the image rendered and the sound
 * playable, makes the image their avatar, and deletes the sound.
 */
let h: Harness;
let browser: Browser;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-e2e-media-"));

beforeAll(async () => {
	buildPages();
	h = await startHarness({ env: { SCRYPT_COST: "1024", DATA_DIR: dataDir, MEDIA_STORE: "fs" } });
	browser = await launch();
});

afterAll(async () => {
	await browser?.close();
	await h?.stop();
	fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("dashboard media library", () => {
	it("uploads an image and a sound, lists and shows them, sets the avatar and deletes", async () => {
		const u = await registerUser(h.url, "lib");
		const ctx = await context(browser);
		const page = await ctx.newPage();
		const errors = watchErrors(page);
		await signInDashboard(page, h.url, u.username);
		await page.click("[data-tab=media]");
		await page.waitForSelector("section.media-library");
		await page.waitForSelector(".media-empty");

		const image = files.png(32, 24, 3);
		await page.setInputFiles("input.media-file", { name: "banner.png", mimeType: "image/png", buffer: image });
		const img = await page.waitForSelector("li.media-item[data-kind=image] img");
		await page.waitForFunction(() => {
			const el = document.querySelector<HTMLImageElement>("li.media-item[data-kind=image] img");
			return !!el && el.complete && el.naturalWidth === 32 && el.naturalHeight === 24;
		});
		expect(await img.getAttribute("src")).toMatch(/^\/media\/[0-9a-f]{64}\.png$/);

		const sound = files.wav(1, 4);
		await page.setInputFiles("input.media-file", { name: "ding.wav", mimeType: "audio/wav", buffer: sound });
		await page.waitForSelector("li.media-item[data-kind=audio] audio");
		// The browser loaded the sound's metadata from our origin: it knows its length.
		await page.waitForFunction(() => {
			const a = document.querySelector<HTMLAudioElement>("li.media-item[data-kind=audio] audio");
			return !!a && a.readyState >= 1 && Math.abs(a.duration - 1) < 0.05;
		});
		expect(await page.locator("li.media-item").count()).toBe(2);
		expect(await page.textContent(".media-used")).toContain(`${((image.length + sound.length) / 1024).toFixed(1)} KB`);
		// Newest first.
		expect(await page.locator("li.media-item").first().getAttribute("data-kind")).toBe("audio");
		await shot(page, "dashboard-media");

		// Refused by its bytes, whatever it is called: the page says why and lists nothing new.
		await page.setInputFiles("input.media-file", { name: "evil.png", mimeType: "image/png", buffer: files.HTML_PAGE });
		await page.waitForFunction(() => (document.querySelector(".media-error")?.textContent ?? "").length > 0);
		expect(await page.textContent(".media-error")).toMatch(/not accepted/);
		expect(await page.locator("li.media-item").count()).toBe(2);

		await page.click("li.media-item[data-kind=image] button.media-avatar");
		await page.waitForSelector(".dash-hello img.avatar[src^='/media/']");
		const profile = await client(h.url)("GET", `/api/users/${u.username}`);
		expect(profile.body.avatarUrl).toBe(await img.getAttribute("src"));

		await page.click("li.media-item[data-kind=audio] button.media-delete");
		await page.waitForFunction(() => document.querySelectorAll("li.media-item").length === 1);
		const list = await client(h.url)("GET", "/api/media", undefined, { token: u.token });
		expect(list.body.items.map((m: { kind: string }) => m.kind)).toEqual(["image"]);

		// The donation page shows the avatar too.
		await page.goto(`${h.url}/u/${u.username}`);
		await page.waitForFunction(() => {
			const el = document.querySelector<HTMLImageElement>(".profile img.avatar");
			return !!el && el.complete && el.naturalWidth === 32;
		});
		expect(errors).toEqual([]);
		expect(outsideRequests).toEqual([]);
		await ctx.close();
	});
});
