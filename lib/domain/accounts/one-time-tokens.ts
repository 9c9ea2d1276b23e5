import { createHash, randomBytes } from "node:crypto";

/**
 * One-time tokens sent by email (verify an address, reset a password). The token is 32 random
 * bytes (base64url, 43 characters) and only its SHA-256 is stored, so a copy of the database
 * opens nothing; a token works once and until it expires. Node-only (web/ never imports this).
 */

/** verify / reset: emailed links; challenge: the second step of a sign-in; recovery: two-factor recovery codes. */
export type OneTimeKind = "verify" | "reset" | "challenge" | "recovery";

export interface OneTimeToken {
	/** What the email carries. */
	token: string;
	/** What is stored (hex SHA-256 of the token). */
	hash: string;
}

/** The stored half of a token as the rules below read it. */
export interface OneTimeRecord {
	kind: OneTimeKind;
	expiresAt: number;
	usedAt: number | null;
}

export function hashOneTimeToken(token: string): string {
	return createHash("sha256").update(token).digest("hex");
}

export function newOneTimeToken(): OneTimeToken {
	const token = randomBytes(32).toString("base64url");
	return { token, hash: hashOneTimeToken(token) };
}

/** A token as a client may send it: 43 base64url characters; anything else is never looked up. */
export function looksLikeOneTimeToken(token: string): boolean {
	return /^[A-Za-z0-9_-]{43}$/.test(token);
}

/** Whether a stored token may be used now for `kind`. */
export function usable(rec: OneTimeRecord | null | undefined, kind: OneTimeKind, now: number): boolean {
	return !!rec && rec.kind === kind && rec.usedAt === null && rec.expiresAt > now;
}

/** The link an email carries: `PUBLIC_URL` + page, the token as `token=<token>` in the query. */
export function oneTimeLink(publicUrl: string, page: string, token: string, lang?: string): string {
	const url = new URL(page, `${publicUrl.replace(/\/+$/, "")}/`);
	url.searchParams.set("token", token);
	if (lang) url.searchParams.set("lang", lang);
	return `${publicUrl.replace(/\/+$/, "")}${url.pathname}${url.search}`;
}
