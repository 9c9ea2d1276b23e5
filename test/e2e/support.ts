import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "../support/harness";

/** Headless Debian Chromium, no browser download, no network beyond 127.0.0.1. */
export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
export const SHOTS = path.join(ROOT, "test-output", "pages");

export function buildPages() {
	execFileSync(process.execPath, [path.join(ROOT, "scripts", "build-public.mjs")], { cwd: ROOT, stdio: "pipe" });
}

export async function launch(): Promise<Browser> {
	fs.mkdirSync(SHOTS, { recursive: true });
	if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it with "apt-get install -y chromium" or set CHROMIUM_PATH`);
	return chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: [
			"--headless",
			"--no-sandbox",
			"--disable-gpu",
			"--disable-quic",
			"--no-first-run",
			"--disable-background-networking",
			"--disable-component-update",
			"--disable-sync",
			// As in an OBS browser source: alerts play their sound without a click.
			"--autoplay-policy=no-user-gesture-required",
		],
	});
}

/** A fresh browser profile (own localStorage) that can reach only the system under test. */
export async function context(browser: Browser, opts: { locale?: string; width?: number; height?: number } = {}): Promise<BrowserContext> {
	const ctx = await browser.newContext({
		locale: opts.locale ?? "en-US",
		viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
		extraHTTPHeaders: opts.locale ? { "Accept-Language": `${opts.locale},${opts.locale.split("-")[0]};q=0.9` } : undefined,
	});
	// Anything outside 127.0.0.1 is refused and recorded (the YouTube player, the one thing a page
	// may load from outside, is answered locally by the tests that need it).
	await ctx.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
		outsideRequests.push(route.request().url());
		return route.abort();
	});
	return ctx;
}

/** Every request a page tried to make outside 127.0.0.1 (none is expected). */
export const outsideRequests: string[] = [];

/** Collects uncaught page errors and console errors so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
	const errors: string[] = [];
	page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
	page.on("console", (msg) => {
		if (msg.type() === "error" && !/Failed to load resource|ERR_FAILED|net::/.test(msg.text())) errors.push(`console: ${msg.text()}`);
	});
	return errors;
}

export async function shot(page: Page, name: string, fullPage = true) {
	await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

/** Signs in on the dashboard at `base` with the test password, and waits for its tabs. */
export async function signInDashboard(page: Page, base: string, login: string) {
	await page.goto(`${base}/dashboard`);
	await page.fill("input[name=login]", login);
	await page.fill("input[name=password]", "correct horse battery");
	await page.click("form.auth-card button[type=submit]");
	await page.waitForSelector("nav.tabs");
}
