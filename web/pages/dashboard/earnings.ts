import { api } from "../../lib/api";
import { h, mount } from "../../lib/dom";
import { lang, t } from "../../lib/i18n";
import { errorText } from "../../lib/ui";

/**
 * The overview's earnings chart: income per day over the last 30 or 90 days (`GET
 * /api/me/earnings`, from the daily aggregates) as bars, the paid payouts of the window marked on
 * their day. Drawn as inline SVG here (no chart library, no third-party script); every bar
 * carries its day and amount (`data-day`, `data-amount`, and a <title> for the tooltip), every
 * payout mark its day and amount, so what the chart shows can be read back.
 */

interface EarningsDay {
	day: string;
	amount: number;
	count: number;
	formattedAmount: string;
}
interface Series {
	currency: string;
	total: number;
	formattedTotal: string;
	days: EarningsDay[];
}
interface PayoutMark {
	id: string;
	day: string;
	amount: number;
	currency: string;
	formattedAmount: string;
}
interface Earnings {
	days: number;
	from: string;
	to: string;
	series: Series[];
	payouts: PayoutMark[];
}

const SVG_NS = "http://www.w3.org/2000/svg";
const W = 600;
const H = 160;
const PAD = 4;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]) {
	const el = document.createElementNS(SVG_NS, tag);
	for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
	for (const c of children) el.append(c);
	return el;
}

const dayLabel = (day: string) =>
	new Intl.DateTimeFormat(lang() === "id" ? "id-ID" : "en-GB", { day: "numeric", month: "short", timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`));

/** The bars of one currency and the payout marks in it, scaled to the larger of the two. */
export function earningsSvg(s: Series, payouts: PayoutMark[]): SVGSVGElement {
	const marks = payouts.filter((p) => p.currency === s.currency);
	const max = Math.max(1, ...s.days.map((d) => d.amount), ...marks.map((p) => p.amount));
	const slot = (W - 2 * PAD) / s.days.length;
	const bar = Math.max(1, slot * 0.8);
	const x = (i: number) => PAD + i * slot + (slot - bar) / 2;
	const height = (amount: number) => (Math.max(0, amount) / max) * (H - 2 * PAD);
	const index = new Map(s.days.map((d, i) => [d.day, i]));
	return svg(
		"svg",
		{
			class: "earnings-svg",
			viewBox: `0 0 ${W} ${H}`,
			role: "img",
			"aria-label": t("earn.chartLabel", { currency: s.currency }),
			"data-currency": s.currency,
		},
		svg("line", { class: "earnings-axis", x1: 0, y1: H - PAD, x2: W, y2: H - PAD }),
		...s.days.map((d, i) => {
			const bh = height(d.amount);
			return svg(
				"rect",
				{ class: "earnings-bar", x: x(i), y: H - PAD - bh, width: bar, height: bh, "data-day": d.day, "data-amount": d.amount, "data-count": d.count },
				svg("title", {}, `${dayLabel(d.day)}: ${d.formattedAmount}`),
			);
		}),
		...marks.map((p) => {
			const i = index.get(p.day) ?? 0;
			const cx = x(i) + bar / 2;
			return svg(
				"g",
				{ class: "earnings-payout", "data-day": p.day, "data-amount": p.amount, "data-payout": p.id },
				svg("line", { x1: cx, y1: PAD, x2: cx, y2: H - PAD }),
				svg("circle", { cx, cy: H - PAD - height(p.amount), r: 4 }),
				svg("title", {}, t("earn.payoutMark", { day: dayLabel(p.day), amount: p.formattedAmount })),
			);
		}),
	);
}

/** The overview card: the chart with its 30 / 90 day switch. */
export function earningsCard(): HTMLElement {
	const body = h("div", { class: "earnings-body" }, h("p", { class: "muted" }, t("common.loading")));
	const buttons = [30, 90].map((n) =>
		h("button", { type: "button", class: "small ghost", dataset: { days: String(n) }, onclick: () => void load(n) }, t("earn.days", { n })),
	);
	async function load(days: number) {
		for (const b of buttons) b.classList.toggle("active", b.dataset.days === String(days));
		try {
			const e = await api<Earnings>("GET", `/api/me/earnings?days=${days}`, undefined, { auth: "required" });
			mount(
				body,
				e.series.length === 0
					? h("p", { class: "muted" }, t("earn.none"))
					: e.series.map((s) =>
							h(
								"div",
								{ class: "earnings-series", dataset: { currency: s.currency, total: String(s.total) } },
								h("p", { class: "small" }, t("earn.total", { days: e.days, total: s.formattedTotal })),
								earningsSvg(s, e.payouts),
								h(
									"p",
									{ class: "small muted" },
									`${dayLabel(e.from)} – ${dayLabel(e.to)}`,
									e.payouts.some((p) => p.currency === s.currency) ? ` · ${t("earn.legend")}` : "",
								),
							),
						),
			);
			body.dataset.days = String(e.days);
		} catch (err) {
			mount(body, h("p", { class: "notice bad" }, errorText(err)));
		}
	}
	void load(30);
	return h("section", { class: "card earnings" }, h("div", { class: "spread" }, h("h2", null, t("earn.title")), h("div", { class: "row" }, buttons)), body);
}
