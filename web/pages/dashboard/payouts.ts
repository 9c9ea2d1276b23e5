import { api, ApiError } from "../../lib/api";
import { h, mount, randomId, timeAgo } from "../../lib/dom";
import { lang, t } from "../../lib/i18n";
import { CURRENCIES, formatMoney, parseMajor } from "../../lib/money";
import { busy, errorText, field, showFieldErrors, toast } from "../../lib/ui";

/**
 * The dashboard's payout pages (API.md "Payouts"): the creator's balance (available, held, on
 * its way out), payout account (shown masked, as the API answers it), payout request and
 * history; and for operators the approval queue with approve / reject (with a reason).
 */

interface Balance {
	currency: string;
	amount: number;
	available: number;
	held: number;
	pendingPayouts: number;
}
interface Account {
	method: "bank" | "ewallet" | "paypal" | "stripe";
	currency: string;
	holderName: string;
	bankCode: string | null;
	accountNumber?: string;
	email?: string;
	usableAt: string;
	coolingDown: boolean;
}
interface Payout {
	id: string;
	status: string;
	amount: number;
	currency: string;
	formattedAmount: string;
	account: { method: string; holderName: string; bankCode: string | null; accountNumber?: string; email?: string };
	reason: string | null;
	failureReason: string | null;
	createdAt: string;
	username?: string;
}

const AUTH = { auth: "required" as const };
const statusText = (s: string) => t(`payouts.status.${s}` as Parameters<typeof t>[0]);
const accountText = (a: Payout["account"] | Account) =>
	`${a.method} ${a.bankCode ?? ""} ${a.accountNumber ?? a.email ?? ""} · ${a.holderName}`.replace(/\s+/g, " ");

function balanceCard(balances: Balance[]) {
	return h(
		"section",
		{ class: "card payout-balance" },
		h("h2", null, t("payouts.balance")),
		balances.length === 0
			? h("p", { class: "muted" }, t("payouts.nothing"))
			: h(
					"table",
					{ class: "payout-table" },
					h(
						"tr",
						null,
						h("th", null, ""),
						h("th", null, t("payouts.available")),
						h("th", null, t("payouts.held")),
						h("th", null, t("payouts.pending")),
					),
					balances.map((b) =>
						h(
							"tr",
							{ dataset: { currency: b.currency } },
							h("th", null, b.currency),
							h("td", { class: b.amount < 0 ? "bad" : "", dataset: { kind: "available" } }, formatMoney(b.available, b.currency)),
							h("td", { dataset: { kind: "held" } }, formatMoney(b.held, b.currency)),
							h("td", { dataset: { kind: "pending" } }, formatMoney(b.pendingPayouts, b.currency)),
						),
					),
				),
		balances.some((b) => b.amount < 0) ? h("p", { class: "notice bad" }, t("payouts.debt")) : h("p", { class: "small muted" }, t("payouts.holdHint")),
	);
}

function accountCard(account: Account | null, refresh: () => void) {
	const error = h("p", { class: "form-error", role: "alert" });
	const method = h(
		"select",
		{ name: "method" },
		...(["bank", "ewallet", "paypal", "stripe"] as const).map((m) => h("option", { value: m, selected: account?.method === m }, t(`payouts.method.${m}`))),
	);
	const currency = h(
		"select",
		{ name: "currency" },
		...Object.keys(CURRENCIES).map((c) => h("option", { value: c, selected: (account?.currency ?? "IDR") === c }, c)),
	);
	const holderName = h("input", { type: "text", name: "holderName", value: account?.holderName ?? "", required: true, maxlength: 100 });
	const bankCode = h("input", { type: "text", name: "bankCode", value: account?.bankCode ?? "", placeholder: "bca, bni, gopay, ovo…" });
	const accountNumber = h("input", { type: "text", name: "accountNumber", inputmode: "numeric", autocomplete: "off" });
	const email = h("input", { type: "email", name: "email", autocomplete: "off" });
	const save = h("button", { type: "submit" }, t("common.save"));
	const form = h(
		"form",
		{
			class: "stack payout-account-form",
			onsubmit: (e: Event) => {
				e.preventDefault();
				const body: Record<string, string> = { method: method.value, currency: currency.value, holderName: holderName.value.trim() };
				if (method.value === "paypal") body.email = email.value.trim();
				else {
					if (method.value !== "stripe") body.bankCode = bankCode.value.trim();
					body.accountNumber = accountNumber.value.replace(/\s+/g, "");
				}
				void busy(save, error, async () => {
					try {
						await api("PUT", "/api/me/payout-account", body, AUTH);
						toast(t("payouts.accountSaved"));
						refresh();
					} catch (err) {
						if (!showFieldErrors(form, err)) throw err;
					}
				});
			},
		},
		field(t("payouts.method"), method, null, "method"),
		field(t("payouts.currency"), currency, null, "currency"),
		field(t("payouts.holderName"), holderName, null, "holderName"),
		field(t("payouts.bankCode"), bankCode, null, "bankCode"),
		field(t("payouts.accountNumber"), accountNumber, t("payouts.accountHint"), "accountNumber"),
		field(t("payouts.email"), email, null, "email"),
		error,
		save,
	);
	return h(
		"section",
		{ class: "card payout-account" },
		h("h2", null, t("payouts.account")),
		account
			? h(
					"p",
					{ class: "payout-account-current" },
					accountText(account),
					account.coolingDown
						? h("span", { class: "notice" }, " ", t("payouts.cooldown", { at: new Date(account.usableAt).toLocaleString(lang()) }))
						: null,
				)
			: h("p", { class: "muted" }, t("payouts.noAccount")),
		form,
	);
}

function requestCard(account: Account | null, refresh: () => void) {
	const error = h("p", { class: "form-error", role: "alert" });
	const cur = account?.currency ?? "IDR";
	const amount = h("input", { type: "text", name: "amount", inputmode: "decimal", required: true });
	const code = h("input", { type: "text", name: "code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: 32 });
	const send = h("button", { type: "submit", disabled: !account }, t("payouts.requestButton"));
	// One key per intended payout: a retried click replays the first answer instead of paying twice.
	let key = randomId();
	const form = h(
		"form",
		{
			class: "stack payout-request-form",
			onsubmit: (e: Event) => {
				e.preventDefault();
				const minor = parseMajor(amount.value, cur);
				if (minor === null) {
					error.textContent = t("payouts.badAmount");
					return;
				}
				void busy(send, error, async () => {
					try {
						await api(
							"POST",
							"/api/me/payouts",
							{ amount: minor, currency: cur, ...(code.value ? { code: code.value.trim() } : {}) },
							{ ...AUTH, headers: { "Idempotency-Key": key } },
						);
						key = randomId();
						toast(t("payouts.requested"));
						refresh();
					} catch (err) {
						if (err instanceof ApiError && err.status === 401 && (err.type === "TWO_FACTOR_REQUIRED" || err.type === "INVALID_CODE")) {
							key = randomId();
							code.focus();
						}
						throw err;
					}
				});
			},
		},
		field(t("payouts.amount", { currency: cur }), amount, null, "amount"),
		field(t("payouts.code"), code, t("payouts.codeHint"), "code"),
		error,
		send,
	);
	return h("section", { class: "card payout-request" }, h("h2", null, t("payouts.request")), form);
}

function payoutRow(p: Payout, actions: HTMLElement[] = []) {
	return h(
		"li",
		{ class: "payout-row", dataset: { id: p.id, status: p.status } },
		h("strong", null, p.formattedAmount),
		" ",
		h("span", { class: `status status-${p.status}` }, statusText(p.status)),
		p.username ? h("span", { class: "muted" }, ` @${p.username}`) : null,
		h("div", { class: "small muted" }, accountText(p.account), " · ", timeAgo(p.createdAt, lang())),
		p.reason ? h("div", { class: "small" }, t("payouts.rejectedWhy", { reason: p.reason })) : null,
		p.failureReason ? h("div", { class: "small bad" }, p.failureReason) : null,
		...actions,
	);
}

/** The creator's payout page, mounted into the dashboard's panel. */
export async function payoutsPage(panel: HTMLElement): Promise<void> {
	const refresh = () => void payoutsPage(panel).catch((err) => mount(panel, h("p", { class: "notice bad" }, errorText(err))));
	const [bal, account, list] = await Promise.all([
		api<{ balances: Balance[] }>("GET", "/api/me/balance", undefined, AUTH),
		api<Account>("GET", "/api/me/payout-account", undefined, AUTH).catch((err) => {
			if (err instanceof ApiError && err.status === 404) return null;
			throw err;
		}),
		api<{ items: Payout[] }>("GET", "/api/me/payouts?limit=50", undefined, AUTH),
	]);
	const cancel = (p: Payout) => {
		const b = h("button", { type: "button", class: "small ghost" }, t("common.cancel"));
		b.onclick = () => void busy(b, null, async () => (await api("POST", `/api/me/payouts/${p.id}/cancel`, undefined, AUTH), refresh()));
		return b;
	};
	mount(
		panel,
		h("div", { class: "grid-2" }, h("div", null, balanceCard(bal.balances), requestCard(account, refresh)), accountCard(account, refresh)),
		h(
			"section",
			{ class: "card payout-history" },
			h("h2", null, t("payouts.history")),
			list.items.length === 0
				? h("p", { class: "muted" }, t("payouts.none"))
				: h(
						"ul",
						{ class: "list" },
						list.items.map((p) => payoutRow(p, p.status === "requested" ? [cancel(p)] : [])),
					),
		),
	);
}

/** Operators: the approval queue (oldest first), approve or reject with a reason. */
export async function adminPayoutsPage(panel: HTMLElement): Promise<void> {
	const refresh = () => void adminPayoutsPage(panel).catch((err) => mount(panel, h("p", { class: "notice bad" }, errorText(err))));
	const queue = await api<{ items: Payout[] }>("GET", "/api/admin/payouts?status=requested&limit=100", undefined, AUTH);
	const actions = (p: Payout) => {
		const error = h("p", { class: "form-error", role: "alert" });
		const approve = h("button", { type: "button", class: "small" }, t("payouts.approve"));
		approve.onclick = () =>
			void busy(
				approve,
				error,
				async () => (await api("POST", `/api/admin/payouts/${p.id}/approve`, undefined, AUTH), toast(t("payouts.approved")), refresh()),
			);
		const reason = h("input", { type: "text", name: "reason", placeholder: t("payouts.reason"), maxlength: 500 });
		const reject = h("button", { type: "button", class: "small ghost" }, t("payouts.reject"));
		reject.onclick = () => {
			if (!reason.value.trim()) {
				error.textContent = t("payouts.reasonNeeded");
				reason.focus();
				return;
			}
			void busy(reject, error, async () => (await api("POST", `/api/admin/payouts/${p.id}/reject`, { reason: reason.value.trim() }, AUTH), refresh()));
		};
		return [h("div", { class: "row" }, approve, reason, reject), error];
	};
	mount(
		panel,
		h(
			"section",
			{ class: "card payout-queue" },
			h(
				"div",
				{ class: "spread" },
				h("h2", null, t("payouts.queue")),
				h("button", { type: "button", class: "small ghost", onclick: refresh }, t("common.refresh")),
			),
			queue.items.length === 0
				? h("p", { class: "muted" }, t("payouts.queueEmpty"))
				: h(
						"ul",
						{ class: "list" },
						[...queue.items].reverse().map((p) => payoutRow(p, actions(p))),
					),
		),
	);
}
