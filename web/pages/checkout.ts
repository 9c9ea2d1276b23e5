import { api, ApiError } from "../lib/api";
import { app, h, mount, segment } from "../lib/dom";
import { t } from "../lib/i18n";
import { topbar } from "../lib/layout";
import { formatMoney } from "../lib/money";
import { busy, errorText } from "../lib/ui";
import "../styles/base.css";
import "../styles/checkout.css";

/**
 * The sandbox provider's checkout: pay, fail or let the payment expire. The sandbox then signs
 * and delivers a webhook to the real webhook endpoint, so this page waits for the payment's
 * status to change and shows the result.
 */
interface Payment {
	id: string;
	donationId: string;
	provider: string;
	status: string;
	amount: number;
	currency: string;
	formattedAmount?: string;
	recipientUsername?: string;
	recipient?: { username?: string; displayName?: string };
	to?: string;
	[k: string]: unknown;
}

const id = segment(2);
const root = app();
let payment: Payment | null = null;
let loadError: unknown = null;

// Where the donor came from (same-origin donation page), for the "back" link on the result.
const backKey = `mediashar.checkout.back.${id}`;
try {
	const ref = document.referrer ? new URL(document.referrer) : null;
	if (ref && ref.origin === location.origin && ref.pathname.startsWith("/u/")) sessionStorage.setItem(backKey, ref.pathname);
} catch {
	/* no referrer */
}

function backLink(): HTMLElement | null {
	const user = payment?.recipientUsername ?? payment?.recipient?.username ?? payment?.to;
	const href = (typeof user === "string" && user ? `/u/${encodeURIComponent(user)}` : null) ?? sessionStorage.getItem(backKey);
	return href ? h("a", { class: "btn secondary back-link", href }, t("checkout.back")) : null;
}

const amountText = (p: Payment) => p.formattedAmount ?? formatMoney(p.amount, p.currency);

function render() {
	const bar = topbar(render);
	if (loadError || !payment) {
		const missing = loadError instanceof ApiError && loadError.status === 404;
		return mount(
			root,
			bar,
			h(
				"section",
				{ class: "card checkout", dataset: { state: "missing" } },
				h("h1", null, missing ? t("checkout.notFound") : t("err.server")),
				h("p", { class: "muted" }, missing ? "" : errorText(loadError)),
			),
		);
	}
	if (payment.status !== "pending") return mount(root, bar, resultCard(payment));
	// Back from a real provider (/pay/result/:id): wait for its webhook to settle the payment.
	if (payment.provider !== "sandbox") return mount(root, bar, waitingCard(payment));
	const error = h("p", { class: "form-error", role: "alert" });
	const make = (outcome: "settlement" | "deny" | "expire", label: string, cls: string) => {
		const b = h("button", { type: "button", class: `block ${cls}`, dataset: { outcome } }, label);
		b.addEventListener("click", () => void busy(b, error, () => complete(outcome, b)));
		return b;
	};
	mount(
		root,
		bar,
		h(
			"section",
			{ class: "card checkout", dataset: { state: "pending" } },
			h("span", { class: "pill warn" }, t("checkout.sandbox")),
			h("h1", null, t("checkout.title")),
			h("p", { class: "checkout-amount" }, amountText(payment)),
			h("p", { class: "muted small" }, t("checkout.explain")),
			h(
				"div",
				{ class: "checkout-actions" },
				make("settlement", t("checkout.pay"), "ok"),
				make("deny", t("checkout.fail"), "danger"),
				make("expire", t("checkout.expire"), "ghost"),
			),
			error,
			expiresAt(payment),
			h("p", { class: "muted small mono break" }, `${t("checkout.reference")}: ${payment.id}`),
		),
	);
}

/** "Expires in 29:41", ticking; the payments service expires it when the time is up. */
function expiresAt(p: Payment): HTMLElement | null {
	const at = typeof p.expiresAt === "string" ? Date.parse(p.expiresAt) : NaN;
	if (!Number.isFinite(at)) return null;
	const el = h("p", { class: "small muted expires" });
	const tick = () => {
		if (!el.isConnected && el.dataset.started) return;
		el.dataset.started = "1";
		const left = Math.max(0, Math.round((at - Date.now()) / 1000));
		el.textContent =
			left > 0 ? t("checkout.expiresIn", { time: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` }) : t("checkout.expiring");
		if (left > 0) setTimeout(tick, 1000);
	};
	tick();
	return el;
}

function resultCard(p: Payment): HTMLElement {
	const paid = p.status === "paid";
	const title = paid
		? t("checkout.paid")
		: p.status === "expired"
			? t("checkout.expired")
			: p.status === "failed"
				? t("checkout.failed")
				: t("checkout.status", { status: p.status });
	return h(
		"section",
		{ class: `card checkout result ${paid ? "is-paid" : "is-failed"}`, dataset: { state: p.status } },
		h("div", { class: "result-icon", "aria-hidden": "true" }, paid ? "✓" : "✕"),
		h("h1", null, title),
		h("p", { class: "checkout-amount" }, amountText(p)),
		h("p", { class: "muted" }, paid ? t("checkout.paidHint") : t("checkout.failedHint")),
		backLink(),
	);
}

async function complete(outcome: string, button: HTMLButtonElement) {
	await api("POST", `/api/payments/sandbox/${encodeURIComponent(id)}/complete`, { outcome });
	button.textContent = t("checkout.processing");
	// The webhook runs the real payment path; wait until the status moves.
	const deadline = Date.now() + 30_000;
	while (Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, 400));
		const p = await api<Payment>("GET", `/api/payments/${encodeURIComponent(id)}`).catch(() => null);
		if (p && p.status !== "pending") {
			payment = p;
			return render();
		}
	}
	throw new Error(t("checkout.slow"));
}

function waitingCard(p: Payment): HTMLElement {
	return h(
		"section",
		{ class: "card checkout", dataset: { state: "waiting" } },
		h("h1", null, t("checkout.waiting")),
		h("p", { class: "checkout-amount" }, amountText(p)),
		h("p", { class: "muted" }, t("checkout.waitingHint")),
		backLink(),
	);
}

async function load() {
	try {
		payment = await api<Payment>("GET", `/api/payments/${encodeURIComponent(id)}`);
	} catch (err) {
		loadError = err;
	}
	render();
	// A provider's confirmation can take a few seconds after the payer comes back: poll (bounded).
	const deadline = Date.now() + 120_000;
	while (payment && payment.status === "pending" && payment.provider !== "sandbox" && Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, 2_000));
		const next = await api<Payment>("GET", `/api/payments/${encodeURIComponent(id)}`).catch(() => null);
		if (next && next.status !== "pending") {
			payment = next;
			render();
		}
	}
}

void load();
