/**
 * A tiny DOM builder. Text always goes through text nodes (never innerHTML), so user-supplied
 * names and messages can never become markup.
 */
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown> & { class?: string; style?: Partial<CSSStyleDeclaration> | string; dataset?: Record<string, string> };

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs ?? {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === "class") el.className = String(v);
		else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
		else if (k === "dataset") Object.assign(el.dataset, v as Record<string, string>);
		else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
		else if (k === "value" && "value" in el) (el as HTMLInputElement).value = String(v);
		else if (k === "checked" && "checked" in el) (el as HTMLInputElement).checked = Boolean(v);
		else if (v === true) el.setAttribute(k, "");
		else el.setAttribute(k, String(v));
	}
	append(el, children);
	return el;
}

export function append(el: Node, children: Child[]) {
	for (const c of children) {
		if (c === null || c === undefined || c === false) continue;
		if (Array.isArray(c)) append(el, c);
		else el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
	}
}

/** Replaces an element's content. */
export function mount(el: Element, ...children: Child[]) {
	el.replaceChildren();
	append(el, children);
}

export const $ = <T extends Element = HTMLElement>(sel: string, root: ParentNode = document) => root.querySelector(sel) as T | null;

export function app(): HTMLElement {
	return document.getElementById("app") as HTMLElement;
}

/** Query-string value or null. */
export function query(name: string): string | null {
	return new URLSearchParams(location.search).get(name);
}

/** The n-th path segment of the current URL ("/u/alice" → segment(1) === "alice"). */
export function segment(n: number): string {
	return decodeURIComponent(location.pathname.split("/").filter(Boolean)[n] ?? "");
}

/**
 * The person's avatar: their picture when it is one of the media library's files (same origin,
 * `/media/…`), else initials (pages load nothing from the internet). A picture that no longer
 * loads (deleted) falls back to the initials.
 */
export function avatar(name: string, size = 48, url?: string | null): HTMLElement {
	const initials = initialsAvatar(name, size);
	if (!url || !url.startsWith("/media/")) return initials;
	const img = h("img", {
		class: "avatar",
		src: url,
		alt: "",
		width: String(size),
		height: String(size),
		style: { width: `${size}px`, height: `${size}px`, objectFit: "cover" },
	});
	img.addEventListener("error", () => img.replaceWith(initials));
	return img;
}

function initialsAvatar(name: string, size: number): HTMLElement {
	const letters =
		name
			.trim()
			.split(/\s+/)
			.map((w) => w[0] ?? "")
			.join("")
			.slice(0, 2)
			.toUpperCase() || "?";
	return h(
		"span",
		{
			class: "avatar",
			"aria-hidden": "true",
			style: { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px`, background: colorFor(name) },
		},
		letters,
	);
}

/** A stable pleasant color per name (chat names, avatars). */
export function colorFor(name: string): string {
	let hash = 0;
	for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
	return `hsl(${Math.abs(hash) % 360} 65% 45%)`;
}

export async function copyText(text: string): Promise<boolean> {
	try {
		await navigator.clipboard.writeText(text);
		return true;
	} catch {
		const ta = h("textarea", { style: { position: "fixed", opacity: "0" } });
		ta.value = text;
		document.body.appendChild(ta);
		ta.select();
		const ok = document.execCommand("copy");
		ta.remove();
		return ok;
	}
}

/** A random id for Idempotency-Key and chat nonces. */
export function randomId(): string {
	if (crypto.randomUUID) return crypto.randomUUID();
	return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function timeAgo(iso: string, lang: string): string {
	const sec = Math.round((Date.parse(iso) - Date.now()) / 1000);
	const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
	const abs = Math.abs(sec);
	if (abs < 60) return rtf.format(sec, "second");
	if (abs < 3600) return rtf.format(Math.round(sec / 60), "minute");
	if (abs < 86400) return rtf.format(Math.round(sec / 3600), "hour");
	return rtf.format(Math.round(sec / 86400), "day");
}
