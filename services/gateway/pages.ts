import fs from "node:fs";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ServiceBroker } from "moleculer";
import type { ApiRouteSchema } from "moleculer-web";
import { PUBLIC_DIR } from "../../lib/tools/paths";

/**
 * The HTML pages people see (overlay, donation page, checkout, chat widget, dashboard). Each page
 * is a small HTML shell around one bundle built from web/ by scripts/build-public.mjs into
 * public/build (hashed names listed in public/build/manifest.json). The shell carries the page
 * language (?lang → `lang` cookie → Accept-Language → English) and a strict Content-Security-Policy:
 * scripts and styles from this origin only, nothing from the internet except the YouTube player
 * frame on the alert overlay.
 */

type Req = IncomingMessage & { $params?: Record<string, unknown>; query?: Record<string, unknown>; $service?: { broker: ServiceBroker } };

export const LANGS = ["en", "id"] as const;
export type Lang = (typeof LANGS)[number];

interface PageDef {
	/** Bundle name in the manifest (web/pages/<name>.ts). */
	bundle: string;
	title: Record<Lang, string>;
	/** Pages meant to sit inside OBS or an iframe may be framed by anyone; the others by nobody. */
	embeddable: boolean;
	/** Overlays may embed the YouTube player. */
	youtube?: boolean;
	transparent?: boolean;
}

export const PAGES: Record<string, PageDef> = {
	"overlay-alerts": {
		bundle: "overlay-alerts",
		title: { en: "Alerts overlay", id: "Overlay notifikasi" },
		embeddable: true,
		youtube: true,
		transparent: true,
	},
	"overlay-goal": { bundle: "overlay-goal", title: { en: "Goal overlay", id: "Overlay target" }, embeddable: true, transparent: true },
	"overlay-leaderboard": {
		bundle: "overlay-leaderboard",
		title: { en: "Leaderboard overlay", id: "Overlay papan peringkat" },
		embeddable: true,
		transparent: true,
	},
	"overlay-events": { bundle: "overlay-events", title: { en: "Events overlay", id: "Overlay aktivitas" }, embeddable: true, transparent: true },
	donate: { bundle: "donate", title: { en: "Support", id: "Dukung" }, embeddable: false },
	checkout: { bundle: "checkout", title: { en: "Sandbox checkout", id: "Pembayaran sandbox" }, embeddable: false },
	chat: { bundle: "chat", title: { en: "Chat", id: "Obrolan" }, embeddable: true },
	dashboard: { bundle: "dashboard", title: { en: "Dashboard", id: "Dasbor" }, embeddable: false },
	explore: { bundle: "explore", title: { en: "Explore", id: "Jelajahi" }, embeddable: false },
	// Where the account emails' links land (email verification, password reset).
	auth: { bundle: "auth", title: { en: "Account", id: "Akun" }, embeddable: false },
};

/** Picks the page language: explicit ?lang, then the `lang` cookie, then Accept-Language. */
export function negotiateLang(query: unknown, cookieHeader: string | undefined, acceptLanguage: string | undefined): Lang {
	const q = (query as Record<string, unknown> | undefined)?.lang;
	if (typeof q === "string" && (LANGS as readonly string[]).includes(q)) return q as Lang;
	const cookie = /(?:^|;\s*)lang=(en|id)(?:;|$)/.exec(cookieHeader ?? "");
	if (cookie) return cookie[1] as Lang;
	const ranked = (acceptLanguage ?? "")
		.split(",")
		.map((part, i) => {
			const [tag, ...rest] = part.trim().split(";");
			const qv = rest.map((r) => /^\s*q=([\d.]+)/.exec(r)).find(Boolean);
			return { tag: tag.toLowerCase(), q: qv ? Number(qv[1]) : 1, i };
		})
		.filter((x) => x.tag && x.q > 0)
		.sort((a, b) => b.q - a.q || a.i - b.i);
	for (const { tag } of ranked) {
		const base = tag.split("-")[0];
		if (base === "id" || base === "in" || base === "ms") return "id";
		if (base === "en") return "en";
	}
	return "en";
}

const escapeAttr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Manifest {
	[bundle: string]: { js: string; css?: string };
}

let manifestCache: { mtimeMs: number; data: Manifest } | null = null;

/** The build manifest, re-read whenever the build rewrites it (so `npm run build` needs no restart). */
function manifest(): Manifest | null {
	const file = path.join(PUBLIC_DIR, "build", "manifest.json");
	try {
		const stat = fs.statSync(file);
		if (!manifestCache || manifestCache.mtimeMs !== stat.mtimeMs) {
			manifestCache = { mtimeMs: stat.mtimeMs, data: JSON.parse(fs.readFileSync(file, "utf8")) };
		}
		return manifestCache.data;
	} catch {
		return null;
	}
}

function csp(def: PageDef, host: string | undefined): string {
	const sockets = host && /^[\w.:[\]-]+$/.test(host) ? ` ws://${host} wss://${host}` : "";
	return [
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self' data:",
		`connect-src 'self'${sockets}`,
		def.youtube ? "frame-src https://www.youtube-nocookie.com https://www.youtube.com" : "frame-src 'none'",
		"media-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		`frame-ancestors ${def.embeddable ? "*" : "'none'"}`,
	].join("; ");
}

export interface ShellOptions {
	lang: Lang;
	/** Extra data-* attributes for <body> (already validated strings). */
	data?: Record<string, string>;
}

/** The HTML shell of one page. All values are escaped; the page's script does the rest. */
export function renderShell(name: string, opts: ShellOptions): string | null {
	const def = PAGES[name];
	const m = manifest();
	const entry = m?.[def.bundle];
	if (!def || !entry) return null;
	const data = Object.entries({ page: name, ...(opts.data ?? {}) })
		.map(([k, v]) => ` data-${k.replace(/[^a-z-]/g, "")}="${escapeAttr(v)}"`)
		.join("");
	return [
		"<!doctype html>",
		`<html lang="${opts.lang}"${def.transparent ? ' class="transparent"' : ""}>`,
		"<head>",
		'<meta charset="utf-8">',
		'<meta name="viewport" content="width=device-width, initial-scale=1">',
		'<meta name="referrer" content="strict-origin-when-cross-origin">',
		`<title>${escapeAttr(def.title[opts.lang])} · MediaShar</title>`,
		entry.css ? `<link rel="stylesheet" href="${escapeAttr(entry.css)}">` : "",
		`<script src="${escapeAttr(entry.js)}" defer></script>`,
		"</head>",
		`<body${data}>`,
		`<main id="app" aria-live="polite"></main>`,
		`<noscript>${opts.lang === "id" ? "Halaman ini memerlukan JavaScript." : "This page needs JavaScript."}</noscript>`,
		"</body>",
		"</html>",
	].join("\n");
}

function send(req: Req, res: ServerResponse, name: string, status: number, body: string) {
	const def = PAGES[name];
	res.setHeader("Content-Type", "text/html; charset=utf-8");
	res.setHeader("Cache-Control", "no-store");
	res.setHeader("Content-Security-Policy", csp(def, req.headers.host));
	res.setHeader("X-Content-Type-Options", "nosniff");
	// Overlay URLs carry a secret token: never send the path or query to another site.
	res.setHeader("Referrer-Policy", "strict-origin-when-cross-origin");
	res.setHeader("Vary", "Accept-Language, Cookie");
	if (!def.embeddable) res.setHeader("X-Frame-Options", "DENY");
	res.writeHead(status);
	res.end(req.method === "HEAD" ? undefined : body);
}

function notBuilt(res: ServerResponse) {
	res.setHeader("Content-Type", "application/json; charset=utf-8");
	res.setHeader("Retry-After", "5");
	res.writeHead(503);
	res.end(
		JSON.stringify({ name: "ServiceUnavailableError", message: "The pages are not built yet; run `npm run build`", code: 503, type: "PAGES_NOT_BUILT" }),
	);
}

/** An alias handler that answers one page. `resolve` may add data-* values or refuse with 404. */
function pageHandler(name: string, resolve?: (req: Req) => Promise<Record<string, string> | null>) {
	return function (this: { broker: ServiceBroker }, req: Req, res: ServerResponse, next: (err?: unknown) => void) {
		answer.call(this, req, res).catch(next);
	};
	async function answer(this: { broker: ServiceBroker }, req: Req, res: ServerResponse) {
		const lang = negotiateLang(req.query, req.headers.cookie, req.headers["accept-language"]);
		let data: Record<string, string> | null = {};
		let status = 200;
		if (resolve) {
			data = await resolve.call(this, req).catch(() => null);
			if (data === null) {
				status = 404;
				data = { missing: "1" };
			}
		}
		const html = renderShell(name, { lang, data });
		if (!html) return notBuilt(res);
		send(req, res, name, status, html);
	}
}

/** Goal and leaderboard overlays accept ?username= or the overlay ?token= (resolved here). */
async function overlayOwner(this: { broker: ServiceBroker }, req: Req): Promise<Record<string, string> | null> {
	const q = req.query ?? {};
	if (typeof q.username === "string" && /^[A-Za-z0-9_]{3,25}$/.test(q.username)) return { username: q.username.toLowerCase() };
	if (typeof q.token === "string" && q.token.length > 0 && q.token.length <= 200) {
		const owner = (await this.broker.call("users.resolveOverlayToken", { token: q.token })) as { user: { username: string } } | null;
		if (owner) return { username: owner.user.username };
	}
	return null;
}

/** Payment providers this deployment can take, as the payments service reports them. */
async function providersOffered(this: { broker: ServiceBroker }): Promise<Record<string, string>> {
	// If payments cannot answer, the page still renders and the server refuses what is not enabled.
	const res = (await this.broker.call("payments.providers").catch(() => ({ providers: [] }))) as { providers: string[] };
	// Real providers first; the sandbox (a test tool) last.
	const ordered = [...res.providers.filter((p) => p !== "sandbox"), ...res.providers.filter((p) => p === "sandbox")];
	return { providers: ordered.join(",") };
}

/** moleculer-web routes serving every page; they sit beside /api and the static assets. */
export function pageRoutes(): ApiRouteSchema[] {
	const base = { mappingPolicy: "restrict", authentication: false, authorization: false, bodyParsers: { json: false, urlencoded: false } } as const;
	return [
		{
			...base,
			path: "/overlay",
			aliases: {
				"GET /alerts": pageHandler("overlay-alerts"),
				"GET /goal": pageHandler("overlay-goal", overlayOwner),
				"GET /leaderboard": pageHandler("overlay-leaderboard", overlayOwner),
				"GET /events": pageHandler("overlay-events"),
			},
		},
		{ ...base, path: "/u", aliases: { "GET /:username": pageHandler("donate", providersOffered) } },
		{ ...base, path: "/pay/sandbox", aliases: { "GET /:id": pageHandler("checkout") } },
		// Where real providers (PayPal) send the payer back: the same page shows the outcome.
		{ ...base, path: "/pay/result", aliases: { "GET /:id": pageHandler("checkout") } },
		{ ...base, path: "/chat", aliases: { "GET /:username": pageHandler("chat") } },
		{ ...base, path: "/dashboard", aliases: { "GET /": pageHandler("dashboard") } },
		{ ...base, path: "/auth", aliases: { "GET /verify": pageHandler("auth"), "GET /reset": pageHandler("auth") } },
		{ ...base, path: "/explore", aliases: { "GET /": pageHandler("explore") } },
	];
}
