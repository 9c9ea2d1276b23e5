import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, setupStreamer } from "../support/flow";
import { buildPages, context, launch, outsideRequests, shot, signInDashboard, watchErrors } from "./support";

/**
 * The dashboard's payout pages in headless Chromium: a creator sets a bank account (shown
 * masked) and requests a payout; an operator approves it from the payout queue; the creator sees
 * it processing.
 */
const ADMIN = `e2eadmin_${process.pid % 10000}`;
let h: Harness;
let api: ReturnType<typeof client>;
let browser: Browser;

beforeAll(async () => {
	buildPages();
	h = await startHarness({
		services: ["users", "donations", "ledger", "stats", "payments", "payouts", "notifications", "alerts"],
		env: { SCRYPT_COST: "1024", ADMIN_USERNAMES: ADMIN, PAYOUT_HOLD_SEC: "0" },
	});
	api = client(h.url);
	browser = await launch();
});
afterAll(async () => {
	await browser?.close();
	await h?.stop();
});

type Rows = { updateMany(q: object, u: object): Promise<number> };
const store = (svc: string, name?: string) => {
	const s = h.broker.getLocalService(svc) as unknown as { store: Rows; stores: Record<string, Rows> };
	return name ? s.stores[name] : s.store;
};

const signIn = (page: Page, login: string) => signInDashboard(page, h.url, login);

describe("dashboard payouts", () => {
	it("a creator requests a payout to a masked account; an operator approves it from the queue", async () => {
		const s = await setupStreamer(h.url);
		await store("users").updateMany({ _id: s.id }, { $set: { emailVerifiedAt: new Date().toISOString() } });
		const d = await donate(h.url, s.username, { amount: 100_000_00 });
		await pay(h.url, d.body.payment.id);
		await waitFor(async () => (await api("GET", "/api/me/balance", undefined, { token: s.token })).body.balances[0]?.amount === 100_000_00, 8000, "credit");
		await api("POST", "/api/auth/register", { username: ADMIN, email: `${ADMIN}@example.test`, password: "correct horse battery" });

		const page = await (await context(browser)).newPage();
		const errors = watchErrors(page);
		await signIn(page, s.username);
		await page.click("[data-tab=payouts]");
		await page.waitForSelector(".payout-balance [data-currency=IDR]");
		expect(await page.textContent(".payout-balance [data-currency=IDR] [data-kind=available]")).toContain("100.000");
		await page.selectOption("form.payout-account-form select[name=method]", "bank");
		await page.fill("form.payout-account-form input[name=holderName]", "Budi Santoso");
		await page.fill("form.payout-account-form input[name=bankCode]", "bca");
		await page.fill("form.payout-account-form input[name=accountNumber]", "1234567890");
		await page.click("form.payout-account-form button[type=submit]");
		await page.waitForSelector(".payout-account-current:has-text('****7890')");
		expect(await page.content()).not.toContain("1234567890");
		// The cooldown has passed (set an hour ago).
		await store("payouts", "payout_accounts").updateMany({ _id: s.id }, { $set: { usableAt: Date.now() - 1000 } });
		await page.click("[data-tab=payouts]");
		await page.waitForSelector("form.payout-request-form button[type=submit]:not([disabled])");
		await page.fill("form.payout-request-form input[name=amount]", "60000");
		await page.click("form.payout-request-form button[type=submit]");
		await page.waitForSelector(".payout-history .payout-row[data-status=requested]");
		await shot(page, "dashboard-payouts");

		const adminPage = await (await context(browser)).newPage();
		const adminErrors = watchErrors(adminPage);
		await signIn(adminPage, ADMIN);
		await adminPage.click("[data-tab=admin-payouts]");
		await adminPage.waitForSelector(".payout-queue .payout-row[data-status=requested]");
		expect(await adminPage.textContent(".payout-queue .payout-row")).toContain("****7890");
		await shot(adminPage, "dashboard-payout-queue");
		await adminPage.click(".payout-queue .payout-row button:has-text('Approve')");
		await adminPage.waitForSelector(".payout-queue .muted");

		await page.click("[data-tab=payouts]");
		await page.waitForSelector(".payout-history .payout-row[data-status=processing]");
		expect([...errors, ...adminErrors]).toEqual([]);
		expect(outsideRequests).toEqual([]);
	});
});
