import { h } from "./dom";
import { langSwitch } from "./i18n";

/** The top bar shared by the app pages: brand, optional extra items, language switch. */
export function topbar(onLang: () => void, ...extra: (Node | null)[]): HTMLElement {
	return h(
		"header",
		{ class: "topbar" },
		h("a", { class: "brand", href: "/dashboard" }, "MediaShar"),
		h("div", { class: "row" }, ...extra, langSwitch(onLang)),
	);
}
