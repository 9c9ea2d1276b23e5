import { moderate } from "../moderation";
import { normalizeTerms } from "../user-settings";

/**
 * Blocked terms for channel chat. Matching is the same as for donation messages (lib/moderation:
 * case- and accent-insensitive, look-alike digits folded, whole words for plain words); chat
 * refuses the message instead of masking it, and tells the sender which rule refused it.
 */
export const MAX_BLOCKED_TERMS = 200;
export const MAX_TERM_LENGTH = 100;

/** Trimmed, lower-cased, unique, non-empty; at most MAX_BLOCKED_TERMS. */
export function cleanBlockedTerms(terms: string[]): string[] {
	return normalizeTerms(terms).slice(0, MAX_BLOCKED_TERMS);
}

/** The first blocked term `text` contains, or null. */
export function findBlockedTerm(text: string, terms: string[]): string | null {
	if (terms.length === 0) return null;
	const { matched } = moderate(text, terms);
	return matched[0] ?? null;
}
