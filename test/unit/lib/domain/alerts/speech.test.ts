import { describe, expect, it } from "vitest";
import { cleanForSpeech, cut, findLinks, speechText, stripLinks } from "../../../../../lib/domain/alerts/speech";

describe("speech text", () => {
	it("reads URLs as one word, in the channel's language", () => {
		expect(cleanForSpeech("visit https://evil.example/x?y=1 now", [], "en")).toBe("visit link now");
		expect(cleanForSpeech("cek www.judi.com ya", [], "id")).toBe("cek tautan ya");
		expect(cleanForSpeech("go to scam.xyz/free", [], "en")).toBe("go to link");
	});

	it("collapses repeated characters and emoji runs", () => {
		expect(cleanForSpeech("wowwwwwww!!!!!!!", [], "en")).toBe("woww!!");
		expect(cleanForSpeech("gg 🔥🔥🔥🔥🔥 🎉🎉", [], "en")).toBe("gg 🔥");
		expect(cleanForSpeech("👍🏽👍🏽👍🏽 nice", [], "en")).toBe("👍🏽 nice");
		expect(cleanForSpeech("🇮🇩🇮🇩🇮🇩 merdeka", [], "id")).toBe("🇮🇩 merdeka");
	});

	it("speaks a blocked term as one neutral word, whatever its disguise", () => {
		expect(cleanForSpeech("you are a sc4m artist", ["scam"], "en")).toBe("you are a bleep artist");
		expect(cleanForSpeech("dasar B4NGSAT", ["bangsat"], "id")).toBe("dasar sensor");
		expect(cleanForSpeech("free money scam", ["free money"], "en")).toBe("bleep scam");
	});

	it("cuts the message at maxChars, at a word boundary when one is near", () => {
		expect(cut("hello world again", 13)).toBe("hello world");
		expect(Array.from(cut("x".repeat(300), 200))).toHaveLength(200);
		const text = speechText({ name: "Budi", message: "a ".repeat(400), terms: [], lang: "en", maxChars: 200 });
		expect(text.startsWith("Budi says: ")).toBe(true);
		expect(text.length).toBeLessThanOrEqual("Budi says: ".length + 200);
	});

	it("masks the donor's name too and leaves out an empty message", () => {
		expect(speechText({ name: "scam king", message: "", terms: ["scam"], lang: "en", maxChars: 200 })).toBe("bleep king");
		expect(speechText({ name: "Budi", message: "semangat!", terms: [], lang: "id", maxChars: 200 })).toBe("Budi berkata: semangat!");
	});

	it("finds and strips links", () => {
		expect(findLinks("a http://x.io b www.y.com c")).toEqual(["http://x.io", "www.y.com"]);
		expect(stripLinks("a http://x.io b")).toBe("a b");
		expect(findLinks("no links here, just 3.5 stars")).toEqual([]);
	});
});
