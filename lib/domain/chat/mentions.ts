/**
 * `@username` mentions. A mention starts at a word boundary (so "mail@example.com" is not one),
 * names a valid username (3–25 of a-z, 0-9, _) and is case-insensitive. At most `max` distinct
 * names are returned, in order of first appearance, so one message cannot page the whole channel.
 */
export const MAX_MENTIONS = 10;

const MENTION = /(?<![\p{L}\p{N}_@.])@([A-Za-z0-9_]{3,25})(?![A-Za-z0-9_])/gu;

export function parseMentions(text: string, max = MAX_MENTIONS): string[] {
	const seen: string[] = [];
	for (const m of text.matchAll(MENTION)) {
		const name = m[1].toLowerCase();
		if (!seen.includes(name)) seen.push(name);
		if (seen.length >= max) break;
	}
	return seen;
}
