// The parser is shared with the server (lib/domain/youtube.ts): a mediaUrl the API accepted is one this page plays.
import { parseYouTube, type YouTubeVideo } from "../../lib/domain/youtube";

export { parseYouTube };

/** The privacy-enhanced embed URL that plays `seconds` from the start point, muted controls off. */
export function embedUrl(video: YouTubeVideo, seconds: number | undefined): string {
	const params = new URLSearchParams({ autoplay: "1", controls: "0", modestbranding: "1", rel: "0", playsinline: "1", start: String(video.start) });
	if (seconds && seconds > 0) params.set("end", String(video.start + seconds));
	return `https://www.youtube-nocookie.com/embed/${video.id}?${params}`;
}
