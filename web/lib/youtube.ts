/** The YouTube video id (and start second) in a URL, or null when it is not a YouTube video. */
export function parseYouTube(url: string): { id: string; start: number } | null {
	let u: URL;
	try {
		u = new URL(url);
	} catch {
		return null;
	}
	if (u.protocol !== "https:" && u.protocol !== "http:") return null;
	const host = u.hostname.replace(/^(www\.|m\.|music\.)/, "");
	let id: string | null = null;
	if (host === "youtu.be") id = u.pathname.split("/")[1] ?? null;
	else if (host === "youtube.com" || host === "youtube-nocookie.com") {
		if (u.pathname === "/watch") id = u.searchParams.get("v");
		else {
			const m = /^\/(?:embed|shorts|live|v)\/([^/?#]+)/.exec(u.pathname);
			id = m ? m[1] : null;
		}
	}
	if (!id || !/^[\w-]{11}$/.test(id)) return null;
	return { id, start: parseStart(u.searchParams.get("t") ?? u.searchParams.get("start")) };
}

function parseStart(t: string | null): number {
	if (!t) return 0;
	if (/^\d+$/.test(t)) return Number(t);
	const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
	return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : 0;
}

/** The privacy-enhanced embed URL that plays `seconds` from the start point, muted controls off. */
export function embedUrl(video: { id: string; start: number }, seconds: number | undefined): string {
	const params = new URLSearchParams({ autoplay: "1", controls: "0", modestbranding: "1", rel: "0", playsinline: "1", start: String(video.start) });
	if (seconds && seconds > 0) params.set("end", String(video.start + seconds));
	return `https://www.youtube-nocookie.com/embed/${video.id}?${params}`;
}
