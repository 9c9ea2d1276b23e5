import unhomoglyph from "unhomoglyph";

/**
 * Blocked-term filtering for donation messages, donor names (and anything else a streamer shows
 * on stream). Matching is case-insensitive, ignores accents, invisible format characters (zero-width
 * space and joiner, soft hyphen, bidi marks: Unicode category Cf) and combining marks, folds
 * look-alike letters from other scripts to the Latin letter they imitate (Unicode's confusables
 * table, via `unhomoglyph`: Cyrillic "а", Greek "ο", fullwidth and mathematical letters…) and
 * common look-alike digits, and respects word boundaries for plain words so "class" does not trip
 * on "ass". Multi-word terms match as phrases. Terms and text go through the same folding, so a
 * term written in Cyrillic still matches Cyrillic text.
 */
export interface ModerationResult {
	/** The text with every blocked term replaced by asterisks of the same length. */
	masked: string;
	/** The distinct blocked terms found. */
	matched: string[];
}

const LEET: Record<string, string> = { "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", $: "s" };
const SKIPPED = /^[\p{Cf}\p{M}]$/u;

/**
 * The one character a code point is matched as ("" for one matching skips). ASCII keeps its own
 * letters (the confusables table would turn "m" into "rn" and "I" into "l"); anything else is
 * decomposed, stripped of marks and mapped through the confusables table. Where the table gives
 * several characters ("ы" → "bl") the first one is kept, so every input code point stays one
 * position and masking lines up with the original text.
 */
export function foldChar(c: string): string {
	if (SKIPPED.test(c)) return "";
	let x = c;
	if (c.charCodeAt(0) > 0x7f) {
		x = c.normalize("NFKD").replace(/\p{M}/gu, "");
		if (x && !/^[\x20-\x7e]+$/.test(x)) x = unhomoglyph(x);
	}
	const first = Array.from(x.toLowerCase())[0] ?? "";
	return LEET[first] ?? first;
}

/** Lower-case, strip accents and invisible characters, fold look-alikes: the form terms are matched in. */
export function fold(text: string): string {
	return Array.from(text, foldChar).join("");
}

function escapeRegExp(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Finds blocked terms in `text`. The text is folded one code point at a time; skipped code points
 * (format characters, lone marks) take no position in the folded form, so "sc\u200Bam" is "scam".
 * A masked span loses its invisible characters and every visible one becomes "*".
 */
export function moderate(text: string, blockedTerms: string[]): ModerationResult {
	if (!text || blockedTerms.length === 0) return { masked: text, matched: [] };
	const chars = Array.from(text);
	const positions: number[] = []; // folded position → index in `chars`
	const foldedPoints: string[] = [];
	chars.forEach((c, i) => {
		const f = foldChar(c);
		if (!f) return;
		foldedPoints.push(f);
		positions.push(i);
	});
	const asString = foldedPoints.join("");
	const mask = new Array<boolean>(chars.length).fill(false);
	const matched = new Set<string>();
	for (const raw of blockedTerms) {
		const term = fold(raw.trim()).trim();
		if (!term) continue;
		const wordy = /^[\p{L}\p{N}]/u.test(term) && /[\p{L}\p{N}]$/u.test(term);
		const body = escapeRegExp(term).replace(/\s+/g, "\\s+");
		const pattern = wordy ? new RegExp(`(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])`, "gu") : new RegExp(body, "gu");
		let m: RegExpExecArray | null;
		while ((m = pattern.exec(asString)) !== null) {
			const start = Array.from(asString.slice(0, m.index)).length;
			const len = Array.from(m[0]).length;
			if (len > 0) {
				const from = positions[start];
				const to = positions[start + len - 1];
				for (let i = from; i <= to; i++) if (!/\s/.test(chars[i])) mask[i] = true;
				matched.add(raw.trim().toLowerCase());
			}
			if (m[0].length === 0) pattern.lastIndex++;
		}
	}
	const masked = chars.map((c, i) => (mask[i] ? (SKIPPED.test(c) ? "" : "*") : c)).join("");
	return { masked, matched: [...matched] };
}
