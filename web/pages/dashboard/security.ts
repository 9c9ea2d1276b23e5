import { api } from "../../lib/api";
import { copyText, h, mount, timeAgo } from "../../lib/dom";
import { lang, t } from "../../lib/i18n";
import { qrCanvas } from "../../lib/qr";
import { busy, field, showFieldErrors, toast } from "../../lib/ui";
import type { Key } from "../../lib/strings";

/**
 * The dashboard's security tab (mounted by web/pages/dashboard.ts): the email-verification banner,
 * password change, two-factor (set up with a QR code and the key, turn on with a code, which shows
 * the recovery codes once; turn off with password and code), the sessions (end one, end all
 * others) and personal access tokens (create, shown once; revoke). Contract: docs/api.md,
 * "Account security".
 */

interface Account {
	emailVerified: boolean;
	twoFactorEnabled: boolean;
}

interface SessionRow {
	id: string;
	userAgent: string | null;
	ip: string | null;
	createdAt: string;
	lastUsedAt: string;
	current: boolean;
}

interface TokenRow {
	id: string;
	name: string;
	scopes: string[];
	createdAt: string;
	expiresAt: string | null;
	lastUsedAt: string | null;
}

const SCOPES = ["profile:read", "donations:read", "alerts:write", "chat:write", "events:read"] as const;
const AUTH = { auth: "required" } as const;

/** Renders the tab into `panel` (again after each change that alters what it shows). */
export async function securityPanel(panel: HTMLElement): Promise<void> {
	const account = await api<Account>("GET", "/api/auth/me", undefined, AUTH);
	const again = () => void securityPanel(panel);
	mount(
		panel,
		account.emailVerified ? null : verifyBanner(),
		h("div", { class: "grid-2" }, h("div", null, twoFactorCard(account, again), passwordCard()), h("div", null, sessionsCard(), tokensCard())),
	);
}

function verifyBanner(): HTMLElement {
	const button = h("button", { type: "button", class: "small secondary", dataset: { act: "resend" } }, t("sec.verifyResend"));
	button.addEventListener(
		"click",
		() => void busy(button, null, async () => (await api("POST", "/api/auth/email/resend", { lang: lang() }, AUTH), toast(t("sec.verifySent")))),
	);
	return h("p", { class: "notice warn verify-banner" }, t("sec.verifyBanner"), " ", button);
}

function passwordCard(): HTMLElement {
	const current = h("input", { type: "password", name: "currentPassword", autocomplete: "current-password", required: true });
	const next = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: "8" });
	const error = h("p", { class: "form-error", role: "alert" });
	const submit = h("button", { type: "submit" }, t("sec.changePassword"));
	const form = h(
		"form",
		{ class: "card password-form" },
		h("h2", null, t("sec.password")),
		field(t("sec.currentPassword"), current, null, "currentPassword"),
		field(t("sec.newPassword"), next, t("auth.passwordHint"), "password"),
		error,
		submit,
	);
	onSubmit(form, submit, error, async () => {
		await api("PUT", "/api/me/password", { currentPassword: current.value, password: next.value }, AUTH);
		form.reset();
		toast(t("sec.passwordChanged"));
	});
	return form;
}

/** Runs `fn` when the form is submitted, with its button disabled; a 422's messages go under their fields. */
function onSubmit(form: HTMLFormElement, submit: HTMLButtonElement, error: HTMLElement, fn: () => Promise<void>) {
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		void busy(submit, error, async () => {
			try {
				await fn();
			} catch (err) {
				showFieldErrors(form, err);
				throw err;
			}
		});
	});
}

function codeInput(): HTMLInputElement {
	return h("input", { type: "text", name: "code", autocomplete: "one-time-code", inputmode: "numeric", required: true, maxlength: "32" });
}

function twoFactorCard(account: Account, again: () => void): HTMLElement {
	const card = h("section", { class: "card two-factor", dataset: { enabled: String(account.twoFactorEnabled) } }, h("h2", null, t("sec.twoFactor")));
	const error = h("p", { class: "form-error", role: "alert" });
	if (account.twoFactorEnabled) {
		const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
		const code = codeInput();
		const submit = h("button", { type: "submit", class: "danger" }, t("sec.disable"));
		const form = h(
			"form",
			{ class: "disable-2fa" },
			h("p", { class: "small muted" }, t("sec.disableHint")),
			field(t("auth.password"), password),
			field(t("sec.code"), code),
			error,
			submit,
		);
		onSubmit(form, submit, error, async () => {
			await api("POST", "/api/me/2fa/disable", { password: password.value, code: code.value.trim() }, AUTH);
			toast(t("sec.disabled"));
			again();
		});
		mountInto(card, h("p", null, h("span", { class: "pill ok" }, "✓"), " ", t("sec.twoFactorOn")), form);
		return card;
	}
	const start = h("button", { type: "button", dataset: { act: "setup-2fa" } }, t("sec.setup"));
	start.addEventListener(
		"click",
		() =>
			void busy(start, error, async () => {
				const setup = await api<{ secret: string; otpauthUrl: string }>("POST", "/api/me/2fa/setup", undefined, AUTH);
				enableStep(card, setup, again);
			}),
	);
	mountInto(card, h("p", { class: "small muted" }, t("sec.twoFactorOff")), error, start);
	return card;
}

function enableStep(card: HTMLElement, setup: { secret: string; otpauthUrl: string }, again: () => void) {
	const code = codeInput();
	const error = h("p", { class: "form-error", role: "alert" });
	const submit = h("button", { type: "submit" }, t("sec.enable"));
	const form = h(
		"form",
		{ class: "enable-2fa" },
		h("p", { class: "small muted" }, t("sec.scan")),
		h("div", { class: "totp-qr" }, qrCanvas(setup.otpauthUrl, 200)),
		h("p", { class: "small" }, `${t("sec.secretKey")}: `, h("code", { class: "mono break totp-secret" }, setup.secret)),
		field(t("sec.code"), code, null, "code"),
		error,
		submit,
	);
	onSubmit(form, submit, error, async () => {
		const { recoveryCodes } = await api<{ recoveryCodes: string[] }>("POST", "/api/me/2fa/enable", { code: code.value.trim() }, AUTH);
		const done = h("button", { type: "button", dataset: { act: "recovery-saved" }, onclick: again }, t("sec.recoverySaved"));
		mountInto(
			card,
			h("h3", null, t("sec.recoveryTitle")),
			h("p", { class: "small muted" }, t("sec.recoveryHint")),
			h(
				"ul",
				{ class: "mono recovery-codes" },
				recoveryCodes.map((c) => h("li", null, c)),
			),
			done,
		);
		card.dataset.enabled = "true";
	});
	mountInto(card, form);
	code.focus();
}

/** Keeps a card's heading and replaces what follows it. */
function mountInto(card: HTMLElement, ...children: Array<Node | null>) {
	const heading = card.querySelector("h2");
	mount(card, heading, ...children);
}

function sessionsCard(): HTMLElement {
	const card = h("section", { class: "card sessions" }, h("h2", null, t("sec.sessions")), h("p", { class: "muted" }, t("common.loading")));
	const render = async () => {
		const { items } = await api<{ items: SessionRow[] }>("GET", "/api/me/sessions?limit=100", undefined, AUTH);
		const endOthers = h("button", { type: "button", class: "small danger", dataset: { act: "end-others" } }, t("sec.endOthers"));
		endOthers.addEventListener(
			"click",
			() => void busy(endOthers, null, async () => (await api("DELETE", "/api/me/sessions", undefined, AUTH), toast(t("sec.ended")), await render())),
		);
		mountInto(
			card,
			h("p", { class: "small muted" }, t("sec.sessionsHint")),
			h(
				"ul",
				{ class: "list" },
				items.map((s) => sessionRow(s, render)),
			),
			items.some((s) => !s.current) ? endOthers : null,
		);
	};
	void render().catch(() => mountInto(card, h("p", { class: "notice bad" }, t("err.server"))));
	return card;
}

function sessionRow(s: SessionRow, render: () => Promise<void>): HTMLElement {
	const end = h("button", { type: "button", class: "small secondary", dataset: { act: "end-session" } }, t("sec.end"));
	end.addEventListener(
		"click",
		() =>
			void busy(
				end,
				null,
				async () => (await api("DELETE", `/api/me/sessions/${encodeURIComponent(s.id)}`, undefined, AUTH), toast(t("sec.ended")), await render()),
			),
	);
	return h(
		"li",
		{ class: "session-row", dataset: { id: s.id, current: String(s.current) } },
		h(
			"div",
			{ class: "spread" },
			h("strong", { class: "break" }, s.userAgent || t("sec.unknownClient")),
			s.current ? h("span", { class: "pill ok" }, t("sec.thisDevice")) : end,
		),
		h("p", { class: "small muted" }, [s.ip, t("sec.lastUsed", { when: timeAgo(s.lastUsedAt, lang()) })].filter(Boolean).join(" · ")),
	);
}

function tokensCard(): HTMLElement {
	const card = h("section", { class: "card tokens" }, h("h2", null, t("sec.tokens")));
	const list = h("ul", { class: "list token-list" });
	const fresh = h("div", { class: "new-token-slot" });
	const render = async () => {
		const { items } = await api<{ items: TokenRow[] }>("GET", "/api/me/tokens", undefined, AUTH);
		mount(list, items.length === 0 ? h("li", { class: "muted small" }, t("sec.noTokens")) : items.map((tok) => tokenRow(tok, render)));
	};
	mountInto(card, h("p", { class: "small muted" }, t("sec.tokensHint")), fresh, list, tokenForm(fresh, render));
	void render().catch(() => mount(list, h("li", { class: "notice bad" }, t("err.server"))));
	return card;
}

function tokenRow(tok: TokenRow, render: () => Promise<void>): HTMLElement {
	const revoke = h("button", { type: "button", class: "small danger", dataset: { act: "revoke-token" } }, t("sec.revoke"));
	revoke.addEventListener(
		"click",
		() =>
			void busy(
				revoke,
				null,
				async () => (await api("DELETE", `/api/me/tokens/${encodeURIComponent(tok.id)}`, undefined, AUTH), toast(t("sec.revoked")), await render()),
			),
	);
	const used = tok.lastUsedAt ? t("sec.lastUsed", { when: timeAgo(tok.lastUsedAt, lang()) }) : t("sec.neverUsed");
	const expires = tok.expiresAt ? t("sec.expires", { when: timeAgo(tok.expiresAt, lang()) }) : null;
	return h(
		"li",
		{ class: "token-row", dataset: { id: tok.id } },
		h("div", { class: "spread" }, h("strong", { class: "break" }, tok.name), revoke),
		h("p", { class: "small mono" }, tok.scopes.join(" ")),
		h("p", { class: "small muted" }, [used, expires].filter(Boolean).join(" · ")),
	);
}

function tokenForm(fresh: HTMLElement, render: () => Promise<void>): HTMLElement {
	const name = h("input", { type: "text", name: "tokenName", required: true, maxlength: "60" });
	const days = h("input", { type: "number", name: "expiresInDays", min: "1", max: "3650" });
	const boxes = SCOPES.map((s) => h("input", { type: "checkbox", name: "scope", value: s }));
	const error = h("p", { class: "form-error", role: "alert" });
	const submit = h("button", { type: "submit" }, t("sec.createToken"));
	const form = h(
		"form",
		{ class: "token-form" },
		field(t("sec.tokenName"), name, null, "name"),
		h(
			"fieldset",
			{ class: "field", dataset: { field: "scopes" } },
			h("legend", null, t("sec.tokenScopes")),
			boxes.map((box) =>
				h(
					"label",
					{ class: "row small scope-option" },
					box,
					h("span", null, h("code", { class: "mono" }, box.value), " — ", t(`sec.scope.${box.value}` as Key)),
				),
			),
			h("div", { class: "error", "aria-live": "polite" }),
		),
		field(t("sec.tokenExpires"), days, null, "expiresInDays"),
		error,
		submit,
	);
	onSubmit(form, submit, error, async () => {
		const scopes = boxes.filter((b) => b.checked).map((b) => b.value);
		const body = { name: name.value.trim(), scopes, ...(days.value ? { expiresInDays: Number(days.value) } : {}) };
		const made = await api<{ token: string }>("POST", "/api/me/tokens", body, AUTH);
		form.reset();
		mount(fresh, shownOnce(made.token));
		await render();
	});
	return form;
}

/** The new token with a copy button; it is never shown again. */
function shownOnce(token: string): HTMLElement {
	const input = h("input", { type: "text", readonly: true, value: token, name: "new-token", "aria-label": t("sec.newToken") });
	input.addEventListener("focus", () => input.select());
	const copy = h(
		"button",
		{ type: "button", class: "secondary", onclick: () => void copyText(token).then((ok) => toast(ok ? t("common.copied") : t("common.copyFailed"))) },
		t("common.copy"),
	);
	return h("div", { class: "notice ok new-token" }, h("p", { class: "small" }, t("sec.newToken")), h("div", { class: "copybox" }, input, copy));
}
