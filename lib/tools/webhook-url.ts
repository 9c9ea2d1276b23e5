import { isIP, type LookupFunction } from "node:net";
import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";

/**
 * Where outgoing webhooks may go. Only http(s) URLs are accepted. With
 * WEBHOOK_BLOCK_PRIVATE=true operators also refuse every address that is not global unicast:
 * loopback, private, link-local, unique-local, carrier-grade NAT, multicast, documentation and
 * other special ranges (ipaddr.js's tables). IPv6 forms that carry an IPv4 address are unwrapped
 * first (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, SIIT `::ffff:0:a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`), so `[::ffff:127.0.0.1]` is loopback; the local-use NAT64
 * prefix `64:ff9b:1::/48` and Teredo `2001::/32` are refused outright. Literal addresses are
 * checked on save; names are checked when they are resolved for each delivery, and the connection
 * goes to the address that was checked (see `guardedLookup`).
 */
export function isPrivateAddress(ip: string): boolean {
	if (!ipaddr.isValid(ip)) return true;
	const addr = ipaddr.parse(ip);
	if (addr.kind() === "ipv4") return (addr as ipaddr.IPv4).range() !== "unicast";
	const v6 = addr as ipaddr.IPv6;
	const embedded = embeddedIPv4(v6);
	if (embedded) return embedded.range() !== "unicast";
	const range = v6.range();
	if (range !== "unicast") return true;
	// Only 2000::/3 is assigned as global unicast; the rest is reserved or unassigned.
	return !v6.match(ipaddr.IPv6.parse("2000::"), 3);
}

/** The IPv4 address an IPv6 form stands for, when it is one of the translation/tunnel forms. */
function embeddedIPv4(v6: ipaddr.IPv6): ipaddr.IPv4 | null {
	const p = v6.parts;
	const low = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
	const zero = (from: number, to: number) => p.slice(from, to).every((x) => x === 0);
	if (zero(0, 5) && p[5] === 0xffff) return low(p[6], p[7]); // ::ffff:a.b.c.d (mapped)
	if (zero(0, 4) && p[4] === 0xffff && p[5] === 0) return low(p[6], p[7]); // ::ffff:0:a.b.c.d (SIIT)
	if (zero(0, 6)) return low(p[6], p[7]); // ::a.b.c.d (compatible; :: and ::1 land in 0.0.0.0/8)
	if (p[0] === 0x64 && p[1] === 0xff9b && zero(2, 6)) return low(p[6], p[7]); // NAT64 well-known prefix
	if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 0x1) return new ipaddr.IPv4([0, 0, 0, 0]); // local-use NAT64: refuse
	if (p[0] === 0x2002) return low(p[1], p[2]); // 6to4
	if (p[0] === 0x2001 && p[1] === 0) return new ipaddr.IPv4([0, 0, 0, 0]); // Teredo: refuse
	return null;
}

function isLocalName(host: string): boolean {
	const h = host.toLowerCase().replace(/\.+$/, "");
	return h === "localhost" || h.endsWith(".localhost") || h === "localhost.localdomain";
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
	if (blockPrivate && (isLocalName(host) || (isIP(host) && isPrivateAddress(host))))
		return { ok: false, reason: "url must not point at a private or loopback address" };
	return { ok: true, url };
}

export interface ResolvedAddress {
	address: string;
	family: number;
}
/** Name → addresses; the default is the system resolver, tests pass their own. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

export class PrivateTargetError extends Error {}

/**
 * A `lookup` for http(s).request that resolves the name once, refuses it when any answer is a
 * private address (so a DNS name that changed since the URL was saved cannot reach the
 * internal network), and hands exactly the checked addresses to the socket: the connection is
 * pinned to what was checked, there is no second resolution.
 */
export function guardedLookup(resolve: Resolver, blockPrivate: boolean): LookupFunction {
	return (hostname, options, callback) => {
		const cb = callback as (err: NodeJS.ErrnoException | null, address: string | ResolvedAddress[], family?: number) => void;
		resolve(hostname)
			.then((found) => {
				const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
				const addrs = found.filter((a) => isIP(a.address) && (!wanted || a.family === wanted));
				if (!addrs.length) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
				const bad = blockPrivate ? addrs.find((a) => isPrivateAddress(a.address)) : undefined;
				if (bad) throw new PrivateTargetError(`${hostname} resolves to a private address (${bad.address})`);
				if (options.all) cb(null, addrs);
				else cb(null, addrs[0].address, addrs[0].family);
			})
			.catch((err: NodeJS.ErrnoException) => cb(err, ""));
	};
}
