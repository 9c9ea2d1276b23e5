import { describe, expect, it } from "vitest";
import { canonicalYouTubeUrl, parseYouTube } from "../../../../lib/domain/youtube";

describe("YouTube media links (lib/youtube, shared by the API and the overlay)", () => {
	it("finds the video id and start time in the common link shapes", () => {
		expect(parseYouTube("https://www.youtube.com/watch?v=dQw4w9WgXcQ")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
		expect(parseYouTube("http://youtube.com/watch?v=dQw4w9WgXcQ&list=x")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
		expect(parseYouTube("https://youtu.be/dQw4w9WgXcQ?t=42")).toEqual({ id: "dQw4w9WgXcQ", start: 42 });
		expect(parseYouTube("https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=1m30s")).toEqual({ id: "dQw4w9WgXcQ", start: 90 });
		expect(parseYouTube("https://music.youtube.com/watch?v=dQw4w9WgXcQ&t=15s")).toEqual({ id: "dQw4w9WgXcQ", start: 15 });
		expect(parseYouTube("https://www.youtube.com/shorts/dQw4w9WgXcQ")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
		expect(parseYouTube("https://www.youtube.com/embed/dQw4w9WgXcQ?start=5")).toEqual({ id: "dQw4w9WgXcQ", start: 5 });
		expect(parseYouTube("https://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
	});

	it("refuses look-alike hosts, userinfo, other schemes and anything that is not an 11-character id", () => {
		for (const url of [
			"https://www.youtube.com@evil.com/watch?v=dQw4w9WgXcQ",
			"https://user:pw@www.youtube.com/watch?v=dQw4w9WgXcQ",
			"https://youtube.com.evil.com/watch?v=dQw4w9WgXcQ",
			"https://evil-youtube.com/watch?v=dQw4w9WgXcQ",
			"https://notyoutu.be/dQw4w9WgXcQ",
			"https://youtu.be.evil.com/dQw4w9WgXcQ",
			"https://www.youtube.com./watch?v=dQw4w9WgXcQ",
			"https://evil.com/?u=https://www.youtube.com/watch?v=dQw4w9WgXcQ",
			"https://evil.com/watch?v=dQw4w9WgXcQ#youtube.com",
			"ftp://www.youtube.com/watch?v=dQw4w9WgXcQ",
			"javascript:alert(1)//www.youtube.com/watch?v=dQw4w9WgXcQ",
			"https://www.youtube.com/watch?v=short",
			"https://www.youtube.com/watch?v=dQw4w9WgXcQ<script>",
			"https://www.youtube.com/redirect?q=https://evil.com",
			"https://youtu.be/dQw4w9WgXcQ/extra",
			"https://www.youtube-nocookie.com/shorts/dQw4w9WgXcQ",
			"https://vimeo.com/123",
			"not a url",
		]) {
			expect(parseYouTube(url), url).toBeNull();
		}
	});

	it("normalises to the canonical watch URL, keeping a start time", () => {
		expect(canonicalYouTubeUrl("https://youtu.be/dQw4w9WgXcQ")).toBe("https://www.youtube.com/watch?v=dQw4w9WgXcQ");
		expect(canonicalYouTubeUrl("https://m.youtube.com/shorts/dQw4w9WgXcQ?t=1m30s&si=tracking")).toBe("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=90");
		expect(canonicalYouTubeUrl("https://www.youtube.com@evil.com/watch?v=dQw4w9WgXcQ")).toBeNull();
	});
});
