import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { Secret, TOTP } from "otpauth";
import { client, registerUser, startHarness, type Harness } from "../support/harness";
import { buildPages, context, launch, shot, watchErrors } from "./support";

/**
 * The dashboard's security tab in headless Chromium against every service: two-factor turned on
 * through the page with a code computed here (as an authenticator app would), then a sign-out and
 * a sign-in that needs the code, and off again with a recovery code; sessions ended and personal
 * access tokens created (shown once) and revoked.
 */
const PASSWORD = "correct horse battery";
let h: Harness;
let api: ReturnType<typeof client>;
let browser: Browser;

const code = (secret: string, at = Date.now()) => TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30, timestamp: at });

beforeAll(async () => {
	buildPages();
	h = await startHarness({ env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
	browser = await launch();
});
afterAll(async () => {
	await browser?.close();
	await h?.stop();
});

async function signIn(page: Page, username: string) {
	await page.fill("input[name=login]", username);
	await page.fill("input[name=password]", PASSWORD);
	await page.click("form.auth-card button[type=submit]");
}

describe("dashboard security", () => {
	it("turns two-factor on with a scanned code, shows the recovery codes, and the next sign-in needs a code", async () => {
		const u = await registerUser(h.url, "sec2fa");
		const ctx = await context(browser);
		const page = await ctx.newPage();
		const errors = watchErrors(page);
		await page.goto(`${h.url}/dashboard#security`);
		await signIn(page, u.username);
		await page.waitForSelector(".two-factor[data-enabled=false]");
		// Not confirmed yet: the banner offers the link again.
		expect(await page.textContent(".verify-banner")).toContain("not confirmed");

		await page.click("button[data-act=setup-2fa]");
		await page.waitForSelector(".totp-qr canvas");
		const secret = (await page.textContent(".totp-secret"))!.trim();
		expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
		// A wrong code is refused on the page and leaves two-factor off.
		await page.fill("form.enable-2fa input[name=code]", code(secret) === "000000" ? "111111" : "000000");
		await page.click("form.enable-2fa button[type=submit]");
		await page.waitForFunction(() => /not right/.test(document.querySelector("form.enable-2fa .form-error")?.textContent ?? ""));
		await page.fill("form.enable-2fa input[name=code]", code(secret));
		await page.click("form.enable-2fa button[type=submit]");
		await page.waitForSelector(".recovery-codes li");
		expect(await page.locator(".recovery-codes li").count()).toBe(10);
		const recovery = (await page.locator(".recovery-codes li").first().textContent())!.trim();
		await shot(page, "dashboard-security-recovery-codes");
		await page.click("button[data-act=recovery-saved]");
		await page.waitForSelector(".two-factor[data-enabled=true] form.disable-2fa");

		// The API agrees: the password alone no longer signs in.
		const pwOnly = await api("POST", "/api/auth/login", { login: u.username, password: PASSWORD });
		expect(pwOnly.body).toMatchObject({ twoFactorRequired: true });
		expect(pwOnly.body.accessToken).toBeUndefined();

		await page.click("text=Sign out");
		await page.waitForSelector("form.auth-card");
		await signIn(page, u.username);
		await page.waitForSelector("form.auth-card[data-mode='2fa']");
		// The code of the step just used does not work twice: the next step's (±1 step of drift) does.
		await page.fill("input[name=code]", code(secret, Date.now() + 30_000));
		await page.click("form.auth-card button[type=submit]");
		await page.waitForSelector("nav.tabs");
		expect(await page.textContent("h1")).toBe(`Hi, ${u.username}`);
		await page.waitForSelector(".two-factor[data-enabled=true]");

		// Turned off again with the password and a recovery code (the next TOTP step is not due yet).
		await page.fill("form.disable-2fa input[type=password]", PASSWORD);
		await page.fill("form.disable-2fa input[name=code]", recovery);
		await page.click("form.disable-2fa button[type=submit]");
		await page.waitForSelector(".two-factor[data-enabled=false]");
		expect((await api("POST", "/api/auth/login", { login: u.username, password: PASSWORD })).body.accessToken).toBeTruthy();
		expect(errors).toEqual([]);
		await ctx.close();
	});

	it("creates a personal access token shown once, lists sessions, and revokes the token", async () => {
		const u = await registerUser(h.url, "sectok");
		const other = await api("POST", "/api/auth/login", { login: u.username, password: PASSWORD }, { headers: { "User-Agent": "OBS/30" } });
		const ctx = await context(browser);
		const page = await ctx.newPage();
		const errors = watchErrors(page);
		await page.goto(`${h.url}/dashboard#security`);
		await signIn(page, u.username);
		await page.waitForSelector(".session-row[data-current=true]");
		expect(await page.locator(".session-row").count()).toBe(3);
		expect(await page.textContent(".sessions")).toContain("OBS/30");
		await page.click("button[data-act=end-others]");
		await page.waitForFunction(() => document.querySelectorAll(".session-row").length === 1);
		expect((await api("POST", "/api/auth/refresh", { refreshToken: other.body.refreshToken })).status).toBe(401);

		await page.fill("input[name=tokenName]", "Streamer.bot");
		await page.check("input[name=scope][value='events:read']");
		await page.check("input[name=scope][value='alerts:write']");
		await page.fill("input[name=expiresInDays]", "30");
		await page.click("form.token-form button[type=submit]");
		await page.waitForSelector(".new-token input");
		const token = await page.inputValue(".new-token input");
		expect(token).toMatch(/^msp_/);
		await page.waitForSelector(".token-row");
		expect(await page.textContent(".token-row")).toContain("alerts:write events:read");
		expect(await page.textContent(".token-list")).not.toContain(token);
		expect((await api("POST", "/api/alerts/pause", undefined, { token })).status).toBe(200);
		await shot(page, "dashboard-security-token");

		await page.click("button[data-act=revoke-token]");
		await page.waitForSelector(".token-list >> text=No tokens yet.");
		expect((await api("POST", "/api/alerts/pause", undefined, { token })).status).toBe(401);
		expect(errors).toEqual([]);
		await ctx.close();
	});
});
