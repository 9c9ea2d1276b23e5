import { api, ApiError } from "../lib/api";
import { app, avatar, h, mount, randomId, segment } from "../lib/dom";
import { lang, t } from "../lib/i18n";
import { topbar } from "../lib/layout";
import { formatMoney, mediaSecondsFor, parseMajor, presets, toInput, wholeUnits } from "../lib/money";
import { qrCanvas } from "../lib/qr";
import { loadSession } from "../lib/session";
import { fetchStats, type Goal, type Stats } from "../lib/stats";
import { busy, errorText, field, showFieldErrors } from "../lib/ui";
import { exploreLink, profileLinks, searchBox, type ProfileLinks } from "../lib/discovery";
import "../styles/base.css";
import "../styles/donate.css";
import "../styles/discovery.css";

/**
 * The public donation page /u/:username: profile, goal, top donors and the donation form.
 * Amounts are typed and shown in major units and sent in minor units; after the donation is
 * created the page follows `payment.action` (redirect, QR string or virtual account number).
 */
const MAX_MESSAGE = 500;

interface Profile {
	id: string;
	username: string;
	displayName: string;
	bio?: string;
	avatarUrl?: string | null;
	donations: { enabled: boolean; minAmount: number; currency: string };
	mediaShare: { enabled: boolean; pricePerSecond: number; maxSeconds: number };
	goal: Goal | null;
	followerCount?: number;
	links?: ProfileLinks["links"];
	platforms?: ProfileLinks["platforms"];
}

interface PaymentAction {
	type: string;
	url?: string;
	qrString?: string;
	qrUrl?: string;
	vaNumber?: string;
	bank?: string;
	expiresAt?: string;
	[k: string]: unknown;
}

interface Created {
	donation: { id: string; status: string; amount: number; currency: string; formattedAmount?: string };
	payment: { id: string; provider: string; status: string; action: PaymentAction };
}

const username = segment(1).toLowerCase();
const root = app();
const session = loadSession();
// Made once: every render puts the same search box (and what is typed in it) in the top bar.
const search = searchBox();
const explore = exploreLink();

const state = {
	amountText: "",
	message: "",
	donorName: session?.user.displayName ?? "",
	hideName: false,
	mediaUrl: "",
	provider: "",
	method: "qris" as (typeof MIDTRANS_METHODS)[number],
	bank: "bca" as (typeof BANKS)[number],
	idempotency: { body: "", key: "" },
	created: null as Created | null,
};

let profile: Profile | null = null;
let stats: Stats | null = null;
let providers: { id: string; name: string }[] = [];
let loadError: unknown = null;

const PROVIDER_NAMES: Record<string, string> = {
	midtrans: "Midtrans (QRIS, VA, e-wallet)",
	stripe: "Stripe (card)",
	paypal: "PayPal",
	sandbox: "Sandbox (test)",
};
const MIDTRANS_METHODS = ["qris", "bank_transfer", "snap"] as const;
const BANKS = ["bca", "bni", "bri", "permata", "cimb"] as const;

async function load() {
	try {
		profile = await api<Profile>("GET", `/api/users/${encodeURIComponent(username)}`);
	} catch (err) {
		loadError = err;
		return render();
	}
	document.title = `${t("donate.title", { name: profile.displayName })} · MediaShar`;
	stats = await fetchStats(username).catch(() => null);
	// The gateway lists the providers this deployment has keys for.
	const enabled = (document.body.dataset.providers ?? "").split(",").filter((x) => x in PROVIDER_NAMES);
	providers = (enabled.length ? enabled : Object.keys(PROVIDER_NAMES)).map((id) => ({ id, name: PROVIDER_NAMES[id] }));
	if (!providers.some((x) => x.id === state.provider)) state.provider = providers[0].id;
	const first = presets(profile.donations.currency, profile.donations.minAmount)[0];
	if (!state.amountText && first) state.amountText = toInput(first, profile.donations.currency);
	render();
}

function render() {
	const bar = topbar(render, explore, search);
	if (loadError || !profile) {
		const notFound = loadError instanceof ApiError && loadError.status === 404;
		return mount(
			root,
			bar,
			h(
				"section",
				{ class: "card", dataset: { state: "missing" } },
				h("h1", null, notFound ? t("donate.notFound") : t("err.server")),
				h("p", { class: "muted" }, notFound ? t("donate.notFoundHint", { name: username }) : errorText(loadError)),
			),
		);
	}
	mount(
		root,
		bar,
		h(
			"div",
			{ class: "grid-2 donate-layout" },
			h("div", null, profileCard(profile), state.created ? nextStepCard(state.created) : formCard(profile)),
			h("div", null, goalCard(profile.goal ?? stats?.goal ?? null), topDonorsCard()),
		),
	);
}

function profileCard(p: Profile): HTMLElement {
	return h(
		"section",
		{ class: "card profile" },
		h(
			"div",
			{ class: "row" },
			avatar(p.displayName, 64, p.avatarUrl),
			h(
				"div",
				{ class: "profile-names" },
				h("h1", { class: "break" }, p.displayName),
				h("div", { class: "muted" }, `@${p.username}`, p.followerCount ? ` · ${t("donate.followers", { n: p.followerCount })}` : ""),
			),
		),
		p.bio ? h("p", { class: "bio break" }, p.bio) : null,
		profileLinks(p),
		h("a", { class: "small", href: `/chat/${encodeURIComponent(p.username)}`, target: "_blank", rel: "noopener" }, t("donate.openChat")),
	);
}

function goalCard(goal: Goal | null): HTMLElement | null {
	if (!goal) return null;
	const pct = goal.target > 0 ? Math.min(100, Math.round((goal.current / goal.target) * 100)) : 0;
	return h(
		"section",
		{ class: "card goal-card" },
		h("h2", null, t("donate.goal")),
		h("p", { class: "break" }, goal.title),
		h(
			"div",
			{ class: "progress", role: "progressbar", "aria-valuenow": String(pct), "aria-valuemin": "0", "aria-valuemax": "100" },
			h("div", { style: { width: `${pct}%` } }),
		),
		h(
			"p",
			{ class: "small muted goal-numbers" },
			t("goal.progress", { current: formatMoney(goal.current, goal.currency), target: formatMoney(goal.target, goal.currency) }),
			` · ${pct}%`,
		),
	);
}

function topDonorsCard(): HTMLElement {
	const donors = stats?.topDonors ?? [];
	return h(
		"section",
		{ class: "card top-donors-card" },
		h("h2", null, t("donate.topDonors")),
		donors.length === 0
			? h("p", { class: "muted" }, t("donate.noDonors"))
			: h(
					"ol",
					{ class: "list top-donors" },
					donors
						.slice(0, 10)
						.map((d, i) =>
							h(
								"li",
								{ class: "spread" },
								h("span", { class: "break" }, `${i + 1}. `, d.name),
								h("strong", null, d.formattedAmount ?? formatMoney(d.amount, d.currency)),
							),
						),
				),
	);
}

function formCard(p: Profile): HTMLElement {
	const cur = p.donations.currency;
	if (!p.donations.enabled) {
		return h(
			"section",
			{ class: "card", dataset: { state: "disabled" } },
			h("h2", null, t("donate.support", { name: p.displayName })),
			h("p", { class: "notice warn" }, t("donate.disabled")),
		);
	}
	const amountInput = h("input", {
		type: "text",
		inputmode: wholeUnits(cur) ? "numeric" : "decimal",
		name: "amount",
		autocomplete: "off",
		value: state.amountText,
		"aria-describedby": "amount-hint",
	});
	const amountPreview = h("span", { class: "amount-preview" });
	const presetButtons = presets(cur, p.donations.minAmount).map((minor) =>
		h(
			"button",
			{
				type: "button",
				class: "preset secondary",
				dataset: { amount: String(minor) },
				onclick: () => {
					amountInput.value = toInput(minor, cur);
					state.amountText = amountInput.value;
					update();
				},
			},
			formatMoney(minor, cur),
		),
	);
	const message = h("textarea", { name: "message", maxlength: String(MAX_MESSAGE), rows: "3", placeholder: t("donate.messagePlaceholder") });
	message.value = state.message;
	const counter = h("span", { class: "counter", "aria-live": "polite" });
	const nameInput = h("input", { type: "text", name: "donorName", maxlength: "50", autocomplete: "nickname", value: state.donorName });
	const hide = h("input", { type: "checkbox", name: "hideName", checked: state.hideName });
	const media = p.mediaShare.enabled
		? h("input", { type: "url", name: "mediaUrl", inputmode: "url", placeholder: "https://www.youtube.com/watch?v=…", value: state.mediaUrl })
		: null;
	const mediaHint = h("span");
	const providerList = h(
		"div",
		{ class: "providers", role: "radiogroup", "aria-label": t("donate.provider") },
		providers.map((pr) =>
			h(
				"label",
				{ class: "provider" },
				h("input", {
					type: "radio",
					name: "provider",
					value: pr.id,
					checked: state.provider === pr.id,
					onchange: () => {
						state.provider = pr.id;
						methodBox.hidden = pr.id !== "midtrans";
					},
				}),
				h("span", null, pr.name),
			),
		),
	);
	const bankSelect = h(
		"select",
		{
			name: "bank",
			"aria-label": t("donate.bank"),
			onchange: (e: Event) => (state.bank = (e.target as HTMLSelectElement).value as (typeof BANKS)[number]),
		},
		BANKS.map((b) => h("option", { value: b, selected: state.bank === b }, b.toUpperCase())),
	);
	const methodSelect = h(
		"select",
		{
			name: "method",
			"aria-label": t("donate.method"),
			onchange: (e: Event) => {
				state.method = (e.target as HTMLSelectElement).value as (typeof MIDTRANS_METHODS)[number];
				bankSelect.hidden = state.method !== "bank_transfer";
			},
		},
		MIDTRANS_METHODS.map((m) => h("option", { value: m, selected: state.method === m }, t(`donate.method.${m}`))),
	);
	bankSelect.hidden = state.method !== "bank_transfer";
	const methodBox = h("div", { class: "method-box row" }, methodSelect, bankSelect);
	methodBox.hidden = state.provider !== "midtrans";
	const submit = h("button", { type: "submit", class: "block donate-submit" }, t("donate.submit"));
	const formError = h("p", { class: "form-error", role: "alert" });

	const update = () => {
		state.amountText = amountInput.value;
		state.message = message.value;
		state.donorName = nameInput.value;
		state.hideName = hide.checked;
		if (media) state.mediaUrl = media.value;
		const minor = parseMajor(amountInput.value, cur);
		amountPreview.textContent = minor !== null ? formatMoney(minor, cur) : "";
		for (const b of presetButtons) b.classList.toggle("active", minor !== null && Number(b.dataset.amount) === minor);
		counter.textContent = `${message.value.length}/${MAX_MESSAGE}`;
		counter.classList.toggle("near", message.value.length > MAX_MESSAGE - 20);
		if (media) {
			const seconds = minor !== null ? mediaSecondsFor(minor, p.mediaShare.pricePerSecond, p.mediaShare.maxSeconds) : 0;
			mediaHint.textContent = media.value.trim() ? t("donate.mediaBuys", { sec: seconds }) : "";
		}
	};
	for (const el of [amountInput, message, nameInput, hide, media]) el?.addEventListener("input", update);

	const form = h(
		"form",
		{ class: "card donate-form", novalidate: true },
		h("h2", null, t("donate.support", { name: p.displayName })),
		field(
			t("donate.amount", { currency: cur }),
			h("div", { class: "amount-box" }, h("span", { class: "currency" }, cur), amountInput),
			h(
				"span",
				{ id: "amount-hint" },
				p.donations.minAmount > 0 ? t("donate.min", { min: formatMoney(p.donations.minAmount, cur) }) : "",
				" ",
				amountPreview,
			),
			"amount",
		),
		h("div", { class: "presets" }, presetButtons),
		session ? h("p", { class: "small muted" }, t("donate.signedInAs", { name: session.user.displayName || session.user.username })) : null,
		field(t("donate.name"), nameInput, null, "donorName"),
		h("label", { class: "check field" }, hide, t("donate.hideName")),
		field(t("donate.message"), message, counter, "message"),
		media
			? field(
					t("donate.media"),
					media,
					h(
						"span",
						null,
						t("donate.mediaPrice", { price: formatMoney(p.mediaShare.pricePerSecond, cur), max: p.mediaShare.maxSeconds }),
						" ",
						mediaHint,
					),
					"mediaUrl",
				)
			: null,
		h(
			"div",
			{ class: "field", dataset: { field: "provider" } },
			h("label", null, t("donate.provider")),
			providerList,
			methodBox,
			h("div", { class: "error" }),
		),
		formError,
		submit,
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		update();
		void busy(submit, formError, () => donate(form, p));
	});
	update();
	return form;
}

async function donate(form: HTMLElement, p: Profile) {
	const cur = p.donations.currency;
	const amount = parseMajor(state.amountText, cur);
	showFieldErrors(form, null);
	const local: { field: string; message: string }[] = [];
	if (amount === null || amount <= 0) local.push({ field: "amount", message: t("donate.errAmount") });
	else if (amount < p.donations.minAmount) local.push({ field: "amount", message: t("donate.min", { min: formatMoney(p.donations.minAmount, cur) }) });
	if (!session && !state.donorName.trim()) local.push({ field: "donorName", message: t("donate.errName") });
	if (state.message.length > MAX_MESSAGE) local.push({ field: "message", message: t("donate.errMessage", { max: MAX_MESSAGE }) });
	if (local.length) {
		showFieldErrors(form, new ApiError(422, "VALIDATION_ERROR", "", local));
		throw new Error(t("donate.fixErrors"));
	}
	const body: Record<string, unknown> = { to: p.username, amount, currency: cur, provider: state.provider };
	if (state.message.trim()) body.message = state.message.trim();
	if (state.donorName.trim()) body.donorName = state.donorName.trim();
	if (state.hideName) body.hideName = true;
	if (p.mediaShare.enabled && state.mediaUrl.trim()) body.mediaUrl = state.mediaUrl.trim();
	if (state.provider === "midtrans") {
		body.method = state.method;
		if (state.method === "bank_transfer") body.bank = state.bank;
	}
	// The same body retried (double click, flaky network) reuses its key: one donation, not two.
	const json = JSON.stringify(body);
	if (state.idempotency.body !== json) state.idempotency = { body: json, key: randomId() };
	try {
		state.created = await api<Created>("POST", "/api/donations", body, { auth: "optional", headers: { "Idempotency-Key": state.idempotency.key } });
	} catch (err) {
		if (showFieldErrors(form, err)) throw new Error(t("donate.fixErrors"));
		throw err;
	}
	followAction(state.created);
}

/** Redirect, or show the QR / VA details and wait for the payment. */
function followAction(c: Created) {
	const action = c.payment.action ?? { type: "none" };
	if (action.type === "redirect" && action.url) {
		const target = new URL(action.url, location.href);
		// The sandbox checkout always lives on this server, whatever PUBLIC_URL says.
		if (target.pathname.startsWith("/pay/sandbox/")) return location.assign(target.pathname + target.search);
		if (target.protocol === "https:" || target.protocol === "http:") return location.assign(target.href);
	}
	render();
	void watchPayment(c.payment.id);
}

function nextStepCard(c: Created): HTMLElement {
	const a = c.payment.action ?? { type: "none" };
	const qr = a.type === "qris" ? a.qrString : undefined;
	const va = a.type === "bank_transfer" ? a.vaNumber : undefined;
	return h(
		"section",
		{ class: "card next-step", dataset: { state: "awaiting-payment" } },
		h("h2", null, t("donate.nextStep")),
		h("p", null, t("donate.payAmount", { amount: c.donation.formattedAmount ?? formatMoney(c.donation.amount, c.donation.currency) })),
		qr
			? h(
					"div",
					{ class: "stack" },
					h("p", null, t("donate.qrHint")),
					qrImage(String(qr)),
					h("details", null, h("summary", { class: "small muted" }, t("donate.qrText")), h("pre", { class: "mono break qr-string" }, String(qr))),
					a.qrUrl ? h("a", { href: a.qrUrl, target: "_blank", rel: "noopener noreferrer" }, t("donate.qrImage")) : null,
				)
			: null,
		va
			? h(
					"div",
					{ class: "stack" },
					h("p", null, t("donate.vaHint", { bank: String(a.bank ?? "").toUpperCase() })),
					h("p", { class: "va-number mono" }, String(va)),
				)
			: null,
		a.type === "redirect" && a.url ? h("a", { class: "btn", href: a.url }, t("donate.continue")) : null,
		a.expiresAt
			? h("p", { class: "small muted" }, t("donate.expires", { time: new Date(a.expiresAt).toLocaleTimeString(lang() === "id" ? "id-ID" : "en-US") }))
			: null,
		h("p", { class: "payment-status muted", "aria-live": "polite" }, t("donate.waiting")),
	);
}

function qrImage(text: string): HTMLElement | null {
	try {
		const canvas = qrCanvas(text, 264);
		canvas.className = "qr-code";
		canvas.setAttribute("role", "img");
		canvas.setAttribute("aria-label", t("donate.qrHint"));
		return canvas;
	} catch {
		return null; // too long for a QR code: the text below still works
	}
}

async function watchPayment(id: string) {
	for (let i = 0; i < 400; i++) {
		await new Promise((r) => setTimeout(r, 3000));
		const pay = await api<{ status: string }>("GET", `/api/payments/${encodeURIComponent(id)}`).catch(() => null);
		const el = document.querySelector(".payment-status");
		if (!pay || !el) continue;
		if (pay.status === "paid" || pay.status === "settlement") {
			el.textContent = t("donate.thanks");
			el.className = "payment-status notice ok";
			return;
		}
		if (pay.status !== "pending") {
			el.textContent = t("donate.paymentFailed", { status: pay.status });
			el.className = "payment-status notice bad";
			return;
		}
	}
}

void load();
