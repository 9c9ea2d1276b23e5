import { createHash, randomBytes } from "node:crypto";

/**
 * Personal access tokens for bots and tools (Streamer.bot, SAMMI, Discord bots): `msp_` followed
 * by 32 random bytes (base64url). Only the SHA-256 is stored and the token is shown once, when it
 * is created. A token carries scopes; an action opens to a token only when it declares one of
 * the token's scopes in its `scopes` metadata (middlewares/permissions.ts), so an action that
 * declares none (tokens, passwords, two-factor, sessions, payouts, the payout account, anything
 * that moves money) never accepts one. Node-only (web/ never imports this).
 */

export const PERSONAL_TOKEN_PREFIX = "msp_";

/** Every scope a token may carry, and what it opens. */
export const SCOPES = {
	"profile:read": "read the account's profile (GET /api/auth/me without secrets, public profiles)",
	"donations:read": "read the donations the channel received",
	"alerts:write": "control the alert queue (test, skip, replay, pause, resume, queue state)",
	"chat:write": "join the channel chats and send messages over Socket.IO",
	"events:read": "receive the channel's events on the Socket.IO namespace /events",
} as const;

export type Scope = keyof typeof SCOPES;
export const SCOPE_NAMES = Object.keys(SCOPES) as Scope[];

export function isScope(value: unknown): value is Scope {
	return typeof value === "string" && Object.hasOwn(SCOPES, value);
}

/** A token as a client may send it; anything else is never looked up. */
export function looksLikePersonalToken(token: string): boolean {
	return /^msp_[A-Za-z0-9_-]{43}$/.test(token);
}

export function hashPersonalToken(token: string): string {
	return createHash("sha256").update(token).digest("hex");
}

export function newPersonalToken(): { token: string; hash: string } {
	const token = PERSONAL_TOKEN_PREFIX + randomBytes(32).toString("base64url");
	return { token, hash: hashPersonalToken(token) };
}

/**
 * Whether a caller may use an action: a signed-in user (no `tokenScopes`) always may, as far as
 * scopes go; a personal token only when the action declares one of the token's scopes.
 */
export function scopeAllows(tokenScopes: readonly string[] | undefined, actionScopes: readonly string[] | undefined): boolean {
	if (tokenScopes === undefined) return true;
	if (!actionScopes || actionScopes.length === 0) return false;
	return actionScopes.some((s) => tokenScopes.includes(s));
}

/** Whether a stored token may be used now. */
export function tokenLive(doc: { revokedAt?: number | null; expiresAt?: number | null }, now: number): boolean {
	return !doc.revokedAt && (doc.expiresAt === null || doc.expiresAt === undefined || doc.expiresAt > now);
}
