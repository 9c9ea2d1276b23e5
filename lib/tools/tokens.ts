import { createSecretKey, type KeyObject } from "node:crypto";
import jwt from "jsonwebtoken";
import type { AuthUser } from "../../types/moleculer";

export interface AccessClaims {
	sub: string;
	username: string;
	name?: string;
	roles: string[];
	/** The session (refresh-token family) the token belongs to. */
	sid?: string;
	typ: "access";
}

/**
 * The HMAC key as a KeyObject, built once per secret. Given a plain string, jsonwebtoken first
 * tries to parse it as a PEM public/private key on every call and only falls back to a secret
 * key when that throws, which cost about a third of the gateway's CPU per authenticated request.
 */
const keys = new Map<string, KeyObject>();
function hmacKey(secret: string): KeyObject {
	let key = keys.get(secret);
	if (!key) {
		key = createSecretKey(Buffer.from(secret));
		if (keys.size > 8) keys.clear();
		keys.set(secret, key);
	}
	return key;
}

/** Signs a short-lived HS256 access token; `sid` names the session (refresh-token family) it belongs to. */
export function signAccessToken(user: AuthUser, secret: string, ttlSec: number, sid?: string): string {
	const claims: AccessClaims = { sub: user.id, username: user.username, name: user.displayName, roles: user.roles, typ: "access" };
	if (sid) claims.sid = sid;
	return jwt.sign(claims, hmacKey(secret), { algorithm: "HS256", expiresIn: ttlSec });
}

export type VerifyResult = { ok: true; user: AuthUser } | { ok: false; reason: "expired" | "invalid" };

/**
 * Tokens already verified, per secret, by their exact text (signature included): a client sends
 * the same token with every request until it expires, and verifying the HMAC again each time was
 * the largest single cost of an authenticated read. Only successes are kept, and a hit past the
 * token's `exp` answers "expired" exactly as jsonwebtoken would. The user a token yields is built
 * once and frozen (roles too), so every request presenting the token shares it and none can change
 * what the next one sees.
 */
const verified = new Map<string, Map<string, { result: VerifyResult; expMs: number }>>();
const VERIFIED_MAX = 10_000;

/** Verifies an access token: HS256 only (so `alg: none` and RS/HS confusion fail), exp enforced. */
export function verifyAccessToken(token: string, secret: string): VerifyResult {
	let bySecret = verified.get(secret);
	const hit = bySecret?.get(token);
	if (hit) {
		if (Date.now() < hit.expMs) return hit.result;
		bySecret!.delete(token);
		return { ok: false, reason: "expired" };
	}
	const result = verifyUncached(token, secret);
	if (!result.ok) return result;
	const user = Object.freeze({ ...result.user, roles: Object.freeze([...result.user.roles]) }) as AuthUser;
	const shared: VerifyResult = Object.freeze({ ok: true, user });
	const exp = (jwt.decode(token) as { exp?: number } | null)?.exp;
	if (typeof exp === "number") {
		if (!bySecret) {
			if (verified.size >= 8) verified.clear();
			verified.set(secret, (bySecret = new Map()));
		}
		if (bySecret.size >= VERIFIED_MAX) bySecret.clear();
		bySecret.set(token, { result: shared, expMs: exp * 1000 });
	}
	return shared;
}

function verifyUncached(token: string, secret: string): VerifyResult {
	try {
		const claims = jwt.verify(token, hmacKey(secret), { algorithms: ["HS256"] }) as Partial<AccessClaims>;
		if (claims.typ !== "access" || typeof claims.sub !== "string" || typeof claims.username !== "string") {
			return { ok: false, reason: "invalid" };
		}
		const user: AuthUser = { id: claims.sub, username: claims.username, displayName: claims.name, roles: Array.isArray(claims.roles) ? claims.roles : [] };
		if (typeof claims.sid === "string") user.sid = claims.sid;
		return { ok: true, user };
	} catch (err) {
		return { ok: false, reason: (err as Error).name === "TokenExpiredError" ? "expired" : "invalid" };
	}
}

/** "Bearer abc" → "abc"; anything else → null. */
export function bearerToken(header: string | string[] | undefined): string | null {
	const value = Array.isArray(header) ? header[0] : header;
	if (!value) return null;
	const m = /^Bearer\s+(\S+)\s*$/i.exec(value);
	return m ? m[1] : null;
}
