import { api } from "../lib/api";
import { app, avatar, h, mount } from "../lib/dom";
import { t } from "../lib/i18n";
import { topbar } from "../lib/layout";
import { searchBox, type CreatorHit } from "../lib/discovery";
import { errorText } from "../lib/ui";
import "../styles/base.css";
import "../styles/discovery.css";

/** /explore: the creators who received the most support in the last 7 days, and creator search. */

interface ExploreItem extends CreatorHit {
	support: { days: number; donations: number; totals: { currency: string; amount: number; formattedAmount: string }[] };
}

const root = app();
const search = searchBox();
let items: ExploreItem[] | null = null;
let loadError: unknown = null;

async function load() {
	try {
		items = (await api<{ items: ExploreItem[] }>("GET", "/api/explore")).items;
	} catch (err) {
		loadError = err;
	}
	render();
}

function card(c: ExploreItem): HTMLElement {
	return h(
		"li",
		{ class: "card explore-card", dataset: { username: c.username } },
		h(
			"a",
			{ href: `/u/${encodeURIComponent(c.username)}` },
			h(
				"div",
				{ class: "row" },
				avatar(c.displayName, 48),
				h("div", { class: "break" }, h("strong", null, c.displayName), h("div", { class: "muted" }, `@${c.username}`)),
			),
			c.bio ? h("p", { class: "small muted break" }, c.bio) : null,
			h(
				"div",
				{ class: "support" },
				t("disc.supportCount", { n: c.support.donations }),
				c.support.totals.length ? ` · ${c.support.totals.map((x) => x.formattedAmount).join(" + ")}` : "",
			),
		),
	);
}

function render() {
	document.title = `${t("disc.exploreTitle")} · MediaShar`;
	mount(
		root,
		topbar(render, search),
		h(
			"section",
			{ class: "explore", dataset: { state: items ? "ready" : loadError ? "error" : "loading" } },
			h("h1", null, t("disc.exploreTitle")),
			h("p", { class: "muted" }, t("disc.exploreHint")),
			loadError
				? h("p", { class: "notice warn" }, errorText(loadError))
				: !items
					? h("p", { class: "muted" }, t("common.loading"))
					: items.length === 0
						? h("p", { class: "muted explore-empty" }, t("disc.exploreEmpty"))
						: h("ol", { class: "explore-list" }, items.map(card)),
		),
	);
}

render();
void load();
