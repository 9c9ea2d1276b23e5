/**
 * Media share plays YouTube videos only. One parser for the server (a donation's `mediaUrl` is
 * refused with 422 unless it names a playable video, and is stored in canonical form) and the
 * overlay page (web/lib/youtube.ts re-exports it), so what was paid for is what plays.
 *
 * Accepted: http(s) URLs, parsed with WHATWG URL, whose host is exactly one of YOUTUBE_HOSTS (no
 * look-alike suffix such as youtube.com.evil.test, no userinfo as in www.youtube.com@evil.test),
 * in the forms /watch?v=ID, youtu.be/ID, /shorts/ID, /embed/ID and /live/ID, where ID is 11
 * characters of [A-Za-z0-9_-]. A start time (`t` or `start`: 90, 90s, 1m30s, 1h2m3s) is kept.
 * Browser-safe: no Node APIs.
 */
export interface YouTubeVideo {
	id: string;
	/** Start second (0 when none was given). */
	start: number;
}

const WATCH_HOSTS = new Set(["youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"]);
const EMBED_HOSTS = new Set([...WATCH_HOSTS, "www.youtube-nocookie.com", "youtube-nocookie.com"]);
const VIDEO_ID = /^[A-Za-z0-9_-]{11}$/;

/** The YouTube video id (and start second) in a URL, or null when it is not a YouTube video. */
export function parseYouTube(raw: string): YouTubeVideo | null {
	let u: URL;
	try {
		u = new URL(raw);
	} catch {
		return null;
	}
	if (u.protocol !== "https:" && u.protocol !== "http:") return null;
	if (u.username || u.password) return null;
	const host = u.hostname.toLowerCase();
	let id: string | null = null;
	if (host === "youtu.be") id = /^\/([^/]+)\/?$/.exec(u.pathname)?.[1] ?? null;
	else if (WATCH_HOSTS.has(host) && (u.pathname === "/watch" || u.pathname === "/watch/")) id = u.searchParams.get("v");
	else if (EMBED_HOSTS.has(host)) {
		const m = /^\/(embed|shorts|live)\/([^/]+)\/?$/.exec(u.pathname);
		if (m && (m[1] === "embed" || WATCH_HOSTS.has(host))) id = m[2];
	}
	if (!id || !VIDEO_ID.test(id)) return null;
	return { id, start: parseStart(u.searchParams.get("t") ?? u.searchParams.get("start")) };
}

function parseStart(t: string | null): number {
	if (!t) return 0;
	if (/^\d{1,6}s?$/.test(t)) return Number.parseInt(t, 10);
	const m = /^(?:(\d{1,3})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s)?$/.exec(t);
	return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : 0;
}

/** `https://www.youtube.com/watch?v=ID` (with `&t=N` when it starts later), or null. */
export function canonicalYouTubeUrl(raw: string): string | null {
	const v = parseYouTube(raw);
	if (!v) return null;
	return `https://www.youtube.com/watch?v=${v.id}${v.start > 0 ? `&t=${v.start}` : ""}`;
}
