/**
 * Search text for creator names and bios, the same for Indonesian and English: letters folded to
 * their base form (diacritics dropped: "José" → "jose", "Đức" → "duc"), lower-cased, split on
 * anything that is not a letter or a digit. Neither language needs more than that for names:
 * Indonesian has no inflection a name search must undo (affixes like "ber-"/"-kan" are left
 * alone, as a prefix search covers "main" → "mainkan"), and reduplication ("kata-kata") splits
 * into its words. No stop words: bios are short and weigh least.
 */

/** Letters NFKD does not decompose into a base letter and a mark. */
const SPECIAL: Record<string, string> = { ß: "ss", æ: "ae", œ: "oe", ø: "o", đ: "d", ð: "d", ł: "l", þ: "th", ı: "i", ħ: "h" };
const SPECIAL_RE = /[ßæœøđðłþıħ]/g;
const MARKS_RE = /\p{M}+/gu;
const SPLIT_RE = /[^\p{L}\p{N}]+/u;

/** Folds one string for matching: base letters, lower case. */
export function foldText(s: string): string {
	return s
		.normalize("NFKD")
		.replace(MARKS_RE, "")
		.toLowerCase()
		.replace(SPECIAL_RE, (c) => SPECIAL[c] ?? c);
}

/** The words of a text, folded; empty pieces dropped. */
export function words(s: string): string[] {
	return foldText(s)
		.split(SPLIT_RE)
		.filter((w) => w.length > 0);
}

/**
 * The words of a username: its parts ("alice_streams" → "alice", "streams") and, when it has
 * several, the whole name without separators ("alicestreams"), so both are found.
 */
export function usernameWords(username: string): string[] {
	const parts = words(username);
	return parts.length > 1 ? [parts.join(""), ...parts] : parts;
}

/** Edit distance allowed for a query word: none below 4 letters, one up to 6, two above ("one or two letters off"). */
export function fuzzyDistance(word: string): number {
	return word.length < 4 ? 0 : word.length <= 6 ? 1 : 2;
}
