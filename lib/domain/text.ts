/**
 * User text, one set of rules for every place a person types something others will see
 * (donation message and donor name, chat and direct messages, posts, comments, display name, bio).
 *
 * - Unicode NFC, so "é" typed two ways is one string and one length.
 * - Removed: C0/C1 control characters, and every format character (Unicode category Cf): bidi
 *   embeddings, overrides, isolates and marks (which could reorder the text around them on
 *   stream), zero-width space, word joiner, BOM, soft hyphen and the like. Three format characters
 *   stay where they are part of writing: the zero-width joiner between two emoji (👩‍💻), the
 *   zero-width non-joiner between letters (Persian, Indic scripts) and tag characters after 🏴
 *   (subdivision flags). Invisible fillers that are letters by category (Hangul fillers, the
 *   braille blank) are removed too.
 * - `line` text has every line break and tab turned into one space; `block` text keeps line
 *   breaks (normalised to "\n") and tabs.
 * - Trimmed; a text with no visible character (letter, number, punctuation or symbol) is "".
 * - Lengths count user-perceived characters (grapheme clusters, Intl.Segmenter): an emoji with a
 *   skin tone, a flag or a letter with combining accents is one.
 *
 * `cleanText` is applied to declared params by the StrictParams middleware (middlewares/strict-params.ts):
 * an action marks a string param `text: "line"` or `text: "block"`, and its `min`/`max` are
 * then checked here in graphemes, after cleaning, before the Validator runs.
 */
export type TextMode = "line" | "block";

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROLS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;
const LINE_BREAKS = /[\t\r\n\u0085\u2028\u2029]+/g;
const BLOCK_BREAKS = /\r\n?|[\u0085\u2028\u2029]/g;
const FILLERS = /[\u115F\u1160\u3164\uFFA0\u2800]/g;
const FORMAT = new RegExp(
	[
		"(?<!\\p{Extended_Pictographic}|\\p{Emoji_Modifier}|\\uFE0F)\\u200D", // ZWJ not after an emoji
		"\\u200D(?!\\p{Extended_Pictographic})", // ZWJ not before one
		"(?<![\\p{L}\\p{M}])\\u200C", // ZWNJ not between letters
		"\\u200C(?![\\p{L}\\p{M}])",
		"(?<!\\u{1F3F4}[\\u{E0020}-\\u{E007F}]*)[\\u{E0020}-\\u{E007F}]", // tags not in a flag sequence
		"(?!\\u200C|\\u200D|[\\u{E0020}-\\u{E007F}])\\p{Cf}", // every other format character
	].join("|"),
	"gu",
);
const VISIBLE = /[\p{L}\p{N}\p{P}\p{S}]/u;

/** The text as it is stored and shown (see the rules above). */
export function cleanText(input: string, mode: TextMode = "line"): string {
	let text = mode === "line" ? input.replace(LINE_BREAKS, " ") : input.replace(BLOCK_BREAKS, "\n");
	// NFC last: removing a character between a letter and its accent lets them compose.
	text = text.replace(CONTROLS, "").replace(FORMAT, "").replace(FILLERS, "").normalize("NFC").trim();
	return VISIBLE.test(text) ? text : "";
}

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** User-perceived characters (grapheme clusters). */
export function graphemeCount(text: string): number {
	let n = 0;
	for (const _ of segmenter.segment(text)) n++;
	return n;
}

/** At most `maxUnits` UTF-16 units, cut at a grapheme boundary (for systems that count units). */
export function truncateUnits(text: string, maxUnits: number): string {
	if (text.length <= maxUnits) return text;
	let out = "";
	for (const { segment } of segmenter.segment(text)) {
		if (out.length + segment.length > maxUnits) break;
		out += segment;
	}
	return out;
}
