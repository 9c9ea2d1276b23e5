import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser } from "playwright-core";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, waitStatus } from "../support/flow";
import { buildPages, context, launch, outsideRequests, shot, watchErrors } from "./support";

/**
 * Profiles and discovery in headless Chromium against the services started in-process and the
 * real gateway: a viewer finds a creator from the donation page's header by a mistyped name and
 * lands on the creator's page (with the linked platforms shown by name); /explore lists a creator
 * who just got a paid donation.
 */
const SERVICES = ["users", "search", "explore", "payments", "donations", "ledger", "stats", "alerts", "chat", "moderation", "dm", "follows"];
let h: Harness;
let api: ReturnType<typeof client>;
let browser: Browser;

beforeAll(async () => {
	buildPages();
	h = await startHarness({ services: SERVICES, env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
	await waitFor(async () => (await api("GET", "/api/search/creators?q=x")).status === 200, 10_000, "search to be ready");
	browser = await launch();
});

afterAll(async () => {
	await browser?.close();
	await h?.stop();
});

async function creator(prefix: string, displayName: string) {
	const u = await registerUser(h.url, prefix);
	const patch = await api(
		"PATCH",
		"/api/users/me",
		{
			displayName,
			bio: "Main game santai tiap malam",
			settings: { donations: { enabled: true, currency: "IDR", minAmount: 1_000_00 } },
			platforms: [
				{ platform: "twitch", handle: `@${u.username}` },
				{ platform: "youtube", url: `https://www.youtube.com/@${u.username}` },
			],
			links: [{ label: "Merch", url: "https://shop.example.com/" }],
		},
		{ token: u.token },
	);
	expect(patch.status).toBe(200);
	return u;
}

describe("creator search in the donation page header", () => {
	it("a mistyped name finds the creator, and picking it opens the creator's page with their platforms", async () => {
		const target = await creator("kopisusu", "Kopi Susu Gaming");
		const other = await creator("somebody", "Somebody Else");
		const ctx = await context(browser, { locale: "id-ID" });
		const page = await ctx.newPage();
		const errors = watchErrors(page);
		await page.goto(`${h.url}/u/${other.username}`);
		await page.waitForSelector("form.creator-search input[name=q]");
		expect(await page.getAttribute("form.creator-search input[name=q]", "placeholder")).toBe("Cari kreator…");
		// "kopisusu" typed as "kopisisu" (one letter off).
		await page.fill("form.creator-search input[name=q]", target.username.replace("kopisusu", "kopisisu"));
		const hit = page.locator(".search-results a.search-hit", { hasText: `@${target.username}` });
		await hit.waitFor({ timeout: 5000 });
		await shot(page, "search-suggestions", false);
		await Promise.all([page.waitForURL(`${h.url}/u/${target.username}`), hit.click()]);
		await page.waitForSelector(".profile h1");
		expect(await page.textContent(".profile h1")).toBe("Kopi Susu Gaming");
		const platforms = await page.locator(".profile-links .platforms li").allTextContents();
		expect(platforms).toEqual([`Twitch · ${target.username}`, `YouTube · ${target.username}`]);
		expect(await page.getAttribute(".profile-links .platforms a", "href")).toBe(`https://www.twitch.tv/${target.username}`);
		expect(await page.locator(".profile-links .links a").textContent()).toBe("Merch");
		expect(errors).toEqual([]);
		await ctx.close();
	});
});

describe("explore", () => {
	it("lists a creator who got a paid donation this week, in English and Indonesian", async () => {
		const s = await creator("explored", "Explored Creator");
		const d = await donate(h.url, s.username, { amount: 15_000_00 });
		expect(d.status).toBe(201);
		await pay(h.url, d.body.payment.id);
		await waitStatus(h.url, s.token, d.body.donation.id, "paid");

		const ctx = await context(browser, { locale: "en-US" });
		const page = await ctx.newPage();
		const errors = watchErrors(page);
		await page.goto(`${h.url}/explore`);
		await page.waitForSelector(".explore[data-state=ready]");
		expect(await page.textContent("h1")).toBe("Explore creators");
		const card = page.locator(`.explore-card[data-username="${s.username}"]`);
		await card.waitFor({ timeout: 5000 });
		expect(await card.locator(".support").textContent()).toBe("Donations this week: 1 · Rp 15.000");
		await shot(page, "explore");
		await page.click(".lang-btn[data-lang=id]");
		expect(await page.textContent("h1")).toBe("Jelajahi kreator");
		expect(await card.locator(".support").textContent()).toBe("Donasi minggu ini: 1 · Rp 15.000");
		await Promise.all([page.waitForURL(`${h.url}/u/${s.username}`), card.locator("a").click()]);
		await page.waitForSelector(".profile h1");
		expect(errors).toEqual([]);
		await ctx.close();
	});

	it("loaded nothing from outside this server", () => {
		expect(outsideRequests).toEqual([]);
	});
});
