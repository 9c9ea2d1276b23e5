import { describe, expect, it } from "vitest";
import { moderate } from "../../lib/moderation";

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
