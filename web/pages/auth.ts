import { api, ApiError } from "../lib/api";
import { app, h, mount, query } from "../lib/dom";
import { t } from "../lib/i18n";
import { topbar } from "../lib/layout";
import { busy, field, showFieldErrors } from "../lib/ui";
import "../styles/base.css";

/**
 * Where the account emails' links land: /auth/verify?token=… confirms the address at once;
 * /auth/reset?token=… asks for the new password. The token leaves the address bar as soon as it is
 * read (so it is not kept in history or shown on screen); it works once on the server either way.
 */
const root = app();
const token = query("token") ?? "";
const page = location.pathname.replace(/\/+$/, "").endsWith("/reset") ? "reset" : "verify";
if (token) history.replaceState(null, "", location.pathname);

function frame(title: string, ...body: (Node | string | null)[]) {
	mount(root, topbar(render), h("section", { class: "card stack", dataset: { state: "ready" } }, h("h1", null, title), ...body));
}

function notice(text: string, state: string) {
	return h("p", { class: "notice", role: "status", dataset: { result: state } }, text);
}

const dashboardLink = () => h("a", { class: "btn", href: "/dashboard" }, t("acct.toDashboard"));

let result: "ok" | "bad" | null = null;

async function verify() {
	if (!token) result = "bad";
	else {
		try {
			await api("POST", "/api/auth/email/verify", { token });
			result = "ok";
		} catch (err) {
			result = "bad";
			if (!(err instanceof ApiError) || err.status !== 400) console.warn(err);
		}
	}
	render();
}

function render() {
	if (page === "verify") {
		if (result === null) return frame(t("acct.verifyTitle"), h("p", { class: "muted" }, t("acct.verifying")));
		return result === "ok"
			? frame(t("acct.verifyTitle"), notice(t("acct.verified"), "verified"), dashboardLink())
			: frame(t("acct.verifyTitle"), notice(t("acct.badLink"), "invalid"));
	}
	if (result === "ok") return frame(t("acct.resetTitle"), notice(t("acct.resetDone"), "reset"), dashboardLink());
	if (!token || result === "bad") return frame(t("acct.resetTitle"), notice(t("acct.badLink"), "invalid"));
	const pw = h("input", { type: "password", name: "password", autocomplete: "new-password", minlength: "8", required: true });
	const again = h("input", { type: "password", name: "again", autocomplete: "new-password", minlength: "8", required: true });
	const error = h("p", { class: "form-error", "aria-live": "polite" });
	const button = h("button", { class: "btn", type: "submit" }, t("acct.resetButton"));
	const form = h(
		"form",
		{
			class: "stack",
			onsubmit: (e: Event) => {
				e.preventDefault();
				if (pw.value !== again.value) {
					error.textContent = t("acct.mismatch");
					return;
				}
				void busy(button, error, async () => {
					try {
						await api("POST", "/api/auth/password/reset", { token, password: pw.value });
						result = "ok";
						render();
					} catch (err) {
						if (err instanceof ApiError && err.type === "INVALID_TOKEN") {
							result = "bad";
							return render();
						}
						if (showFieldErrors(form, err)) return;
						throw err;
					}
				});
			},
		},
		field(t("acct.newPassword"), pw, t("auth.passwordHint"), "password"),
		field(t("acct.repeatPassword"), again),
		error,
		button,
	);
	frame(t("acct.resetTitle"), form);
}

render();
if (page === "verify") void verify();
