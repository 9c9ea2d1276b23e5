import jwt from "jsonwebtoken";
import type { AuthUser } from "../types/moleculer";

export interface AccessClaims {
	sub: string;
	username: string;
	name?: string;
	roles: string[];
	typ: "access";
}

/** Signs a short-lived HS256 access token. */
export function signAccessToken(user: AuthUser, secret: string, ttlSec: number): string {
	const claims: AccessClaims = { sub: user.id, username: user.username, name: user.displayName, roles: user.roles, typ: "access" };
	return jwt.sign(claims, secret, { algorithm: "HS256", expiresIn: ttlSec });
}

export type VerifyResult = { ok: true; user: AuthUser } | { ok: false; reason: "expired" | "invalid" };

/** Verifies an access token: HS256 only (so `alg: none` and RS/HS confusion fail), exp enforced. */
export function verifyAccessToken(token: string, secret: string): VerifyResult {
	try {
		const claims = jwt.verify(token, secret, { algorithms: ["HS256"] }) as Partial<AccessClaims>;
		if (claims.typ !== "access" || typeof claims.sub !== "string" || typeof claims.username !== "string") {
			return { ok: false, reason: "invalid" };
		}
		return {
			ok: true,
			user: { id: claims.sub, username: claims.username, displayName: claims.name, roles: Array.isArray(claims.roles) ? claims.roles : [] },
		};
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
