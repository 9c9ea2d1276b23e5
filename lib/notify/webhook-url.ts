import { isIP } from "node:net";
import { lookup } from "node:dns/promises";

/**
 * Where outgoing webhooks may go. Only http(s) URLs are accepted. With
 * WEBHOOK_BLOCK_PRIVATE=true operators also refuse loopback, private, link-local and
 * unique-local addresses (checked on save for literal IPs and on every delivery after DNS).
 */
export function isPrivateAddress(ip: string): boolean {
	if (isIP(ip) === 4) {
		const [a, b] = ip.split(".").map(Number);
		return a === 10 || a === 127 || a === 0 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
	}
	if (isIP(ip) === 6) {
		const x = ip.toLowerCase();
		if (x === "::1" || x === "::") return true;
		if (x.startsWith("::ffff:")) return isPrivateAddress(x.slice(7));
		return x.startsWith("fc") || x.startsWith("fd") || x.startsWith("fe80");
	}
	return false;
}

export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

export function checkWebhookUrl(raw: string, blockPrivate: boolean): UrlVerdict {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		return { ok: false, reason: "url must be an absolute http(s) URL" };
	}
	if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: "url must use http or https" };
	if (url.username || url.password) return { ok: false, reason: "url must not carry credentials" };
	const host = url.hostname.replace(/^\[|\]$/g, "");
	if (blockPrivate && (host === "localhost" || isPrivateAddress(host))) return { ok: false, reason: "url must not point at a private or loopback address" };
	return { ok: true, url };
}

/** Delivery-time check (DNS may point a public name at a private address). */
export async function resolvesToPrivate(url: URL): Promise<boolean> {
	const host = url.hostname.replace(/^\[|\]$/g, "");
	if (isIP(host)) return isPrivateAddress(host);
	try {
		const addrs = await lookup(host, { all: true });
		return addrs.some((a) => isPrivateAddress(a.address));
	} catch {
		return false;
	}
}
