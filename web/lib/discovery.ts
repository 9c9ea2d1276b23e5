import { api } from "./api";
import { avatar, h, mount } from "./dom";
import { t } from "./i18n";
import { platformName } from "../../lib/domain/accounts/profile-links";

/**
 * Creator search in a page header, and a profile's links and linked platforms. Results are
 * links to the donation page; the linked platforms are shown by name as plain links (no icons,
 * scripts or images from the platforms: the pages load nothing from outside).
 */

export interface CreatorHit {
	username: string;
	displayName: string;
	bio: string;
	avatarUrl: string | null;
	followerCount: number;
}

const DEBOUNCE_MS = 150;

/**
 * The search box: suggestions as you type (debounced), Enter opens the first one. Made once per
 * page and passed to every render of the top bar, so typing survives re-renders.
 */
export function searchBox(): HTMLElement {
	const list = h("ul", { class: "search-results", role: "listbox", id: "creator-search-results", hidden: true });
	const input = h("input", {
		type: "search",
		name: "q",
		class: "search-input",
		autocomplete: "off",
		maxlength: "100",
		"aria-controls": "creator-search-results",
		"aria-label": t("disc.searchLabel"),
		placeholder: t("disc.searchPlaceholder"),
	});
	let hits: CreatorHit[] = [];
	let timer: ReturnType<typeof setTimeout> | null = null;
	let seq = 0;
	const show = (items: CreatorHit[], q: string) => {
		hits = items;
		list.hidden = false;
		mount(
			list,
			items.length === 0
				? h("li", { class: "muted search-empty" }, t("disc.noResults", { q }))
				: items.map((c) =>
						h(
							"li",
							{ role: "option" },
							h(
								"a",
								{ class: "search-hit", href: `/u/${encodeURIComponent(c.username)}` },
								avatar(c.displayName, 28),
								h("span", { class: "break" }, h("strong", null, c.displayName), " ", h("span", { class: "muted" }, `@${c.username}`)),
							),
						),
					),
		);
	};
	const run = async () => {
		const q = input.value.trim();
		const mine = ++seq;
		if (!q) {
			list.hidden = true;
			hits = [];
			return;
		}
		try {
			const res = await api<{ items: CreatorHit[] }>("GET", `/api/search/creators?q=${encodeURIComponent(q)}&limit=8`);
			if (mine === seq) show(res.items, q);
		} catch {
			if (mine === seq) show([], q);
		}
	};
	input.addEventListener("input", () => {
		if (timer) clearTimeout(timer);
		timer = setTimeout(() => void run(), DEBOUNCE_MS);
	});
	input.addEventListener("keydown", (e) => {
		if (e.key === "Escape") list.hidden = true;
	});
	const form = h(
		"form",
		{
			class: "creator-search",
			role: "search",
			onsubmit: (e: Event) => {
				e.preventDefault();
				if (hits[0]) location.assign(`/u/${encodeURIComponent(hits[0].username)}`);
				else void run();
			},
		},
		input,
		list,
	);
	return form;
}

/** A link to the explore page for the top bar. */
export function exploreLink(): HTMLElement {
	return h("a", { class: "small explore-link", href: "/explore" }, t("disc.explore"));
}

export interface ProfileLinks {
	links?: { label: string; url: string }[];
	platforms?: { platform: string; handle: string; url: string }[];
}

/** The profile's linked platforms ("Twitch · alice") and links, or null when there are none. */
export function profileLinks(p: ProfileLinks): HTMLElement | null {
	const platforms = p.platforms ?? [];
	const links = p.links ?? [];
	if (platforms.length === 0 && links.length === 0) return null;
	const a = (href: string, ...children: (string | HTMLElement)[]) =>
		h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow ugc", class: "break" }, ...children);
	return h(
		"div",
		{ class: "profile-links" },
		platforms.length
			? h(
					"ul",
					{ class: "platforms", "aria-label": t("disc.platforms") },
					platforms.map((x) =>
						h("li", { dataset: { platform: x.platform } }, a(x.url, h("strong", null, platformName(x.platform)), ` · ${x.handle}`)),
					),
				)
			: null,
		links.length
			? h(
					"ul",
					{ class: "links", "aria-label": t("disc.links") },
					links.map((l) => h("li", null, a(l.url, l.label))),
				)
			: null,
	);
}
