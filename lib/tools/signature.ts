import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Timestamped HMAC signatures in Stripe's `t=<unix seconds>,v1=<hex>` layout, where v1 is
 * HMAC-SHA256 over `${t}.${rawBody}`. Used to verify Stripe and sandbox webhooks and to sign the
 * webhooks MediaShar itself sends to integrators. Only `v1` entries count (Stripe's legacy `v0`
 * is ignored), several `v1` entries are allowed (secret rotation), comparison is constant-time,
 * and the timestamp must be within the tolerance so a captured request cannot be replayed later.
 */

export const DEFAULT_TOLERANCE_SEC = 300;

export type SignatureFailure = "missing_header" | "malformed_header" | "no_v1_signature" | "timestamp_out_of_tolerance" | "signature_mismatch";

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: SignatureFailure };

export interface VerifyOptions {
	/** Largest accepted distance between the header's timestamp and now, in seconds (default 300). */
	toleranceSec?: number;
	/** Current time in unix seconds (default: the clock). */
	now?: number;
}

const nowSec = () => Math.floor(Date.now() / 1000);

function hmacHex(secret: string, t: number | string, body: string): string {
	return createHmac("sha256", secret).update(`${t}.${body}`, "utf8").digest("hex");
}

/** The header value for `body`: `t=<t>,v1=<hex>`. */
export function sign(body: string, secret: string, t: number = nowSec()): string {
	return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/** Constant-time equality of two hex strings (false for different lengths). */
export function safeEqualHex(a: string, b: string): boolean {
	const x = Buffer.from(a, "utf8");
	const y = Buffer.from(b, "utf8");
	if (x.length !== y.length) return false;
	return timingSafeEqual(x, y);
}

interface ParsedHeader {
	t: number;
	v1: string[];
}

function parseHeader(header: string): ParsedHeader | null {
	let t: number | null = null;
	const v1: string[] = [];
	for (const part of header.split(",")) {
		const eq = part.indexOf("=");
		if (eq <= 0) return null;
		const key = part.slice(0, eq).trim();
		const value = part.slice(eq + 1).trim();
		if (key === "t") {
			if (!/^\d{1,12}$/.test(value)) return null;
			t = Number(value);
		} else if (key === "v1") {
			if (/^[0-9a-fA-F]{64}$/.test(value)) v1.push(value.toLowerCase());
		}
	}
	if (t === null) return null;
	return { t, v1 };
}

/** Checks a `t=..,v1=..` header against the raw body; says why when it does not hold. */
export function verify(header: string | string[] | undefined | null, body: string, secret: string, opts: VerifyOptions = {}): SignatureCheck {
	const value = Array.isArray(header) ? header[0] : header;
	if (typeof value !== "string" || value.trim() === "") return { ok: false, reason: "missing_header" };
	const parsed = parseHeader(value);
	if (!parsed) return { ok: false, reason: "malformed_header" };
	if (parsed.v1.length === 0) return { ok: false, reason: "no_v1_signature" };
	const tolerance = opts.toleranceSec ?? DEFAULT_TOLERANCE_SEC;
	const now = opts.now ?? nowSec();
	if (tolerance > 0 && Math.abs(now - parsed.t) > tolerance) return { ok: false, reason: "timestamp_out_of_tolerance" };
	const expected = hmacHex(secret, parsed.t, body);
	// Compare against every v1 without stopping early, so timing says nothing about which matched.
	let matched = false;
	for (const candidate of parsed.v1) matched = safeEqualHex(candidate, expected) || matched;
	return matched ? { ok: true, timestamp: parsed.t } : { ok: false, reason: "signature_mismatch" };
}
