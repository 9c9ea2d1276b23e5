import { io, type Socket } from "socket.io-client";
import { api, ApiError } from "../lib/api";
import { app, avatar, copyText, h, mount, timeAgo } from "../lib/dom";
import { lang, t } from "../lib/i18n";
import { topbar } from "../lib/layout";
import { CURRENCIES, formatMoney, parseMajor, toInput } from "../lib/money";
import { freshSession, loadSession, onSessionChange, saveSession, signOut, type Session } from "../lib/session";
import { busy, errorText, field, showFieldErrors, toast } from "../lib/ui";
import { variationsSection } from "./dashboard/variations";
import { adminPayoutsPage, payoutsPage } from "./dashboard/payouts";
import { securityPanel } from "./dashboard/security";
import { mediaLibrary } from "./dashboard/media";
import { earningsCard } from "./dashboard/earnings";
import "../styles/base.css";
import "../styles/dashboard.css";

/**
 * The streamer's dashboard: sign in / register, then overview (balance, recent donations),
 * alerts (overlay URL, controls, held donations), settings (donations, media share, moderation,
 * alerts, goal), the notification inbox with a live unread badge, and security (two-factor,
 * password, sessions, personal access tokens: web/pages/dashboard/security.ts).
 */
const TABS = ["overview", "alerts", "settings", "inbox", "security", "media", "payouts", "admin-payouts"] as const;
type Tab = (typeof TABS)[number];

interface Me {
	id: string;
	username: string;
	displayName: string;
	bio: string;
	avatarUrl?: string | null;
	roles: string[];
	overlayUrl: string;
	overlayToken: string;
	settings: {
		donations: { enabled: boolean; minAmount: number; currency: string };
		mediaShare: { enabled: boolean; pricePerSecond: number; maxSeconds: number; requireApproval: boolean };
		moderation: { blockedTerms: string[]; blockedTermAction: "mask" | "hold" };
		alerts: { displaySeconds: number; tts: boolean; ttsMinAmount: number };
	};
}

interface Donation {
	id: string;
	status: string;
	amount: number;
	currency: string;
	formattedAmount?: string;
	donorName?: string;
	message?: string;
	mediaUrl?: string | null;
	createdAt: string;
	hideName?: boolean;
	alertStatus?: string;
}

interface Notification {
	id: string;
	type: string;
	title: string;
	body?: string;
	createdAt: string;
	read: boolean;
}

const root = app();
let session: Session | null = loadSession();
let me: Me | null = null;
let tab: Tab = TABS.find((x) => location.hash === `#${x}`) ?? "overview";
let unread = 0;
let socket: Socket | null = null;
const panel = h("div", { class: "panel" });
const badge = h("span", { class: "badge inbox-badge", hidden: true });

const money = (d: { amount: number; currency: string; formattedAmount?: string }) => d.formattedAmount ?? formatMoney(d.amount, d.currency);

// ---------- signed out ----------

function authView(mode: "login" | "register" = "login") {
	const error = h("p", { class: "form-error", role: "alert" });
	const inputs = {
		login: h("input", { type: "text", name: "login", autocomplete: "username", required: true }),
		username: h("input", { type: "text", name: "username", autocomplete: "username", required: true, pattern: "[A-Za-z0-9_]{3,25}" }),
		email: h("input", { type: "email", name: "email", autocomplete: "email", required: true }),
		displayName: h("input", { type: "text", name: "displayName", autocomplete: "nickname" }),
		password: h("input", {
			type: "password",
			name: "password",
			autocomplete: mode === "login" ? "current-password" : "new-password",
			required: true,
			minlength: "8",
		}),
	};
	const submit = h("button", { type: "submit", class: "block" }, mode === "login" ? t("auth.signIn") : t("auth.register"));
	const form = h(
		"form",
		{ class: "card auth-card", dataset: { mode } },
		h(
			"div",
			{ class: "tabs" },
			h("button", { type: "button", class: mode === "login" ? "active" : "", onclick: () => authView("login") }, t("auth.signIn")),
			h("button", { type: "button", class: mode === "register" ? "active" : "", onclick: () => authView("register") }, t("auth.register")),
		),
		mode === "login"
			? [field(t("auth.login"), inputs.login, null, "login")]
			: [
					field(t("auth.username"), inputs.username, t("auth.usernameHint"), "username"),
					field(t("auth.email"), inputs.email, null, "email"),
					field(t("auth.displayName"), inputs.displayName, null, "displayName"),
				],
		field(t("auth.password"), inputs.password, mode === "register" ? t("auth.passwordHint") : null, "password"),
		error,
		submit,
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		void busy(submit, error, async () => {
			try {
				const res =
					mode === "login"
						? await api("POST", "/api/auth/login", { login: inputs.login.value.trim(), password: inputs.password.value })
						: await api("POST", "/api/auth/register", {
								username: inputs.username.value.trim(),
								email: inputs.email.value.trim(),
								password: inputs.password.value,
								lang: lang(),
								...(inputs.displayName.value.trim() ? { displayName: inputs.displayName.value.trim() } : {}),
							});
				// With two-factor on, the password opens only the second step.
				if (res.twoFactorRequired) return twoFactorView(res.challengeToken);
				saveSession({ accessToken: res.accessToken, refreshToken: res.refreshToken, user: res.user });
				session = loadSession();
				await start();
			} catch (err) {
				showFieldErrors(form, err);
				throw err;
			}
		});
	});
	mount(
		root,
		topbar(() => authView(mode)),
		h("div", { class: "auth-wrap" }, h("h1", null, t("dash.welcome")), h("p", { class: "muted" }, t("dash.welcomeHint")), form),
	);
}

/** The second step of a sign-in with two-factor on: a TOTP or recovery code trades the challenge for a session. */
function twoFactorView(challengeToken: string) {
	const error = h("p", { class: "form-error", role: "alert" });
	const code = h("input", { type: "text", name: "code", autocomplete: "one-time-code", inputmode: "numeric", required: true, maxlength: "32" });
	const submit = h("button", { type: "submit", class: "block" }, t("auth.twoFactorSubmit"));
	const form = h(
		"form",
		{ class: "card auth-card", dataset: { mode: "2fa" } },
		field(t("auth.twoFactorTitle"), code, t("auth.twoFactorHint"), "code"),
		error,
		submit,
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		void busy(submit, error, async () => {
			const res = await api("POST", "/api/auth/login/2fa", { challengeToken, code: code.value.trim() });
			saveSession({ accessToken: res.accessToken, refreshToken: res.refreshToken, user: res.user });
			session = loadSession();
			await start();
		});
	});
	mount(
		root,
		topbar(() => twoFactorView(challengeToken)),
		h("div", { class: "auth-wrap" }, h("h1", null, t("auth.twoFactorTitle")), form),
	);
	code.focus();
}

// ---------- signed in ----------

function shell() {
	const tabs: [Tab, string][] = [
		["overview", t("dash.overview")],
		["alerts", t("dash.alerts")],
		["settings", t("dash.settings")],
		["inbox", t("dash.inbox")],
		["security", t("dash.security")],
		["media", t("dash.media")],
		["payouts", t("dash.payouts")],
	];
	if (me!.roles.includes("admin")) tabs.push(["admin-payouts", t("dash.adminPayouts")]);
	mount(
		root,
		topbar(
			() => shell(),
			h("a", { class: "small", href: `/u/${encodeURIComponent(me!.username)}`, target: "_blank", rel: "noopener" }, t("dash.myPage")),
			h("button", { type: "button", class: "small ghost", onclick: () => void signOut().then(() => location.reload()) }, t("dash.signOut")),
		),
		h(
			"div",
			{ class: "row dash-hello" },
			avatar(me!.displayName, 40, me!.avatarUrl),
			h("h1", { class: "break" }, t("dash.hello", { name: me!.displayName })),
		),
		h(
			"nav",
			{ class: "tabs", role: "tablist" },
			tabs.map(([id, label]) =>
				h(
					"button",
					{
						type: "button",
						role: "tab",
						class: tab === id ? "active" : "",
						"aria-selected": String(tab === id),
						dataset: { tab: id },
						onclick: () => show(id),
					},
					label,
					id === "inbox" ? badge : null,
				),
			),
		),
		panel,
	);
	void show(tab);
}

async function show(next: Tab) {
	tab = next;
	history.replaceState(null, "", `#${next}`);
	root.querySelectorAll<HTMLButtonElement>(".tabs [data-tab]").forEach((b) => {
		b.classList.toggle("active", b.dataset.tab === next);
		b.setAttribute("aria-selected", String(b.dataset.tab === next));
	});
	mount(panel, h("p", { class: "muted" }, t("common.loading")));
	try {
		if (next === "overview") await overview();
		else if (next === "alerts") await alerts();
		else if (next === "settings") settings();
		else if (next === "security") await securityPanel(panel);
		else if (next === "media") await mediaLibrary(panel, (url) => ((me!.avatarUrl = url), shell()));
		else if (next === "payouts") await payoutsPage(panel);
		else if (next === "admin-payouts") await adminPayoutsPage(panel);
		else await inbox();
	} catch (err) {
		mount(panel, h("p", { class: "notice bad" }, errorText(err)));
	}
}

async function overview() {
	const [bal, recent] = await Promise.all([
		api<{ balances: { currency: string; amount: number }[] }>("GET", "/api/me/balance", undefined, { auth: "required" }),
		api<{ items: Donation[] }>("GET", "/api/me/donations/received?limit=20", undefined, { auth: "required" }),
	]);
	mount(
		panel,
		earningsCard(),
		h(
			"div",
			{ class: "grid-2" },
			h(
				"section",
				{ class: "card recent" },
				h(
					"div",
					{ class: "spread" },
					h("h2", null, t("dash.recent")),
					h("button", { type: "button", class: "small ghost", onclick: () => void show("overview") }, t("common.refresh")),
				),
				recent.items.length === 0 ? h("p", { class: "muted" }, t("dash.noDonations")) : h("ul", { class: "list" }, recent.items.map(donationRow)),
			),
			h(
				"div",
				null,
				h(
					"section",
					{ class: "card balance" },
					h("h2", null, t("dash.balance")),
					bal.balances.length === 0
						? h("p", { class: "balance-amount" }, formatMoney(0, me!.settings.donations.currency))
						: bal.balances.map((b) => h("p", { class: "balance-amount", dataset: { currency: b.currency } }, formatMoney(b.amount, b.currency))),
					h("p", { class: "small muted" }, t("dash.balanceHint")),
				),
				h(
					"section",
					{ class: "card" },
					h("h2", null, t("dash.share")),
					h("p", { class: "small muted" }, t("dash.shareHint")),
					copyBox(`${location.origin}/u/${me!.username}`, "donation-url"),
					!me!.settings.donations.enabled
						? h(
								"p",
								{ class: "notice warn small" },
								t("dash.donationsOff"),
								" ",
								h("button", { type: "button", class: "small secondary", onclick: () => void show("settings") }, t("dash.settings")),
							)
						: null,
				),
			),
		),
	);
}

function statusPill(status: string) {
	const cls = status === "paid" ? "ok" : status === "pending" ? "warn" : "bad";
	return h("span", { class: `pill ${cls}` }, t(`status.${status}` as never) === `status.${status}` ? status : t(`status.${status}` as never));
}

function donationRow(d: Donation): HTMLElement {
	return h(
		"li",
		{ class: "donation-row", dataset: { id: d.id } },
		h(
			"div",
			{ class: "spread" },
			h("strong", { class: "break" }, d.donorName || t("dash.anonymous")),
			h("span", { class: "row" }, h("strong", null, money(d)), statusPill(d.status)),
		),
		d.message ? h("p", { class: "break donation-msg" }, d.message) : null,
		d.mediaUrl ? h("p", { class: "small muted break" }, "▶ ", d.mediaUrl) : null,
		h(
			"div",
			{ class: "spread small muted" },
			h("span", null, timeAgo(d.createdAt, lang())),
			d.status === "paid"
				? h(
						"button",
						{
							type: "button",
							class: "small secondary",
							dataset: { act: "replay" },
							onclick: (e: Event) =>
								void busy(
									e.currentTarget as HTMLButtonElement,
									null,
									async () => (
										await api("POST", `/api/alerts/${encodeURIComponent(d.id)}/replay`, undefined, { auth: "required" }),
										toast(t("dash.replayed"))
									),
								),
						},
						t("dash.replay"),
					)
				: null,
		),
	);
}

function copyBox(value: string, name: string): HTMLElement {
	const input = h("input", { type: "text", readonly: true, value, name, "aria-label": name });
	input.addEventListener("focus", () => input.select());
	return h(
		"div",
		{ class: "copybox" },
		input,
		h(
			"button",
			{
				type: "button",
				class: "secondary",
				dataset: { copy: name },
				onclick: () => void copyText(input.value).then((ok) => toast(ok ? t("common.copied") : t("common.copyFailed"))),
			},
			t("common.copy"),
		),
	);
}

function overlayUrls(token: string) {
	const q = `token=${encodeURIComponent(token)}`;
	return {
		alerts: `${location.origin}/overlay/alerts?${q}`,
		goal: `${location.origin}/overlay/goal?${q}`,
		board: `${location.origin}/overlay/leaderboard?${q}`,
	};
}

async function alerts() {
	const [queue, held] = await Promise.all([
		api<any>("GET", "/api/alerts/queue", undefined, { auth: "required" }).catch(() => null),
		api<any>("GET", "/api/alerts/held", undefined, { auth: "required" }),
	]);
	const urls = overlayUrls(me!.overlayToken);
	const error = h("p", { class: "form-error", role: "alert" });
	const control = (path: string, label: string, cls = "secondary", done?: string) =>
		h(
			"button",
			{
				type: "button",
				class: cls,
				dataset: { act: path },
				onclick: (e: Event) =>
					void busy(
						e.currentTarget as HTMLButtonElement,
						error,
						async () => (
							await api("POST", `/api/alerts/${path}`, undefined, { auth: "required" }),
							toast(done ?? t("common.done")),
							void refreshQueue()
						),
					),
			},
			label,
		);
	const queueEl = h("p", { class: "small muted queue-state" });
	const refreshQueue = async () => {
		const q = await api<any>("GET", "/api/alerts/queue", undefined, { auth: "required" }).catch(() => null);
		renderQueue(q);
	};
	const renderQueue = (q: any) => {
		if (!q) return (queueEl.textContent = "");
		const parts = [q.paused ? t("dash.paused") : t("dash.running"), t("dash.queued", { n: q.depth ?? (Array.isArray(q.queued) ? q.queued.length : 0) })];
		if (q.current) parts.push(t("dash.showing", { name: q.current.donorName ?? "" }));
		queueEl.textContent = parts.join(" · ");
		queueEl.dataset.paused = String(Boolean(q.paused));
	};
	renderQueue(queue);
	const heldItems: Donation[] = held?.items ?? (Array.isArray(held) ? held : []);
	mount(
		panel,
		h(
			"div",
			{ class: "grid-2" },
			h(
				"div",
				null,
				h(
					"section",
					{ class: "card overlay-card" },
					h("h2", null, t("dash.overlay")),
					h("p", { class: "small muted" }, t("dash.overlayHint")),
					copyBox(urls.alerts, "overlay-url"),
					h(
						"div",
						{ class: "row", style: { marginTop: "10px" } },
						h("a", { class: "btn small secondary", href: urls.alerts, target: "_blank", rel: "noopener" }, t("dash.openOverlay")),
						h(
							"button",
							{
								type: "button",
								class: "small danger",
								dataset: { act: "rotate" },
								onclick: (e: Event) => void rotate(e.currentTarget as HTMLButtonElement),
							},
							t("dash.rotate"),
						),
					),
					h("h3", { style: { marginTop: "16px" } }, t("dash.widgets")),
					h("p", { class: "small muted" }, t("dash.goalOverlay")),
					copyBox(urls.goal, "goal-url"),
					h("p", { class: "small muted", style: { marginTop: "8px" } }, t("dash.boardOverlay")),
					copyBox(urls.board, "board-url"),
				),
				h(
					"section",
					{ class: "card" },
					h("h2", null, t("dash.controls")),
					queueEl,
					h(
						"div",
						{ class: "controls" },
						control("test", t("dash.test"), "", t("dash.testSent")),
						control("pause", t("dash.pause")),
						control("resume", t("dash.resume")),
						control("skip", t("dash.skip")),
					),
					error,
				),
			),
			h(
				"section",
				{ class: "card held" },
				h(
					"div",
					{ class: "spread" },
					h("h2", null, t("dash.held"), " ", heldItems.length ? h("span", { class: "badge" }, String(heldItems.length)) : null),
					h("button", { type: "button", class: "small ghost", onclick: () => void show("alerts") }, t("common.refresh")),
				),
				h("p", { class: "small muted" }, t("dash.heldHint")),
				heldItems.length === 0 ? h("p", { class: "muted held-empty" }, t("dash.noHeld")) : h("ul", { class: "list" }, heldItems.map(heldRow)),
			),
		),
	);
	// Alert variations, speech settings and the events widget (web/pages/dashboard/variations.ts).
	panel.append(await variationsSection(me!.overlayToken).catch((err) => h("p", { class: "notice bad" }, errorText(err))));
}

function heldRow(d: Donation & { donationId?: string }): HTMLElement {
	const id = d.donationId ?? d.id;
	const decide = (verb: "approve" | "reject") => (e: Event) =>
		void busy(e.currentTarget as HTMLButtonElement, null, async () => {
			await api("POST", `/api/alerts/${encodeURIComponent(id)}/${verb}`, undefined, { auth: "required" });
			toast(verb === "approve" ? t("dash.approved") : t("dash.rejected"));
			await show("alerts");
		});
	return h(
		"li",
		{ class: "held-row", dataset: { id } },
		h("div", { class: "spread" }, h("strong", { class: "break" }, d.donorName || t("dash.anonymous")), h("strong", null, money(d))),
		d.message ? h("p", { class: "break donation-msg" }, d.message) : null,
		d.mediaUrl ? h("p", { class: "small muted break" }, "▶ ", d.mediaUrl) : null,
		h(
			"div",
			{ class: "row" },
			h("button", { type: "button", class: "small ok", dataset: { act: "approve" }, onclick: decide("approve") }, t("dash.approve")),
			h("button", { type: "button", class: "small danger", dataset: { act: "reject" }, onclick: decide("reject") }, t("dash.reject")),
		),
	);
}

async function rotate(button: HTMLButtonElement) {
	if (!confirm(t("dash.rotateConfirm"))) return;
	await busy(button, null, async () => {
		const res = await api<{ overlayToken: string }>("POST", "/api/users/me/overlay-token", undefined, { auth: "required" });
		me!.overlayToken = res.overlayToken;
		toast(t("dash.rotated"));
		await show("alerts");
	});
}

function settings() {
	const s = me!.settings;
	const cur = () => currency.value;
	const num = (value: string, attrs: Record<string, unknown> = {}) => h("input", { type: "text", inputmode: "decimal", value, ...attrs });
	const check = (name: string, checked: boolean, label: string) => {
		const input = h("input", { type: "checkbox", name, checked });
		return { input, el: h("label", { class: "check field" }, input, label) };
	};
	const displayName = h("input", { type: "text", name: "displayName", maxlength: "50", value: me!.displayName });
	const bio = h("textarea", { name: "bio", maxlength: "500", rows: "2" });
	bio.value = me!.bio ?? "";
	const enabled = check("donationsEnabled", s.donations.enabled, t("set.donationsEnabled"));
	const currency = h(
		"select",
		{ name: "currency" },
		Object.keys(CURRENCIES).map((c) => h("option", { value: c, selected: c === s.donations.currency }, c)),
	);
	const minAmount = num(toInput(s.donations.minAmount, s.donations.currency), { name: "minAmount" });
	const mediaEnabled = check("mediaEnabled", s.mediaShare.enabled, t("set.mediaEnabled"));
	const price = num(toInput(s.mediaShare.pricePerSecond, s.donations.currency), { name: "pricePerSecond" });
	const maxSeconds = h("input", { type: "number", min: "1", max: "600", name: "maxSeconds", value: String(s.mediaShare.maxSeconds) });
	const approval = check("requireApproval", s.mediaShare.requireApproval, t("set.requireApproval"));
	const terms = h("textarea", { name: "blockedTerms", rows: "3", placeholder: t("set.termsPlaceholder") });
	terms.value = s.moderation.blockedTerms.join("\n");
	const action = h(
		"select",
		{ name: "blockedTermAction" },
		h("option", { value: "mask", selected: s.moderation.blockedTermAction === "mask" }, t("set.mask")),
		h("option", { value: "hold", selected: s.moderation.blockedTermAction === "hold" }, t("set.hold")),
	);
	const displaySeconds = h("input", { type: "number", min: "2", max: "120", name: "displaySeconds", value: String(s.alerts.displaySeconds) });
	const tts = check("tts", s.alerts.tts, t("set.tts"));
	const ttsMin = num(toInput(s.alerts.ttsMinAmount, s.donations.currency), { name: "ttsMinAmount" });
	const error = h("p", { class: "form-error", role: "alert" });
	const save = h("button", { type: "submit" }, t("common.save"));

	const form = h(
		"form",
		{ class: "card settings-form", novalidate: true },
		h("h2", null, t("set.profile")),
		field(t("auth.displayName"), displayName, null, "displayName"),
		field(t("set.bio"), bio, null, "bio"),
		h("h2", null, t("set.donations")),
		enabled.el,
		h(
			"div",
			{ class: "two" },
			field(t("set.currency"), currency, null, "settings.donations.currency"),
			field(t("set.minAmount"), minAmount, t("set.majorHint"), "settings.donations.minAmount"),
		),
		h("h2", null, t("set.media")),
		mediaEnabled.el,
		h(
			"div",
			{ class: "two" },
			field(t("set.pricePerSecond"), price, t("set.majorHint"), "settings.mediaShare.pricePerSecond"),
			field(t("set.maxSeconds"), maxSeconds, null, "settings.mediaShare.maxSeconds"),
		),
		approval.el,
		h("h2", null, t("set.moderation")),
		field(t("set.blockedTerms"), terms, t("set.termsHint"), "settings.moderation.blockedTerms"),
		field(t("set.termAction"), action, null, "settings.moderation.blockedTermAction"),
		h("h2", null, t("set.alerts")),
		h(
			"div",
			{ class: "two" },
			field(t("set.displaySeconds"), displaySeconds, null, "settings.alerts.displaySeconds"),
			field(t("set.ttsMin"), ttsMin, t("set.majorHint"), "settings.alerts.ttsMinAmount"),
		),
		tts.el,
		error,
		save,
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		void busy(save, error, async () => {
			const bad: { field: string; message: string }[] = [];
			const minor = (input: HTMLInputElement, name: string) => {
				const v = input.value.trim() === "" ? 0 : parseMajor(input.value, cur());
				if (v === null) bad.push({ field: name, message: t("set.badAmount") });
				return v ?? 0;
			};
			const body = {
				displayName: displayName.value.trim() || undefined,
				bio: bio.value,
				settings: {
					donations: { enabled: enabled.input.checked, currency: cur(), minAmount: minor(minAmount, "settings.donations.minAmount") },
					mediaShare: {
						enabled: mediaEnabled.input.checked,
						pricePerSecond: minor(price, "settings.mediaShare.pricePerSecond"),
						maxSeconds: Number(maxSeconds.value) || 60,
						requireApproval: approval.input.checked,
					},
					moderation: {
						blockedTerms: terms.value
							.split(/[\n,]/)
							.map((x) => x.trim())
							.filter(Boolean),
						blockedTermAction: action.value as "mask" | "hold",
					},
					alerts: {
						displaySeconds: Number(displaySeconds.value) || 8,
						tts: tts.input.checked,
						ttsMinAmount: minor(ttsMin, "settings.alerts.ttsMinAmount"),
					},
				},
			};
			if (bad.length) {
				showFieldErrors(form, new ApiError(422, "VALIDATION_ERROR", "", bad));
				throw new Error(t("donate.fixErrors"));
			}
			try {
				me = await api<Me>("PATCH", "/api/users/me", body, { auth: "required" });
			} catch (err) {
				showFieldErrors(form, err);
				throw err;
			}
			toast(t("common.saved"));
			form.dataset.saved = String(Date.now());
		});
	});
	mount(panel, h("div", { class: "grid-2" }, form, goalCard()));
}

function goalCard(): HTMLElement {
	const currency = me!.settings.donations.currency;
	const title = h("input", { type: "text", name: "goalTitle", maxlength: "100" });
	const target = h("input", { type: "text", inputmode: "decimal", name: "goalTarget" });
	const error = h("p", { class: "form-error", role: "alert" });
	const status = h("div", { class: "goal-now" });
	const save = h("button", { type: "submit" }, t("set.saveGoal"));
	const remove = h("button", { type: "button", class: "ghost" }, t("set.removeGoal"));
	type GoalView = { title: string; target: number; current: number; currency: string };
	const showGoal = (g: GoalView | null) => {
		if (g) {
			title.value = g.title;
			target.value = toInput(g.target, g.currency);
			const pct = g.target > 0 ? Math.min(100, Math.round((g.current / g.target) * 100)) : 0;
			mount(
				status,
				h("div", { class: "progress" }, h("div", { style: { width: `${pct}%` } })),
				h(
					"p",
					{ class: "small muted" },
					t("goal.progress", { current: formatMoney(g.current, g.currency), target: formatMoney(g.target, g.currency) }),
				),
			);
		} else mount(status, h("p", { class: "small muted" }, t("set.noGoal")));
	};
	const load = async () => {
		const p = await api<{ goal: GoalView | null }>("GET", `/api/users/${encodeURIComponent(me!.username)}/stats`).catch(() => null);
		showGoal(p?.goal ?? null);
	};
	const form = h(
		"form",
		{ class: "card goal-form" },
		h("h2", null, t("donate.goal")),
		status,
		field(t("set.goalTitle"), title, null, "title"),
		field(t("set.goalTarget", { currency }), target, null, "target"),
		error,
		h("div", { class: "row" }, save, remove),
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		void busy(save, error, async () => {
			const amount = parseMajor(target.value, currency);
			if (!title.value.trim() || amount === null || amount <= 0) throw new Error(t("set.goalInvalid"));
			const saved = await api<GoalView>("PUT", "/api/me/goal", { title: title.value.trim(), target: amount, currency }, { auth: "required" });
			toast(t("common.saved"));
			showGoal(saved && typeof saved.target === "number" ? saved : { title: title.value.trim(), target: amount, current: 0, currency });
		});
	});
	remove.addEventListener(
		"click",
		() =>
			void busy(remove, error, async () => {
				await api("DELETE", "/api/me/goal", undefined, { auth: "required" });
				title.value = "";
				target.value = "";
				showGoal(null);
			}),
	);
	void load();
	return form;
}

async function inbox() {
	const res = await api<{ items: Notification[]; nextCursor: string | null }>("GET", "/api/notifications?limit=50", undefined, { auth: "required" });
	const list = h("ul", { class: "list inbox" }, res.items.map(notificationRow));
	mount(
		panel,
		h(
			"section",
			{ class: "card" },
			h(
				"div",
				{ class: "spread" },
				h("h2", null, t("dash.inbox")),
				h(
					"button",
					{
						type: "button",
						class: "small secondary",
						dataset: { act: "read-all" },
						onclick: (e: Event) =>
							void busy(
								e.currentTarget as HTMLButtonElement,
								null,
								async () => (
									await api("POST", "/api/notifications/read-all", undefined, { auth: "required" }),
									await refreshUnread(),
									await show("inbox")
								),
							),
					},
					t("dash.readAll"),
				),
			),
			res.items.length === 0 ? h("p", { class: "muted" }, t("dash.noNotifications")) : list,
		),
	);
}

function notificationRow(n: Notification): HTMLElement {
	const li = h(
		"li",
		{ class: `note${n.read ? "" : " unread"}`, dataset: { id: n.id } },
		h("div", { class: "spread" }, h("strong", { class: "break" }, n.title), h("span", { class: "small muted" }, timeAgo(n.createdAt, lang()))),
		n.body ? h("p", { class: "break small" }, n.body) : null,
	);
	if (!n.read) {
		li.tabIndex = 0;
		li.title = t("dash.markRead");
		const markRead = async () => {
			if (!li.classList.contains("unread")) return;
			li.classList.remove("unread");
			await api("POST", `/api/notifications/${encodeURIComponent(n.id)}/read`, undefined, { auth: "required" }).catch(() => undefined);
			await refreshUnread();
		};
		li.addEventListener("click", () => void markRead());
		li.addEventListener("keydown", (e) => {
			if (e.key === "Enter" || e.key === " ") {
				e.preventDefault();
				void markRead();
			}
		});
	}
	return li;
}

function setUnread(n: number) {
	unread = Math.max(0, n);
	badge.textContent = unread > 99 ? "99+" : String(unread);
	badge.hidden = unread === 0;
	document.title = `${unread ? `(${unread}) ` : ""}${t("dash.title")} · MediaShar`;
}

async function refreshUnread() {
	const r = await api<{ count?: number; unread?: number }>("GET", "/api/notifications/unread-count", undefined, { auth: "required" }).catch(() => null);
	if (r) setUnread(Number(r.count ?? r.unread ?? 0));
}

async function live() {
	const s = await freshSession();
	if (!s) return;
	socket?.disconnect();
	socket = io("/", { auth: { token: s.accessToken }, reconnectionDelayMax: 10_000 });
	socket.on("connect_error", async (err: Error & { data?: { type?: string } }) => {
		if (err.data?.type === "TOKEN_EXPIRED" || err.data?.type === "INVALID_TOKEN") {
			const fresh = await freshSession(true);
			if (!fresh) return location.reload();
			socket!.auth = { token: fresh.accessToken };
			setTimeout(() => socket?.connect(), 500);
		}
	});
	socket.on("disconnect", (reason) => {
		if (reason === "io server disconnect") setTimeout(() => socket?.connect(), 2000);
	});
	socket.on("notification", (n: Notification) => {
		if (!n.read) setUnread(unread + 1);
		toast(n.title, 4000);
		if (tab === "inbox") {
			const list = panel.querySelector(".inbox");
			if (list) list.prepend(notificationRow(n));
			else void show("inbox");
		}
		if (n.type.startsWith("donation.") && (tab === "overview" || tab === "alerts")) void show(tab);
	});
	setInterval(async () => {
		const fresh = await freshSession();
		if (fresh && socket) socket.auth = { token: fresh.accessToken };
	}, 60_000);
}

async function start() {
	if (!session) return authView();
	try {
		me = await api<Me>("GET", "/api/auth/me", undefined, { auth: "required" });
	} catch (err) {
		if (err instanceof ApiError && err.status === 401) {
			saveSession(null);
			session = null;
			return authView();
		}
		mount(root, h("p", { class: "notice bad" }, errorText(err)));
		return;
	}
	document.body.dataset.user = me.username;
	shell();
	await refreshUnread();
	void live();
}

onSessionChange((s) => {
	if ((s?.user.id ?? null) !== (session?.user.id ?? null)) location.reload();
});

void start();
