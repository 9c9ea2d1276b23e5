/**
 * The signed-in session, shared by the dashboard and the chat widget through localStorage
 * (same origin). Access tokens are short-lived; refresh tokens rotate and a reused one revokes
 * the whole family, so refreshing is serialized across tabs with the Web Locks API and every
 * tab re-reads storage before using its own copy.
 */
const KEY = "mediashar.session";

export interface SessionUser {
	id: string;
	username: string;
	displayName: string;
	roles: string[];
	[k: string]: unknown;
}

export interface Session {
	accessToken: string;
	refreshToken: string;
	user: SessionUser;
}

export function loadSession(): Session | null {
	try {
		const raw = localStorage.getItem(KEY);
		if (!raw) return null;
		const s = JSON.parse(raw) as Session;
		return s && typeof s.accessToken === "string" && typeof s.refreshToken === "string" && s.user ? s : null;
	} catch {
		return null;
	}
}

export function saveSession(s: Session | null) {
	if (s) localStorage.setItem(KEY, JSON.stringify({ accessToken: s.accessToken, refreshToken: s.refreshToken, user: pickUser(s.user) }));
	else localStorage.removeItem(KEY);
}

function pickUser(u: SessionUser): SessionUser {
	return { id: u.id, username: u.username, displayName: u.displayName, roles: u.roles ?? [] };
}

/** Seconds until the JWT expires (negative when expired; -1 when unreadable). */
export function tokenTtl(token: string): number {
	try {
		const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
		return typeof payload.exp === "number" ? payload.exp - Date.now() / 1000 : -1;
	} catch {
		return -1;
	}
}

/** Calls back when another tab signs in or out. */
export function onSessionChange(cb: (s: Session | null) => void) {
	window.addEventListener("storage", (e) => {
		if (e.key === KEY) cb(loadSession());
	});
}

let inflight: Promise<Session | null> | null = null;

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
	const locks = (navigator as Navigator & { locks?: { request(name: string, cb: () => Promise<T>): Promise<T> } }).locks;
	return locks ? locks.request("mediashar-refresh", fn) : fn();
}

/** A session whose access token is valid for at least 30 s more, refreshing when needed; null when signed out. */
export function freshSession(force = false): Promise<Session | null> {
	const current = loadSession();
	if (!current) return Promise.resolve(null);
	if (!force && tokenTtl(current.accessToken) > 30) return Promise.resolve(current);
	inflight ??= withLock(async () => {
		// Another tab may have refreshed while we waited for the lock.
		const latest = loadSession();
		if (!latest) return null;
		if (latest.accessToken !== current.accessToken && tokenTtl(latest.accessToken) > 30) return latest;
		const res = await fetch("/api/auth/refresh", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ refreshToken: latest.refreshToken }),
		});
		if (res.status === 401) {
			saveSession(null);
			return null;
		}
		if (!res.ok) return latest;
		const body = (await res.json()) as { accessToken: string; refreshToken: string };
		const next = { ...latest, accessToken: body.accessToken, refreshToken: body.refreshToken };
		saveSession(next);
		return next;
	}).finally(() => {
		inflight = null;
	});
	return inflight;
}

export async function signOut() {
	const s = loadSession();
	saveSession(null);
	if (s)
		await fetch("/api/auth/logout", {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ refreshToken: s.refreshToken }),
		}).catch(() => undefined);
}
