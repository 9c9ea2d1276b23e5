import { describe, expect, it } from "vitest";
import { moderate } from "../../../../lib/domain/moderation";

describe("moderate", () => {
	it("masks blocked words with asterisks of the same length", () => {
		expect(moderate("you are a noob, NOOB!", ["noob"])).toEqual({ masked: "you are a ****, ****!", matched: ["noob"] });
	});
	it("respects word boundaries", () => {
		expect(moderate("classic assassin", ["ass"]).matched).toEqual([]);
		expect(moderate("what an ass.", ["ass"]).masked).toBe("what an ***.");
	});
	it("sees through accents and look-alike digits", () => {
		expect(moderate("n00b and nöob", ["noob"]).masked).toBe("**** and ****");
	});
	it("matches phrases across spacing and keeps the spaces", () => {
		expect(moderate("go  away now", ["go away"]).masked).toBe("**  **** now");
	});
	it("leaves clean text alone", () => {
		expect(moderate("terima kasih bang!", ["anjing"])).toEqual({ masked: "terima kasih bang!", matched: [] });
		expect(moderate("", ["x"]).masked).toBe("");
		expect(moderate("hello", []).matched).toEqual([]);
	});
	it("handles emoji and non-Latin text without shifting positions", () => {
		expect(moderate("🔥 bad 🔥", ["bad"]).masked).toBe("🔥 *** 🔥");
		expect(moderate("バカ です", ["バカ"]).masked).toBe("** です");
	});
});

describe("moderate: evasion", () => {
	it("sees through zero-width characters, soft hyphens and bidi marks", () => {
		expect(moderate("sc\u200Bam here", ["scam"])).toEqual({ masked: "**** here", matched: ["scam"] });
		expect(moderate("s\u200Dc\u200Da\u200Dm", ["scam"]).masked).toBe("****");
		expect(moderate("sc\u00ADam", ["scam"]).masked).toBe("****");
		expect(moderate("s\u2066cam\u2069", ["scam"]).matched).toEqual(["scam"]);
	});
	it("folds Cyrillic, Greek and fullwidth look-alikes to the Latin letters they imitate", () => {
		expect(moderate("sc\u0430m", ["scam"]).masked).toBe("****");
		expect(moderate("\u0455\u0441\u0430m", ["scam"]).masked).toBe("****");
		expect(moderate("n\u03BF\u03BFb", ["noob"]).masked).toBe("****");
		expect(moderate("\uFF53\uFF43\uFF41\uFF4D!", ["scam"]).masked).toBe("****!");
		expect(moderate("sca\u0301m", ["scam"]).masked).toBe("****");
	});
	it("a term written in another script still matches that script, and ASCII words keep their letters", () => {
		expect(moderate("ты сука", ["сука"]).masked).toBe("ты ****");
		expect(moderate("I am here", ["lam"]).matched).toEqual([]);
		expect(moderate("classic", ["ass"]).matched).toEqual([]);
	});
});
