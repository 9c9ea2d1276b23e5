import { describe, expect, it } from "vitest";
import { mediaSecondsFor, parseMajor, presets, toInput } from "../../web/lib/money";
import { embedUrl, parseYouTube } from "../../web/lib/youtube";
import { negotiateLang, renderShell } from "../../services/gateway/pages";
import { buildPages } from "./support";

/** The pages' pure helpers (no browser needed): what a person types and what the URL bar holds. */
describe("amounts typed on the pages", () => {
	it("reads rupiah with or without thousands separators and sends minor units", () => {
		for (const typed of ["10000", "10.000", "10,000", "Rp 10.000", " 10.000 "]) expect(parseMajor(typed, "IDR")).toBe(1_000_000);
		expect(parseMajor("1.000.000", "IDR")).toBe(100_000_000);
		expect(parseMajor("10.5", "IDR")).toBeNull();
		expect(parseMajor("", "IDR")).toBeNull();
		expect(parseMajor("abc", "IDR")).toBeNull();
	});

	it("reads dollars with a dot or a comma for cents", () => {
		expect(parseMajor("5", "USD")).toBe(500);
		expect(parseMajor("5.5", "USD")).toBe(550);
		expect(parseMajor("5,50", "USD")).toBe(550);
		expect(parseMajor("1,234.56", "USD")).toBe(123_456);
		expect(parseMajor("5.555", "USD")).toBeNull();
		expect(parseMajor("-5", "USD")).toBeNull();
		expect(parseMajor("$5", "USD")).toBe(500);
		expect(parseMajor("Rp.10.000", "IDR")).toBe(1_000_000);
		expect(parseMajor("1e3", "USD")).toBeNull();
		expect(parseMajor("500", "JPY")).toBe(500);
	});

	it("round-trips minor units through the input box", () => {
		expect(toInput(1_000_000, "IDR")).toBe("10000");
		expect(toInput(550, "USD")).toBe("5.50");
		expect(parseMajor(toInput(123_456, "EUR"), "EUR")).toBe(123_456);
	});

	it("offers presets at or above the streamer's minimum", () => {
		expect(presets("IDR", 0)).toEqual([1_000_000, 2_500_000, 5_000_000, 10_000_000]);
		expect(presets("IDR", 500_000)).toEqual([500_000, 1_000_000, 2_500_000, 5_000_000]);
		expect(presets("USD", 1_000)).toEqual([1_000, 2_000]);
		expect(presets("IDR", 50_000_000)).toEqual([50_000_000]);
	});

	it("previews media seconds like the donations service", () => {
		expect(mediaSecondsFor(1_500_000, 100_000, 60)).toBe(15);
		expect(mediaSecondsFor(100_000_000, 100_000, 60)).toBe(60);
		expect(mediaSecondsFor(1, 0, 45)).toBe(45);
	});
});

describe("YouTube links", () => {
	it("finds the video and start time in every common link shape", () => {
		expect(parseYouTube("https://www.youtube.com/watch?v=dQw4w9WgXcQ")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
		expect(parseYouTube("https://youtu.be/dQw4w9WgXcQ?t=42")).toEqual({ id: "dQw4w9WgXcQ", start: 42 });
		expect(parseYouTube("https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=1m30s")).toEqual({ id: "dQw4w9WgXcQ", start: 90 });
		expect(parseYouTube("https://www.youtube.com/shorts/dQw4w9WgXcQ")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
		expect(parseYouTube("https://www.youtube.com/embed/dQw4w9WgXcQ?start=5")).toEqual({ id: "dQw4w9WgXcQ", start: 5 });
	});

	it("refuses what is not a YouTube video", () => {
		for (const url of ["https://vimeo.com/123", "https://youtube.com.evil.test/watch?v=dQw4w9WgXcQ", "javascript:alert(1)", "https://www.youtube.com/watch?v=short", "not a url"]) {
			expect(parseYouTube(url)).toBeNull();
		}
	});

	it("embeds privacy-enhanced, from the start point for the paid seconds", () => {
		const u = new URL(embedUrl({ id: "dQw4w9WgXcQ", start: 30 }, 15));
		expect(u.host).toBe("www.youtube-nocookie.com");
		expect(u.searchParams.get("start")).toBe("30");
		expect(u.searchParams.get("end")).toBe("45");
		expect(u.searchParams.get("autoplay")).toBe("1");
	});
});

describe("page language and shell", () => {
	it("picks ?lang, then the cookie, then Accept-Language, then English", () => {
		expect(negotiateLang({ lang: "id" }, "lang=en", "en-US")).toBe("id");
		expect(negotiateLang({}, "a=1; lang=id", "en-US")).toBe("id");
		expect(negotiateLang({}, undefined, "id-ID,id;q=0.9,en;q=0.8")).toBe("id");
		expect(negotiateLang({}, undefined, "en;q=0.5, id;q=0.9")).toBe("id");
		expect(negotiateLang({}, undefined, "fr-FR, en;q=0.7")).toBe("en");
		expect(negotiateLang({}, undefined, "de-DE")).toBe("en");
		expect(negotiateLang({ lang: "xx" }, "lang=zz", undefined)).toBe("en");
	});

	it("escapes every value it writes into the HTML shell", () => {
		buildPages();
		const html = renderShell("overlay-goal", { lang: "en", data: { username: `"><script>alert(1)</script>` } })!;
		expect(html).not.toContain("<script>alert");
		expect(html).toContain('data-username="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
	});
});
