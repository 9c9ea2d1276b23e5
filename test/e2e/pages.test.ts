import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { buildPages, context, launch, outsideRequests, shot, SHOTS, signInDashboard, watchErrors } from "./support";

/**
 * The pages, driven in headless Chromium against the whole system started in-process (every
 * service, the real gateway on a free port): a viewer donates and pays, the streamer's overlay
 * shows it; a held donation is approved from the dashboard; two browsers chat; the donation page
 * fits a phone screen.
 */
let h: Harness;
let api: ReturnType<typeof client>;
let browser: Browser;
let midtrans: http.Server;
const charges: any[] = [];

/** A local stand-in for Midtrans' Core API: QRIS and VA charges answer the way Midtrans documents. */
function fakeMidtrans(): Promise<http.Server> {
	const server = http.createServer((req, res) => {
		let raw = "";
		req.on("data", (c) => (raw += c));
		req.on("end", () => {
			res.setHeader("Content-Type", "application/json");
			if (req.method === "POST" && req.url === "/v2/charge") {
				const body = JSON.parse(raw);
				charges.push(body);
				const base = {
					status_code: "201",
					transaction_id: `tx-${charges.length}`,
					order_id: body.transaction_details.order_id,
					transaction_status: "pending",
				};
				if (body.payment_type === "qris") {
					return res.end(
						JSON.stringify({
							...base,
							qr_string:
								"00020101021226620014COM.GO-JEK.WWW01189360091431234567890215ID10243456789010303UMI51440014ID.CO.QRIS.WWW0215ID10243456789010303UMI5204581453033605802ID5920MediaShar Test6007JAKARTA6304ABCD",
						}),
					);
				}
				return res.end(JSON.stringify({ ...base, va_numbers: [{ bank: body.bank_transfer.bank, va_number: "12345678901" }] }));
			}
			// Status checks: the payer has not paid yet.
			res.end(JSON.stringify({ status_code: "404", status_message: "Transaction doesn't exist." }));
		});
	});
	return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

beforeAll(async () => {
	buildPages();
	midtrans = await fakeMidtrans();
	const port = (midtrans.address() as AddressInfo).port;
	h = await startHarness({
		env: {
			SCRYPT_COST: "1024",
			ALERT_TICK_MS: "250",
			ALERT_ACK_GRACE_MS: "2000",
			MIDTRANS_SERVER_KEY: "SB-Mid-server-test",
			MIDTRANS_API_BASE: `http://127.0.0.1:${port}`,
		},
	});
	api = client(h.url);
	browser = await launch();
});

afterAll(async () => {
	await browser?.close();
	await h?.stop();
	midtrans?.close();
});

/** A streamer with donations on (IDR) and the overlay token. */
async function streamer(prefix: string, settings: Record<string, unknown> = {}) {
	const u = await registerUser(h.url, prefix);
	const patch = await api(
		"PATCH",
		"/api/users/me",
		{
			displayName: `${prefix} Live`,
			bio: "Speedruns every night. Thanks for the support!",
			settings: { donations: { enabled: true, currency: "IDR", minAmount: 500000 }, ...settings },
		},
		{ token: u.token },
	);
	expect(patch.status).toBe(200);
	return { ...u, overlayToken: patch.body.overlayToken as string };
}

async function openOverlay(token: string, seen?: string[], duration = 2): Promise<Page> {
	const ctx = await context(browser, { width: 1280, height: 720 });
	const page = await ctx.newPage();
	if (seen) {
		// Record every alert card that ever appears, on every load of the page.
		await page.exposeFunction("reportAlert", (id: string) => seen.push(id));
		await page.addInitScript(() => {
			new MutationObserver((records) => {
				for (const r of records)
					r.addedNodes.forEach((n) => n instanceof HTMLElement && n.dataset.alertId && (window as any).reportAlert(n.dataset.alertId));
			}).observe(document, { childList: true, subtree: true });
		});
	}
	await page.goto(`${h.url}/overlay/alerts?token=${encodeURIComponent(token)}&duration=${duration}`);
	await page.waitForSelector("body[data-state=connected]", { state: "attached", timeout: 10_000 });
	return page;
}

describe("donation → sandbox checkout → overlay", () => {
	it("a viewer donates on the donation page, pays on the checkout, and the overlay shows the donor and amount", async () => {
		const s = await streamer("pay");
		const overlay = await openOverlay(s.overlayToken);

		const ctx = await context(browser, { locale: "en-US" });
		const viewer = await ctx.newPage();
		const errors = watchErrors(viewer);
		await viewer.goto(`${h.url}/u/${s.username}`);
		await viewer.waitForSelector("form.donate-form");
		expect(await viewer.textContent("h1")).toContain(`${"pay"} Live`);
		// Presets respect the minimum (Rp 5.000) and show in major units.
		const presets = await viewer.locator(".preset").allTextContents();
		expect(presets[0]).toBe("Rp 5.000");
		await viewer.fill("input[name=amount]", "25.000");
		expect(await viewer.textContent(".amount-preview")).toBe("Rp 25.000");
		await viewer.fill("input[name=donorName]", "Budi <b>Santoso</b>");
		await viewer.fill("textarea[name=message]", "Semangat terus!");
		expect(await viewer.textContent(".counter")).toBe("15/500");
		// Midtrans (configured here) and the sandbox are offered; the viewer picks the sandbox.
		expect(await viewer.locator("input[name=provider]").evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).toEqual([
			"midtrans",
			"sandbox",
		]);
		await viewer.check("input[name=provider][value=sandbox]");
		await shot(viewer, "donate-filled");
		await Promise.all([viewer.waitForURL(/\/pay\/sandbox\//), viewer.click("button.donate-submit")]);

		await viewer.waitForSelector(".checkout[data-state=pending]");
		expect(await viewer.textContent(".checkout-amount")).toBe("Rp 25.000");
		expect(await viewer.textContent(".checkout .expires")).toMatch(/^This payment expires in \d+:\d\d\.$/);
		await shot(viewer, "checkout");
		await viewer.click("button[data-outcome=settlement]");
		await viewer.waitForSelector(".checkout[data-state=paid]", { timeout: 15_000 });
		expect(await viewer.textContent(".checkout h1")).toBe("Payment successful");
		expect(await viewer.getAttribute(".back-link", "href")).toBe(`/u/${s.username}`);
		await shot(viewer, "checkout-paid");

		const card = overlay.locator(".alert-card", { hasText: "Budi" });
		await card.waitFor({ timeout: 15_000 });
		// The name is text, never markup.
		expect(await card.locator(".alert-donor").textContent()).toBe("Budi <b>Santoso</b>");
		expect(await card.locator(".alert-amount").textContent()).toBe("Rp 25.000");
		expect(await card.locator(".alert-message").textContent()).toBe("Semangat terus!");
		await shot(overlay, "overlay-alert", false);
		// Shown once, acknowledged, and gone; the streamer's stats now count it.
		await card.waitFor({ state: "detached", timeout: 10_000 });
		const stats = await api("GET", `/api/users/${s.username}/stats`);
		expect(stats.body.topDonors[0]).toMatchObject({ name: "Budi <b>Santoso</b>", amount: 2_500_000 });
		expect(errors).toEqual([]);
		await ctx.close();
		await overlay.context().close();
	});

	it("the overlay shows an alert once across reconnects and reloads (ids remembered)", async () => {
		const s = await streamer("once");
		const seen: string[] = [];
		// Alerts stay up 30 s here, so the reload surely happens while the first one is on screen.
		const overlay = await openOverlay(s.overlayToken, seen, 30);
		expect((await api("POST", "/api/alerts/test", { message: "hello overlay" }, { token: s.token })).status).toBe(202);
		const card = overlay.locator(".alert-card.is-test");
		await card.waitFor();
		expect(await card.locator(".alert-badge").textContent()).toBe("TEST");
		const id = await card.getAttribute("data-alert-id");
		// Reload while it is on screen: the server re-sends it, the overlay recognises it and only acknowledges.
		await overlay.reload();
		await overlay.waitForSelector("body[data-state=connected]", { state: "attached" });
		const queue = await waitForQueue(s.token, (q) => !q.current);
		expect(queue.current).toBeNull();
		expect(await overlay.locator(".alert-card").count()).toBe(0);
		expect(seen).toEqual([id]);
		// The next alert still shows normally after the reload.
		await api("POST", "/api/alerts/test", { message: "second" }, { token: s.token });
		await overlay.locator(".alert-card", { hasText: "second" }).waitFor();
		expect(seen.length).toBe(2);
		expect(seen[1]).not.toBe(id);
		const stored = await overlay.evaluate(() => JSON.parse(localStorage.getItem("mediashar.overlay.shown") ?? "[]"));
		expect(stored).toContain(id);
		await overlay.context().close();
	});
});

describe("overlays beside the alerts", () => {
	it("the goal bar and the leaderboard show the streamer's goal and top donors, by username or overlay token", async () => {
		const s = await streamer("goal");
		await api("PUT", "/api/me/goal", { title: "New microphone", target: 10_000_000, currency: "IDR" }, { token: s.token });
		for (const [name, amount] of [
			["Andi", 3_000_000],
			["Citra", 1_000_000],
		] as const) {
			const d = await api("POST", "/api/donations", { to: s.username, amount, currency: "IDR", provider: "sandbox", donorName: name });
			await api("POST", `/api/payments/sandbox/${d.body.payment.id}/complete`, { outcome: "settlement" });
		}
		const ctx = await context(browser, { width: 800, height: 300 });
		const goal = await ctx.newPage();
		await goal.goto(`${h.url}/overlay/goal?token=${encodeURIComponent(s.overlayToken)}&refresh=5`);
		// Paid donations reach the stats through the payment webhook; the widget refreshes on its own.
		await goal.waitForFunction(() => document.querySelector(".goal-pct")?.textContent === "40%", undefined, { timeout: 20_000 });
		expect(await goal.textContent(".goal-title")).toBe("New microphone");
		expect(await goal.textContent(".goal-foot")).toBe("Rp 40.000 of Rp 100.000");
		await shot(goal, "overlay-goal", false);
		const board = await ctx.newPage();
		await board.goto(`${h.url}/overlay/leaderboard?username=${s.username}`);
		await board.waitForSelector(".board li");
		expect(await board.locator(".board li .name").allTextContents()).toEqual(["Andi", "Citra"]);
		expect(await board.locator(".board li .amt").allTextContents()).toEqual(["Rp 30.000", "Rp 10.000"]);
		await shot(board, "overlay-leaderboard", false);
		// A wrong token is a 404 page that says what to do.
		const bad = await ctx.newPage();
		const res = await bad.goto(`${h.url}/overlay/goal?token=not-a-token`);
		expect(res?.status()).toBe(404);
		await ctx.close();
	});

	it("a media-share alert embeds the YouTube player for the paid number of seconds", async () => {
		const s = await streamer("media", { mediaShare: { enabled: true, pricePerSecond: 100_000, maxSeconds: 60, requireApproval: false } });
		const overlay = await openOverlay(s.overlayToken);
		// The player is answered locally: tests never reach the internet.
		await overlay
			.context()
			.route("https://www.youtube-nocookie.com/**", (route) =>
				route.fulfill({ status: 200, contentType: "text/html", body: "<html><body style='background:#c00'>player</body></html>" }),
			);
		const d = await api("POST", "/api/donations", {
			to: s.username,
			amount: 1_500_000,
			currency: "IDR",
			provider: "sandbox",
			donorName: "Dewi",
			mediaUrl: "https://youtu.be/dQw4w9WgXcQ?t=30",
		});
		expect(d.status).toBe(201);
		await api("POST", `/api/payments/sandbox/${d.body.payment.id}/complete`, { outcome: "settlement" });
		const card = overlay.locator(".alert-card", { hasText: "Dewi" });
		await card.waitFor({ timeout: 15_000 });
		const src = new URL((await card.locator("iframe").getAttribute("src"))!);
		expect(src.origin + src.pathname).toBe("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ");
		// Rp 15.000 at Rp 1.000 per second buys 15 s, starting where the link points.
		expect(src.searchParams.get("start")).toBe("30");
		expect(src.searchParams.get("end")).toBe("45");
		await overlay.context().close();
	});
});

describe("text-to-speech", () => {
	it("reads the alert aloud with the server's voice when the streamer turned TTS on (no browser voices needed)", async () => {
		const s = await streamer("tts", { alerts: { tts: true, ttsMinAmount: 0, displaySeconds: 2, ttsLanguage: "id" } });
		const ctx = await context(browser, { locale: "id-ID" });
		const overlay = await ctx.newPage();
		// Record anything the page asks the browser's own speech synthesis to say (it should not need it).
		await overlay.addInitScript(() => {
			(window as any).spoken = [];
			speechSynthesis.speak = (u: SpeechSynthesisUtterance) => {
				(window as any).spoken.push({ text: u.text, lang: u.lang });
				setTimeout(() => u.onend?.(new Event("end") as SpeechSynthesisEvent), 10);
			};
		});
		await overlay.goto(`${h.url}/overlay/alerts?token=${encodeURIComponent(s.overlayToken)}`);
		await overlay.waitForSelector("body[data-state=connected]", { state: "attached" });
		await api("POST", "/api/alerts/test", { message: "halo semua" }, { token: s.token });
		const voice = await overlay.waitForFunction(() => {
			const el = document.querySelector<HTMLAudioElement>(".alert-card audio.alert-speech");
			return el && !el.paused && el.currentTime > 0 ? el.src : null;
		});
		expect(await voice.jsonValue()).toMatch(/\/media\/[0-9a-f]{64}\.wav$/);
		expect(await overlay.evaluate(() => (window as any).spoken)).toEqual([]);
		await ctx.close();
	});
});

async function waitForQueue(token: string, ok: (q: any) => boolean) {
	const deadline = Date.now() + 15_000;
	for (;;) {
		const q = await api("GET", "/api/alerts/queue", undefined, { token });
		if (ok(q.body)) return q.body;
		if (Date.now() > deadline) throw new Error(`queue never settled: ${JSON.stringify(q.body)}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

describe("dashboard", () => {
	it("the streamer holds blocked terms from the dashboard, approves the held donation, and the overlay shows it", async () => {
		const s = await streamer("held");
		const seen: string[] = [];
		const overlay = await openOverlay(s.overlayToken, seen);
		const ctx = await context(browser);
		const dash = await ctx.newPage();
		const errors = watchErrors(dash);
		await signInDashboard(dash, h.url, s.username);
		await shot(dash, "dashboard-overview");

		await dash.click("[data-tab=settings]");
		await dash.fill("textarea[name=blockedTerms]", "spoiler");
		await dash.selectOption("select[name=blockedTermAction]", "hold");
		await dash.click("form.settings-form button[type=submit]");
		await dash.waitForSelector("form.settings-form[data-saved]");
		const me = await api("GET", "/api/auth/me", undefined, { token: s.token });
		expect(me.body.settings.moderation).toEqual({ blockedTerms: ["spoiler"], blockedTermAction: "hold", useDefaultList: false, linkAction: "allow" });
		await shot(dash, "dashboard-settings");

		// A viewer pays for a donation whose message has the blocked term.
		const made = await api("POST", "/api/donations", {
			to: s.username,
			amount: 1_000_000,
			currency: "IDR",
			provider: "sandbox",
			donorName: "Sari",
			message: "no spoiler please",
		});
		expect(made.status).toBe(201);
		expect((await api("POST", `/api/payments/sandbox/${made.body.payment.id}/complete`, { outcome: "settlement" })).status).toBe(202);

		await dash.click("[data-tab=alerts]");
		const row = dash.locator(`.held-row[data-id="${made.body.donation.id}"]`);
		for (let i = 0; i < 60 && !(await row.count()); i++) {
			await dash.click(".held button.ghost");
			await dash.waitForSelector(".held", { timeout: 5000 });
		}
		await row.waitFor();
		expect(await row.textContent()).toContain("Rp 10.000");
		expect(await dash.locator(".alert-card").count()).toBe(0);
		expect(await overlay.locator(".alert-card").count()).toBe(0);
		await shot(dash, "dashboard-held");
		await row.locator("button[data-act=approve]").click();
		await dash.waitForSelector(".held-empty");

		const card = overlay.locator(".alert-card", { hasText: "Sari" });
		await card.waitFor({ timeout: 15_000 });
		expect(await card.locator(".alert-amount").textContent()).toBe("Rp 10.000");
		// Approved messages are still masked on stream.
		expect(await card.locator(".alert-message").textContent()).not.toContain("spoiler");
		await card.waitFor({ state: "detached" });

		// Replay from the recent donations: the same donation plays again as a new alert.
		await dash.click("[data-tab=overview]");
		await dash.click(`.donation-row[data-id="${made.body.donation.id}"] button[data-act=replay]`);
		await overlay.locator(".alert-card", { hasText: "Sari" }).waitFor({ timeout: 15_000 });
		expect(seen.length).toBe(2);
		expect(seen[1]).not.toBe(seen[0]);
		await dash.click("[data-tab=alerts]");
		await dash.waitForSelector("input[name=overlay-url]");

		// Overlay URL: copy box shows the current token; rotating replaces it and the old overlay is refused.
		expect(await dash.inputValue("input[name=overlay-url]")).toContain(s.overlayToken);
		dash.once("dialog", (d) => void d.accept());
		await dash.click("button[data-act=rotate]");
		await dash.waitForFunction(
			(old) => !(document.querySelector("input[name=overlay-url]") as HTMLInputElement | null)?.value.includes(old),
			s.overlayToken,
		);
		await overlay.waitForSelector("body[data-state=error]", { state: "attached", timeout: 10_000 });
		expect(await overlay.textContent("#overlay-status")).toContain("no longer valid");

		// The inbox badge counts the donation notification; reading all clears it.
		await dash.waitForFunction(() => Number(document.querySelector(".inbox-badge")?.textContent) >= 1, undefined, { timeout: 10_000 });
		await dash.click("[data-tab=inbox]");
		await dash.waitForSelector(".inbox .note.unread");
		expect(await dash.textContent(".inbox")).toContain("Sari");
		await shot(dash, "dashboard-inbox");
		await dash.click("button[data-act=read-all]");
		await dash.waitForSelector(".inbox-badge[hidden]", { state: "attached" });
		expect((await api("GET", "/api/notifications/unread-count", undefined, { token: s.token })).body).toMatchObject({ count: 0 });

		// Balance on the overview.
		await dash.click("[data-tab=overview]");
		await dash.waitForSelector(".balance-amount");
		expect(await dash.textContent(".balance-amount")).toBe("Rp 10.000");
		expect(await dash.locator(".donation-row").count()).toBe(1);
		await shot(dash, "dashboard-balance");

		// The chat widget shares the dashboard's sign-in (same browser, same origin).
		const chat = await ctx.newPage();
		await chat.goto(`${h.url}/chat/${s.username}`);
		await chat.waitForSelector("input[name=text]");
		expect(await chat.textContent(".chat-footer")).toContain(`Chatting as held Live`);
		expect(await chat.getAttribute("body", "data-moderator")).toBe("true");
		expect(errors).toEqual([]);
		await ctx.close();
		await overlay.context().close();
	});
});

describe("dashboard from scratch", () => {
	it("registers, turns donations on, and drives the overlay with test, pause, resume and skip", async () => {
		const ctx = await context(browser);
		const dash = await ctx.newPage();
		const errors = watchErrors(dash);
		await dash.goto(`${h.url}/dashboard`);
		await dash.click(".auth-card .tabs button:nth-child(2)");
		const taken = await registerUser(h.url, "taken");
		const name = `fresh${Date.now().toString(36).slice(-6)}`;
		await dash.fill("input[name=username]", taken.username);
		await dash.fill("input[name=email]", `${name}@example.test`);
		await dash.fill("input[name=displayName]", "Fresh Streamer");
		await dash.fill("input[name=password]", "correct horse battery");
		await dash.click("form.auth-card button[type=submit]");
		// The API's 409 lands under the username field.
		await dash.waitForFunction(() => /taken/.test(document.querySelector(".field[data-field=username] .error")?.textContent ?? ""));
		await dash.fill("input[name=username]", name);
		await dash.click("form.auth-card button[type=submit]");
		await dash.waitForSelector("nav.tabs");
		expect(await dash.textContent("h1")).toBe("Hi, Fresh Streamer");
		expect(await dash.textContent(".notice.warn")).toContain("Donations are switched off");

		await dash.click("[data-tab=settings]");
		await dash.check("input[name=donationsEnabled]");
		await dash.fill("input[name=minAmount]", "2.000");
		await dash.click("form.settings-form button[type=submit]");
		await dash.waitForSelector("form.settings-form[data-saved]");
		const me = await api("POST", "/api/auth/login", { login: name, password: "correct horse battery" });
		expect(me.body.user.settings.donations).toEqual({ enabled: true, minAmount: 200_000, currency: "IDR" });
		await dash.fill("input[name=goalTitle]", "Better webcam");
		await dash.fill("input[name=goalTarget]", "1.500.000");
		await dash.click("form.goal-form button[type=submit]");
		await dash.waitForFunction(() => /Rp 0 of Rp 1\.500\.000/.test(document.querySelector(".goal-now")?.textContent ?? ""));
		// The public stats are cached for a few seconds; the saved goal shows there within that.
		const goal = await waitFor(async () => (await api("GET", `/api/users/${name}/stats`)).body.goal, 10_000, "goal in public stats");
		expect(goal).toMatchObject({ title: "Better webcam", target: 150_000_000, currency: "IDR" });

		await dash.click("[data-tab=alerts]");
		const token = new URL(await dash.inputValue("input[name=overlay-url]")).searchParams.get("token")!;
		const overlay = await openOverlay(token, undefined, 30);
		await dash.click("button[data-act=pause]");
		await dash.waitForSelector(".queue-state[data-paused=true]", { state: "attached" });
		await dash.click("button[data-act=test]");
		await dash.waitForFunction(() => /1 waiting/.test(document.querySelector(".queue-state")?.textContent ?? ""));
		expect(await overlay.locator(".alert-card").count()).toBe(0);
		await dash.click("button[data-act=resume]");
		await overlay.locator(".alert-card.is-test").waitFor();
		expect(await overlay.textContent(".alert-card .alert-amount")).toBe("Rp 10.000");
		await shot(overlay, "overlay-test-alert", false);
		// Shown for 30 s unless skipped: skip takes it off screen now.
		await dash.click("button[data-act=skip]");
		await overlay.locator(".alert-card").waitFor({ state: "detached", timeout: 5_000 });
		expect(errors).toEqual([]);
		await overlay.context().close();
		await ctx.close();
	});
});

describe("chat widget", () => {
	it("two browsers chat; the owner deletes a message; an anonymous viewer reads only", async () => {
		const owner = await registerUser(h.url, "chown");
		const fan = await registerUser(h.url, "chfan");
		const ownerCtx = await context(browser, { width: 420, height: 640 });
		const fanCtx = await context(browser, { width: 420, height: 640 });
		const anonCtx = await context(browser, { width: 420, height: 640 });
		const o = await ownerCtx.newPage();
		const f = await fanCtx.newPage();
		const a = await anonCtx.newPage();
		const errors = [...watchErrors(o), ...watchErrors(f)];
		for (const p of [o, f, a]) {
			await p.goto(`${h.url}/chat/${owner.username}`);
			await p.waitForSelector("body[data-state=joined]");
		}
		// Anonymous: read-only, with a sign-in button.
		expect(await a.locator("input[name=text]").count()).toBe(0);

		async function signIn(p: Page, login: string) {
			await p.click(".chat-footer button");
			await p.fill("input[name=login]", login);
			await p.fill("input[name=password]", "correct horse battery");
			await p.click(".chat-signin button[type=submit]");
			await p.waitForSelector("input[name=text]");
			await p.waitForSelector("body[data-state=joined]");
		}
		await signIn(o, owner.username);
		await signIn(f, fan.username);
		expect(await o.getAttribute("body", "data-moderator")).toBe("true");
		expect(await f.getAttribute("body", "data-moderator")).toBe("false");

		await f.fill("input[name=text]", "hello from the fan <script>");
		await f.press("input[name=text]", "Enter");
		const onOwner = o.locator(".chat-msg", { hasText: "hello from the fan <script>" });
		await onOwner.waitFor();
		await a.locator(".chat-msg", { hasText: "hello from the fan" }).waitFor();
		await o.fill("input[name=text]", "welcome!");
		await o.click("button.chat-send");
		await f.locator(".chat-msg", { hasText: "welcome!" }).waitFor();
		await shot(f, "chat-fan");

		await onOwner.hover();
		await onOwner.locator("button[data-act=delete]").click();
		const deletedOnFan = f.locator(".chat-msg.deleted");
		await deletedOnFan.waitFor();
		expect(await deletedOnFan.textContent()).toContain("message deleted");
		await a.locator(".chat-msg.deleted").waitFor();
		await shot(o, "chat-owner");

		// The owner turns on slow mode from the widget; the fan's send button counts down after a message.
		await o.selectOption("select[name=slowMode]", "30");
		await f.waitForSelector(".chat-footer :text('slow mode 30s')");
		await f.fill("input[name=text]", "first");
		await f.press("input[name=text]", "Enter");
		await f.waitForFunction(() => /^Wait \d+s$/.test(document.querySelector(".chat-send")?.textContent ?? ""));
		expect(await f.isDisabled(".chat-send")).toBe(true);
		await shot(f, "chat-slow-mode");

		// A 10-minute timeout clears the fan's messages everywhere and refuses the next one.
		const first = o.locator(".chat-msg", { hasText: "first" });
		await first.hover();
		await first.locator("button[data-act=timeout]").click();
		await a.waitForFunction(() => document.querySelectorAll(".chat-msg.deleted").length === 2);
		await o.selectOption("select[name=slowMode]", "0");
		await f.waitForFunction(() => !/slow mode/.test(document.querySelector(".chat-footer")?.textContent ?? ""));
		await f.fill("input[name=text]", "am I still here?");
		await f.press("input[name=text]", "Enter");
		await f.waitForFunction(() => /timed out/.test(document.querySelector(".chat-error")?.textContent ?? ""));
		expect(await a.locator(".chat-msg", { hasText: "am I still here?" }).count()).toBe(0);
		expect(errors).toEqual([]);
		for (const c of [ownerCtx, fanCtx, anonCtx]) await c.close();
	});
});

describe("providers without a redirect", () => {
	it("Midtrans QRIS shows the QR string and a bank transfer shows the VA number, then waits for the payment", async () => {
		const s = await streamer("qris");
		const ctx = await context(browser, { width: 390, height: 844 });
		const page = await ctx.newPage();
		const errors = watchErrors(page);
		await page.goto(`${h.url}/u/${s.username}`);
		await page.waitForSelector("form.donate-form");
		await page.click(".preset >> nth=1");
		await page.fill("input[name=donorName]", "Rina");
		await page.check("input[name=provider][value=midtrans]");
		await page.selectOption("select[name=method]", "qris");
		await page.click("button.donate-submit");
		await page.waitForSelector(".next-step canvas.qr-code");
		await page.locator("canvas.qr-code").screenshot({ path: path.join(SHOTS, "qris-code.png") });
		expect(await page.textContent(".qr-string")).toMatch(/^00020101/);
		expect(await page.textContent(".next-step")).toContain("Rp 10.000");
		expect(await page.textContent(".payment-status")).toBe("Waiting for your payment…");
		expect(charges.at(-1)).toMatchObject({ payment_type: "qris", transaction_details: { gross_amount: 10_000 } });
		await shot(page, "donate-qris");

		await page.reload();
		await page.waitForSelector("form.donate-form");
		await page.fill("input[name=donorName]", "Rina");
		await page.check("input[name=provider][value=midtrans]");
		await page.selectOption("select[name=method]", "bank_transfer");
		await page.selectOption("select[name=bank]", "bni");
		await page.click("button.donate-submit");
		await page.waitForSelector(".next-step .va-number");
		expect(await page.textContent(".va-number")).toBe("12345678901");
		expect(await page.textContent(".next-step")).toContain("BNI");
		expect(charges.at(-1)).toMatchObject({ payment_type: "bank_transfer", bank_transfer: { bank: "bni" } });
		expect(errors).toEqual([]);
		await ctx.close();
	});
});

describe("sandbox checkout outcomes", () => {
	it("fail and expire end on a result page that says so", async () => {
		const s = await streamer("outc");
		const ctx = await context(browser);
		const page = await ctx.newPage();
		for (const [outcome, title, state] of [
			["deny", "Payment failed", "failed"],
			["expire", "Payment expired", "expired"],
		] as const) {
			const d = await api("POST", "/api/donations", { to: s.username, amount: 1_000_000, currency: "IDR", provider: "sandbox", donorName: "Eko" });
			await page.goto(`${h.url}/pay/sandbox/${d.body.payment.id}`);
			await page.click(`button[data-outcome=${outcome}]`);
			await page.waitForSelector(`.checkout[data-state=${state}]`, { timeout: 15_000 });
			expect(await page.textContent(".checkout h1")).toBe(title);
			const payment = await api("GET", `/api/payments/${d.body.payment.id}`);
			expect(payment.body.status).toBe(state);
		}
		await shot(page, "checkout-expired");
		// A finished payment opens straight on its result.
		await page.reload();
		await page.waitForSelector(".checkout[data-state=expired]");
		await ctx.close();
	});
});

describe("donation page on a phone", () => {
	it("fits a 390-px-wide screen without horizontal scrolling, in Indonesian, switchable to English", async () => {
		const s = await streamer("phone", { mediaShare: { enabled: true, pricePerSecond: 100000, maxSeconds: 60 } });
		await api(
			"PUT",
			"/api/me/goal",
			{ title: "Kursi gaming baru untuk maraton speedrun akhir pekan", target: 500_000_000, currency: "IDR" },
			{ token: s.token },
		);
		const ctx = await context(browser, { locale: "id-ID", width: 390, height: 844 });
		const page = await ctx.newPage();
		const errors = watchErrors(page);
		await page.goto(`${h.url}/u/${s.username}`);
		await page.waitForSelector("form.donate-form");
		expect(await page.getAttribute("html", "lang")).toBe("id");
		expect(await page.textContent("button.donate-submit")).toBe("Kirim dukungan");
		await page.fill("input[name=mediaUrl]", "https://www.youtube.com/watch?v=dQw4w9WgXcQ");
		await page.fill("input[name=amount]", "20000");
		expect(await page.textContent(".field[data-field=mediaUrl] .hint")).toContain("20 detik");
		const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
		expect(widths.client).toBe(390);
		expect(widths.scroll).toBeLessThanOrEqual(390);
		await shot(page, "donate-phone-id");
		// Below the minimum: the page says so before anything is sent.
		await page.fill("input[name=amount]", "1000");
		await page.click("button.donate-submit");
		expect(await page.textContent(".field[data-field=amount] .error")).toContain("Minimal Rp 5.000");
		await page.click(".lang-btn[data-lang=en]");
		expect(await page.textContent("button.donate-submit")).toBe("Send support");
		expect(await page.inputValue("input[name=amount]")).toBe("1000");
		await page.reload();
		await page.waitForSelector("form.donate-form");
		expect(await page.getAttribute("html", "lang")).toBe("en");
		expect(errors).toEqual([]);
		await ctx.close();
	});

	it("the checkout and the dashboard fit a phone too", async () => {
		const s = await streamer("fit");
		const d = await api("POST", "/api/donations", { to: s.username, amount: 1_000_000, currency: "IDR", provider: "sandbox", donorName: "Tono" });
		const ctx = await context(browser, { width: 390, height: 844 });
		const page = await ctx.newPage();
		for (const [path, ready] of [
			[`/pay/sandbox/${d.body.payment.id}`, ".checkout"],
			["/dashboard", "form.auth-card"],
		] as const) {
			await page.goto(`${h.url}${path}`);
			await page.waitForSelector(ready);
			expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
		}
		await page.fill("input[name=login]", s.username);
		await page.fill("input[name=password]", "correct horse battery");
		await page.click("form.auth-card button[type=submit]");
		for (const tab of ["overview", "alerts", "settings", "inbox"]) {
			await page.click(`[data-tab=${tab}]`);
			await page.waitForSelector(".panel .card");
			expect(await page.evaluate(() => document.documentElement.scrollWidth), tab).toBeLessThanOrEqual(390);
		}
		await shot(page, "dashboard-phone");
		await ctx.close();
	});

	it("an unknown channel answers with a clear not-found page", async () => {
		const ctx = await context(browser);
		const page = await ctx.newPage();
		await page.goto(`${h.url}/u/nobody_here_123`);
		await page.waitForSelector("[data-state=missing]");
		expect(await page.textContent("h1")).toBe("Streamer not found");
		await ctx.close();
	});
});

describe("network", () => {
	it("no page tried to load anything from outside this server (the YouTube player aside)", () => {
		expect(outsideRequests).toEqual([]);
	});
});
