/**
 * Blocked-term filtering for donation messages (and anything else a streamer shows on stream).
 * Matching is case-insensitive, ignores accents and common look-alike digits, and respects word
 * boundaries for plain words so "class" does not trip on "ass". Multi-word terms match as phrases.
 */
export interface ModerationResult {
	/** The text with every blocked term replaced by asterisks of the same length. */
	masked: string;
	/** The distinct blocked terms found. */
	matched: string[];
}

const LEET: Record<string, string> = { "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", $: "s" };

/** Lower-case, strip accents, map look-alike digits: the form terms are matched in. */
export function fold(text: string): string {
	return text
		.normalize("NFKD")
		.replace(/\p{M}/gu, "")
		.toLowerCase()
		.replace(/[0134579@$]/g, (c) => LEET[c] ?? c);
}

function escapeRegExp(s: string): string {
	return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Finds blocked terms in `text`. Folding keeps one character per input character for the ranges
 * we mask (NFKD may expand some, so we fold per character to keep positions aligned).
 */
export function moderate(text: string, blockedTerms: string[]): ModerationResult {
	if (!text || blockedTerms.length === 0) return { masked: text, matched: [] };
	const chars = Array.from(text);
	const folded = chars.map((c) => fold(c).slice(0, 1) || c).join("");
	const mask = new Array<boolean>(chars.length).fill(false);
	const matched = new Set<string>();
	for (const raw of blockedTerms) {
		const term = fold(raw.trim());
		if (!term) continue;
		const wordy = /^[\p{L}\p{N}]/u.test(term) && /[\p{L}\p{N}]$/u.test(term);
		const pattern = wordy
			? new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(term).replace(/\s+/g, "\\s+")}(?![\\p{L}\\p{N}])`, "gu")
			: new RegExp(escapeRegExp(term), "gu");
		// Positions in `folded` are per code point because it was built from Array.from(text).
		const foldedPoints = Array.from(folded);
		const asString = foldedPoints.join("");
		let m: RegExpExecArray | null;
		while ((m = pattern.exec(asString)) !== null) {
			const start = Array.from(asString.slice(0, m.index)).length;
			const len = Array.from(m[0]).length;
			for (let i = start; i < start + len; i++) if (!/\s/.test(chars[i])) mask[i] = true;
			matched.add(raw.trim().toLowerCase());
			if (m[0].length === 0) pattern.lastIndex++;
		}
	}
	const masked = chars.map((c, i) => (mask[i] ? "*" : c)).join("");
	return { masked, matched: [...matched] };
}
