/**
 * Sessions as the account owner sees them: one per refresh-token family (a sign-in and its
 * rotations). The live head of a family is its newest unused, unrevoked, unexpired token; the
 * family's creation is the sign-in, the head's issue time its last use (a client refreshes at
 * least once per access-token lifetime while it is in use).
 */

export interface SessionToken {
	family: string;
	userAgent?: string | null;
	ip?: string | null;
	/** When the family began (the sign-in), ms. */
	familyCreatedAt?: number;
	/** When this token was issued (the latest refresh), ms. */
	issuedAt?: number;
	expiresAt: number;
	usedAt: number | null;
	revokedAt: number | null;
}

export interface SessionView {
	id: string;
	userAgent: string | null;
	ip: string | null;
	createdAt: string | null;
	lastUsedAt: string | null;
	current: boolean;
}

export const USER_AGENT_MAX = 300;

/** A header value fit to store: at most USER_AGENT_MAX characters, control characters removed. */
export function cleanUserAgent(ua: unknown): string | null {
	if (typeof ua !== "string") return null;
	// eslint-disable-next-line no-control-regex
	const clean = ua.replace(/[\u0000-\u001f\u007f]/g, "").trim();
	return clean ? clean.slice(0, USER_AGENT_MAX) : null;
}

export function isLive(t: SessionToken, now: number): boolean {
	return t.usedAt === null && t.revokedAt === null && t.expiresAt > now;
}

const iso = (ms: number | undefined) => (typeof ms === "number" ? new Date(ms).toISOString() : null);

/** One row per live family, most recently used first; `current` marks the caller's own. */
export function sessionRows(tokens: SessionToken[], currentFamily: string | undefined, now: number): SessionView[] {
	const heads = new Map<string, SessionToken>();
	for (const t of tokens) {
		if (!isLive(t, now)) continue;
		const known = heads.get(t.family);
		if (!known || (t.issuedAt ?? 0) > (known.issuedAt ?? 0)) heads.set(t.family, t);
	}
	return [...heads.values()]
		.sort((a, b) => (b.issuedAt ?? 0) - (a.issuedAt ?? 0))
		.map((t) => ({
			id: t.family,
			userAgent: t.userAgent ?? null,
			ip: t.ip ?? null,
			createdAt: iso(t.familyCreatedAt ?? t.issuedAt),
			lastUsedAt: iso(t.issuedAt),
			current: t.family === currentFamily,
		}));
}
