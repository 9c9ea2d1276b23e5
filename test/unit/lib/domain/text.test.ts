import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { cleanText, graphemeCount, truncateUnits } from "../../../../lib/domain/text";

describe("user text (lib/text)", () => {
	it("normalises to NFC", () => {
		expect(cleanText("Cafe\u0301")).toBe("Café");
		expect(cleanText("Cafe\u0301")).toBe(cleanText("Caf\u00E9"));
		expect(cleanText("Cafe\u200B\u0301")).toBe("Café");
	});

	it("removes control, bidi and other format characters", () => {
		expect(cleanText("a\u0000b\u0007c\u001Bd\u009Be")).toBe("abcde");
		expect(cleanText("evil\u202Egnp.exe")).toBe("evilgnp.exe");
		expect(cleanText("\u2066x\u2069 \u200Ey\u200F \u061Cz")).toBe("x y z");
		expect(cleanText("sc\u200Bam \u00ADsoft\u2060 \uFEFFbom")).toBe("scam soft bom");
	});

	it("keeps the joiners where writing needs them", () => {
		expect(cleanText("👩\u200D💻 👨\u200D👩\u200D👧")).toBe("👩\u200D💻 👨\u200D👩\u200D👧");
		expect(cleanText("❤\uFE0F\u200D🔥")).toBe("❤\uFE0F\u200D🔥");
		expect(cleanText("a\u200Db")).toBe("ab");
		expect(cleanText("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645")).toBe("\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645");
		expect(cleanText("x\u200C ")).toBe("x");
		const england = "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
		expect(cleanText(england)).toBe(england);
		expect(cleanText("a\u{E0067}b")).toBe("ab");
	});

	it("an invisible-only text is empty", () => {
		for (const s of ["\u200B", "\u200D\u200D", "\u3164", "\u2800\u2800", " \u00A0\u3000 ", "\u0301\u0301", "\u202E\u202D", "\u115F\u1160"]) {
			expect(cleanText(s), JSON.stringify(s)).toBe("");
		}
	});

	it("line text folds breaks to spaces; block text keeps them as \\n", () => {
		expect(cleanText("a\r\nb\tc\u2028d", "line")).toBe("a b c d");
		expect(cleanText("a\r\nb\rc\u2029d\n\te", "block")).toBe("a\nb\nc\nd\n\te");
	});

	it("counts user-perceived characters", () => {
		expect(graphemeCount("🇮🇩👍🏽👩\u200D💻é")).toBe(4);
		expect(graphemeCount("e\u0301")).toBe(1);
		expect(graphemeCount("")).toBe(0);
	});

	it("never leaves control, bidi or format characters outside emoji and flag sequences", () => {
		fc.assert(
			fc.property(fc.string({ maxLength: 200, unit: "binary" }), (s) => {
				const out = cleanText(s, "line");
				return (
					// eslint-disable-next-line no-control-regex -- the property is about control characters
					!/[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\u200B\u200E\u200F\u00AD\uFEFF]/.test(out) &&
					out === out.trim() &&
					out === out.normalize("NFC")
				);
			}),
			{ numRuns: 200 },
		);
	});
});

describe("truncateUnits", () => {
	it("cuts at a grapheme boundary", () => {
		expect(truncateUnits("🇮🇩🇮🇩🇮🇩", 9)).toBe("🇮🇩🇮🇩");
		expect(truncateUnits("abc", 9)).toBe("abc");
	});
});
