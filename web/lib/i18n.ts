import { STRINGS, type Key } from "./strings";
import { h } from "./dom";

/**
 * English and Indonesian. The gateway picks the language from ?lang, the `lang` cookie or
 * Accept-Language and writes it into <html lang>; the switcher stores a choice in the cookie.
 */
export type Lang = "en" | "id";

export function lang(): Lang {
	return document.documentElement.lang === "id" ? "id" : "en";
}

/** Locale for dates and numbers on the page. */
export function locale(): string {
	return lang() === "id" ? "id-ID" : "en-US";
}

export function t(key: Key, vars: Record<string, string | number> = {}): string {
	const s = STRINGS[lang()][key] ?? STRINGS.en[key] ?? key;
	return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function setLang(next: Lang) {
	document.cookie = `lang=${next}; path=/; max-age=${365 * 24 * 3600}; samesite=lax`;
	document.documentElement.lang = next;
}

/** EN | ID toggle; `onChange` re-renders the page in the new language. */
export function langSwitch(onChange: () => void): HTMLElement {
	const make = (code: Lang, label: string) =>
		h(
			"button",
			{
				type: "button",
				class: `lang-btn${lang() === code ? " active" : ""}`,
				"aria-pressed": String(lang() === code),
				dataset: { lang: code },
				onclick: () => {
					if (lang() === code) return;
					setLang(code);
					onChange();
				},
			},
			label,
		);
	return h("div", { class: "lang-switch", role: "group", "aria-label": "Language" }, make("id", "ID"), make("en", "EN"));
}
