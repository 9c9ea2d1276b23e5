import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MAX_TEXT_CHARS, codePoints, isValidNonce, normalizeChatText } from "../../../../../lib/domain/chat/text";
import { parseMentions } from "../../../../../lib/domain/chat/mentions";
import { graphemeCount } from "../../../../../lib/domain/text";
import { cleanBlockedTerms, findBlockedTerm } from "../../../../../lib/domain/chat/blocked-terms";

describe("chat text", () => {
	it("trims, folds line breaks and strips invisible characters", () => {
		expect(normalizeChatText("  hello\r\nworld\t!  ")).toEqual({ ok: true, text: "hello world !" });
		expect(normalizeChatText("a\u202Eb\u200Bc\u0007d\uFEFF")).toEqual({ ok: true, text: "abcd" });
		// the zero-width joiner is kept: it glues emoji sequences
		expect(normalizeChatText("👩\u200D💻")).toEqual({ ok: true, text: "👩\u200D💻" });
	});

	it("refuses empty, blank and over-long text, counting emoji as one character", () => {
		expect(normalizeChatText("").ok).toBe(false);
		expect(normalizeChatText(" \n\u200B\t").ok).toBe(false);
		expect(normalizeChatText(42).ok).toBe(false);
		expect(normalizeChatText("x".repeat(MAX_TEXT_CHARS)).ok).toBe(true);
		expect(normalizeChatText("x".repeat(MAX_TEXT_CHARS + 1))).toEqual({ ok: false, message: "text must be at most 500 characters" });
		expect(normalizeChatText("😀".repeat(MAX_TEXT_CHARS)).ok).toBe(true);
		// user-perceived characters: a flag, a skin-toned emoji and an accented letter are one each
		expect(normalizeChatText("🇮🇩".repeat(MAX_TEXT_CHARS)).ok).toBe(true);
		expect(normalizeChatText("👍🏽".repeat(MAX_TEXT_CHARS)).ok).toBe(true);
		expect(normalizeChatText("e\u0301".repeat(MAX_TEXT_CHARS + 1)).ok).toBe(false);
		expect(codePoints("😀a")).toBe(2);
	});

	it("never returns text outside 1–500 characters or with line breaks", () => {
		fc.assert(
			fc.property(fc.string({ maxLength: 700, unit: "binary" }), (s) => {
				const v = normalizeChatText(s);
				if (!v.ok) return true;
				const n = graphemeCount(v.text);
				return n >= 1 && n <= MAX_TEXT_CHARS && !/[\r\n\t]/.test(v.text) && v.text === v.text.trim();
			}),
			{ numRuns: 60 },
		);
	});

	it("accepts nonces of 1–64 visible ASCII characters only", () => {
		expect(isValidNonce("abc-123_XYZ")).toBe(true);
		expect(isValidNonce("x".repeat(64))).toBe(true);
		expect(isValidNonce("x".repeat(65))).toBe(false);
		expect(isValidNonce("")).toBe(false);
		expect(isValidNonce("has space")).toBe(false);
		expect(isValidNonce(5)).toBe(false);
	});
});

describe("mentions", () => {
	it("finds @usernames at word starts, lower-cased and unique, in order", () => {
		expect(parseMentions("hi @Alice and @bob_2, @alice again")).toEqual(["alice", "bob_2"]);
		expect(parseMentions("(@carol) @dave!")).toEqual(["carol", "dave"]);
	});

	it("ignores emails, too-short or too-long names and double @", () => {
		expect(parseMentions("mail me at me@example.com")).toEqual([]);
		expect(parseMentions("@ab @" + "x".repeat(26) + " @@eve")).toEqual([]);
	});

	it("caps the number of people one message can mention", () => {
		const text = Array.from({ length: 30 }, (_, i) => `@user${i}`).join(" ");
		expect(parseMentions(text)).toHaveLength(10);
		expect(parseMentions(text, 3)).toEqual(["user0", "user1", "user2"]);
	});
});

describe("blocked terms", () => {
	it("matches whole words regardless of case, accents and look-alike digits", () => {
		const terms = cleanBlockedTerms([" Spoiler ", "spoiler", "", "bad phrase"]);
		expect(terms).toEqual(["spoiler", "bad phrase"]);
		expect(findBlockedTerm("no SP0ILER please", terms)).toBe("spoiler");
		expect(findBlockedTerm("spoilers are fine", terms)).toBeNull();
		expect(findBlockedTerm("what a BAD   phrase", terms)).toBe("bad phrase");
		expect(findBlockedTerm("anything", [])).toBeNull();
	});

	it("keeps at most 200 terms", () => {
		expect(cleanBlockedTerms(Array.from({ length: 300 }, (_, i) => `t${i}`))).toHaveLength(200);
	});
});
