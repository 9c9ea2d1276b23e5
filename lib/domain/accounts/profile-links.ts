import { cleanText, graphemeCount } from "../text";

/**
 * A profile's links and linked streaming platforms (PATCH /users/me, shown on the donation page).
 *
 * - `links: [{label, url}]`: at most 10; the label is one line of text (1–40 characters), the
 *   URL `http:` or `https:` only (no `javascript:`, `data:`, no user:password@), at most 2048.
 * - `platforms: [{platform, handle?, url?}]`: at most 10, one per platform and handle; the
 *   platform is one of PLATFORMS; give the handle, a profile URL on that platform's own hosts,
 *   or both (they must agree). The stored handle is normalised (no "@", lower case: these
 *   platforms treat handles case-insensitively) and the URL derived from it, so a stored URL
 *   always points at the platform named.
 *
 * Pure: answers the cleaned value, or the problems (field path and message) to answer 422 with.
 */

export const MAX_LINKS = 10;
export const MAX_PLATFORMS = 10;
export const PLATFORMS = ["twitch", "youtube", "tiktok", "kick", "facebook", "instagram", "x"] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface ProfileLink {
	label: string;
	url: string;
}
export interface PlatformLink {
	platform: Platform;
	handle: string;
	url: string;
}
export interface Problem {
	field: string;
	message: string;
}
export type Checked<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

interface PlatformRule {
	/** The name shown to people. */
	name: string;
	hosts: string[];
	handle: RegExp;
	/** The handle in a profile URL's path. */
	fromPath: (path: string) => string | null;
	url: (handle: string) => string;
}

/** The first path segment, without a leading "@" when `at` allows one. */
const firstSegment = (path: string, at: "required" | "optional" | "none") => {
	const seg = path.split("/").filter(Boolean)[0] ?? "";
	const m = /^(@?)([^@]+)$/.exec(decodeURIComponent(seg));
	if (!m) return null;
	if (at === "required" && !m[1]) return null;
	if (at === "none" && m[1]) return null;
	return m[2];
};

export const PLATFORM_RULES: Record<Platform, PlatformRule> = {
	twitch: {
		name: "Twitch",
		hosts: ["twitch.tv", "www.twitch.tv", "m.twitch.tv"],
		handle: /^[a-z0-9_]{3,25}$/,
		fromPath: (p) => firstSegment(p, "none"),
		url: (h) => `https://www.twitch.tv/${h}`,
	},
	youtube: {
		name: "YouTube",
		hosts: ["youtube.com", "www.youtube.com", "m.youtube.com"],
		handle: /^[a-z0-9._-]{3,30}$/,
		fromPath: (p) => firstSegment(p, "required"),
		url: (h) => `https://www.youtube.com/@${h}`,
	},
	tiktok: {
		name: "TikTok",
		hosts: ["tiktok.com", "www.tiktok.com", "m.tiktok.com"],
		handle: /^[a-z0-9_.]{2,24}$/,
		fromPath: (p) => firstSegment(p, "required"),
		url: (h) => `https://www.tiktok.com/@${h}`,
	},
	kick: {
		name: "Kick",
		hosts: ["kick.com", "www.kick.com"],
		handle: /^[a-z0-9_-]{3,25}$/,
		fromPath: (p) => firstSegment(p, "none"),
		url: (h) => `https://kick.com/${h}`,
	},
	facebook: {
		name: "Facebook",
		hosts: ["facebook.com", "www.facebook.com", "m.facebook.com", "fb.com", "www.fb.com"],
		handle: /^[a-z0-9.]{5,50}$/,
		fromPath: (p) => firstSegment(p, "none"),
		url: (h) => `https://www.facebook.com/${h}`,
	},
	instagram: {
		name: "Instagram",
		hosts: ["instagram.com", "www.instagram.com"],
		handle: /^[a-z0-9._]{1,30}$/,
		fromPath: (p) => firstSegment(p, "none"),
		url: (h) => `https://www.instagram.com/${h}`,
	},
	x: {
		name: "X",
		hosts: ["x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com", "mobile.x.com"],
		handle: /^[a-z0-9_]{1,15}$/,
		fromPath: (p) => firstSegment(p, "none"),
		url: (h) => `https://x.com/${h}`,
	},
};

/** The platform's name as people know it ("YouTube", "X"), for pages. */
export function platformName(platform: string): string {
	return (PLATFORM_RULES as Record<string, PlatformRule | undefined>)[platform]?.name ?? platform;
}

/** An absolute `http(s)` URL without credentials, or null. */
export function httpUrl(input: string): URL | null {
	if (typeof input !== "string" || input.length > 2048) return null;
	let u: URL;
	try {
		u = new URL(input.trim());
	} catch {
		return null;
	}
	if (u.protocol !== "http:" && u.protocol !== "https:") return null;
	if (u.username || u.password || !u.hostname) return null;
	return u;
}

export function checkLinks(input: unknown): Checked<ProfileLink[]> {
	if (!Array.isArray(input)) return { ok: false, problems: [{ field: "links", message: "links must be a list" }] };
	if (input.length > MAX_LINKS) return { ok: false, problems: [{ field: "links", message: `At most ${MAX_LINKS} links` }] };
	const problems: Problem[] = [];
	const value: ProfileLink[] = [];
	input.forEach((item: { label?: unknown; url?: unknown } | null, i) => {
		const label = typeof item?.label === "string" ? cleanText(item.label, "line") : "";
		const n = graphemeCount(label);
		if (n < 1 || n > 40) problems.push({ field: `links[${i}].label`, message: "A link's label must be 1 to 40 characters" });
		const url = typeof item?.url === "string" ? httpUrl(item.url) : null;
		if (!url) problems.push({ field: `links[${i}].url`, message: "A link must be an http(s) URL" });
		if (n >= 1 && n <= 40 && url) value.push({ label, url: url.href });
	});
	return problems.length ? { ok: false, problems } : { ok: true, value };
}

/** One platform entry: the normalised handle and the URL derived from it. */
export function checkPlatform(item: { platform?: unknown; handle?: unknown; url?: unknown } | null, field = "platform"): Checked<PlatformLink> {
	const platform = item?.platform as Platform;
	const rule = (PLATFORM_RULES as Record<string, PlatformRule | undefined>)[String(platform)];
	if (!rule) return { ok: false, problems: [{ field: `${field}.platform`, message: `platform must be one of ${PLATFORMS.join(", ")}` }] };
	let fromUrl: string | null = null;
	if (item?.url !== undefined && item.url !== null && item.url !== "") {
		const u = typeof item.url === "string" ? httpUrl(item.url) : null;
		if (!u || !rule.hosts.includes(u.hostname.toLowerCase())) {
			return { ok: false, problems: [{ field: `${field}.url`, message: `url must be a ${rule.name} address (${rule.hosts[0]})` }] };
		}
		fromUrl = rule.fromPath(u.pathname);
		if (!fromUrl) return { ok: false, problems: [{ field: `${field}.url`, message: `url must be a ${rule.name} profile address` }] };
		fromUrl = fromUrl.toLowerCase();
	}
	let handle: string | null = null;
	if (typeof item?.handle === "string" && item.handle.trim()) handle = item.handle.trim().replace(/^@/, "").toLowerCase();
	if (handle && fromUrl && handle !== fromUrl) {
		return { ok: false, problems: [{ field: `${field}.handle`, message: "handle and url name different accounts" }] };
	}
	const h = handle ?? fromUrl;
	if (!h) return { ok: false, problems: [{ field: `${field}.handle`, message: "Give a handle or a profile url" }] };
	if (!rule.handle.test(h)) return { ok: false, problems: [{ field: `${field}.handle`, message: `That is not a valid ${rule.name} handle` }] };
	return { ok: true, value: { platform, handle: h, url: rule.url(h) } };
}

export function checkPlatforms(input: unknown): Checked<PlatformLink[]> {
	if (!Array.isArray(input)) return { ok: false, problems: [{ field: "platforms", message: "platforms must be a list" }] };
	if (input.length > MAX_PLATFORMS) return { ok: false, problems: [{ field: "platforms", message: `At most ${MAX_PLATFORMS} platforms` }] };
	const problems: Problem[] = [];
	const value: PlatformLink[] = [];
	const seen = new Set<string>();
	input.forEach((item, i) => {
		const r = checkPlatform(item, `platforms[${i}]`);
		if (!r.ok) return problems.push(...r.problems);
		const key = `${r.value.platform}:${r.value.handle}`;
		if (seen.has(key)) return problems.push({ field: `platforms[${i}]`, message: "That account is listed twice" });
		seen.add(key);
		value.push(r.value);
	});
	return problems.length ? { ok: false, problems } : { ok: true, value };
}
