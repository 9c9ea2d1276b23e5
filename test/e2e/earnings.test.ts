import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { startHarness, waitFor, type Harness } from "../support/harness";
import { SmtpCapture } from "../support/smtp-capture";
import { BANK, payoutEnv, payoutHelpers } from "../support/payouts";
import { buildPages, context, launch, outsideRequests, shot, signInDashboard, watchErrors } from "./support";

/**
 * The overview's earnings chart in headless Chromium: a creator is paid two donations today and
 * one payout; the chart (inline SVG, drawn by our own code) shows 30 daily bars, today's bar the
 * sum of the two, the payout marked on today, and 90 bars when switched to 90 days. The values
 * are read from the chart itself (data attributes and each bar's <title>).
 */
const PUBLIC_URL = "http://mediashar.e2e";
const ADMIN = `e2eearn_${process.pid % 10000}`;
const smtp = new SmtpCapture();
let h: Harness;
let browser: Browser;

beforeAll(async () => {
	buildPages();
	const smtpUrl = await smtp.listen();
	h = await startHarness({
		services: ["users", "donations", "ledger", "stats", "payments", "payouts", "notifications", "mailer"],
		env: payoutEnv(smtpUrl, PUBLIC_URL, ADMIN),
	});
	browser = await launch();
});
afterAll(async () => {
	await browser?.close();
	await h?.stop();
	await smtp.close();
});

const signIn = (page: Page, login: string) => signInDashboard(page, h.url, login);

const bars = (page: Page) =>
	page.$$eval(".earnings-series[data-currency=IDR] rect.earnings-bar", (els) =>
		els.map((e) => ({
			day: e.getAttribute("data-day")!,
			amount: Number(e.getAttribute("data-amount")),
			title: e.querySelector("title")?.textContent ?? "",
		})),
	);

describe("dashboard earnings chart", () => {
	it("shows income per day from paid donations and marks the paid payout, over 30 and 90 days", async () => {
		const { api, verifiedCreator, earn, cooled, registerAdmin, payoutStatus } = payoutHelpers(h, smtp, PUBLIC_URL);
		const s = await verifiedCreator();
		await earn(s, 100_000_00);
		await earn(s, 25_000_00);
		expect((await api("PUT", "/api/me/payout-account", BANK, { token: s.token })).status).toBe(200);
		await cooled(s.id);
		const asked = await api("POST", "/api/me/payouts", { amount: 60_000_00, currency: "IDR" }, { token: s.token });
		expect(asked.status).toBe(201);
		const admin = await registerAdmin(ADMIN);
		expect((await api("POST", `/api/admin/payouts/${asked.body.id}/approve`, undefined, { token: admin })).status).toBe(202);
		await waitFor(async () => (await payoutStatus(s.token, asked.body.id)) === "processing", 5000, "processing");
		expect((await api("POST", `/api/payouts/sandbox/${asked.body.id}/complete`, { outcome: "paid" })).status).toBe(202);
		await waitFor(async () => (await payoutStatus(s.token, asked.body.id)) === "paid", 8000, "paid");
		const today = new Date().toISOString().slice(0, 10);

		const page = await (await context(browser)).newPage();
		const errors = watchErrors(page);
		await signIn(page, s.username);
		await page.waitForSelector(".earnings-series[data-currency=IDR] svg.earnings-svg");
		const month = await bars(page);
		expect(month).toHaveLength(30);
		expect(month.at(-1)).toMatchObject({ day: today, amount: 125_000_00 });
		expect(month.at(-1)!.title).toContain("Rp 125.000");
		expect(month.slice(0, -1).every((b) => b.amount === 0)).toBe(true);
		expect(await page.getAttribute(".earnings-series[data-currency=IDR]", "data-total")).toBe(String(125_000_00));
		expect(await page.textContent(".earnings-series[data-currency=IDR]")).toContain("Rp 125.000");
		// Today's bar is the tallest: drawn to the full height of the chart.
		const heights = await page.$$eval("rect.earnings-bar", (els) => els.map((e) => Number(e.getAttribute("height"))));
		expect(Math.max(...heights)).toBe(heights.at(-1));
		expect(heights.at(-1)).toBeGreaterThan(0);
		const marks = await page.$$eval("g.earnings-payout", (els) =>
			els.map((e) => ({
				day: e.getAttribute("data-day"),
				amount: Number(e.getAttribute("data-amount")),
				title: e.querySelector("title")?.textContent ?? "",
			})),
		);
		expect(marks).toEqual([{ day: today, amount: 60_000_00, title: expect.stringContaining("Rp 60.000") }]);
		await shot(page, "dashboard-earnings");

		await page.click(".earnings button[data-days='90']");
		await page.waitForSelector(".earnings-body[data-days='90']");
		const quarter = await bars(page);
		expect(quarter).toHaveLength(90);
		expect(quarter.at(-1)).toMatchObject({ day: today, amount: 125_000_00 });
		expect(quarter.reduce((n, b) => n + b.amount, 0)).toBe(125_000_00);

		// In Indonesian: the card's words and every tooltip.
		const idPage = await (await context(browser, { locale: "id-ID" })).newPage();
		const idErrors = watchErrors(idPage);
		await signIn(idPage, s.username);
		await idPage.waitForSelector(".earnings-series[data-currency=IDR] svg.earnings-svg");
		expect(await idPage.textContent(".earnings h2")).toBe("Pendapatan");
		expect(await idPage.textContent(".earnings-series[data-currency=IDR]")).toContain("30 hari terakhir: Rp 125.000");
		expect((await bars(idPage)).at(-1)!.title).toContain("Rp 125.000");
		expect(await idPage.textContent("g.earnings-payout title")).toMatch(/^Pencairan .*: Rp 60\.000$/);
		expect([...errors, ...idErrors]).toEqual([]);
		expect(outsideRequests).toEqual([]);
	});
});
