import { cleanText, graphemeCount } from "../text";

/**
 * Chat text rules: one line of 1–500 characters (user-perceived characters: an emoji, a flag or a
 * letter with accents is one). The text is cleaned by lib/domain/text.ts first (NFC; control, bidi and
 * other format characters removed, the joiner inside emoji kept; line breaks folded to spaces), so
 * a message cannot be blank-but-long or reorder the text around it.
 */
export const MAX_TEXT_CHARS = 500;

export type TextVerdict = { ok: true; text: string } | { ok: false; message: string };

/** Normalizes chat text and checks its length; the result is what gets stored and shown. */
export function normalizeChatText(input: unknown, max = MAX_TEXT_CHARS): TextVerdict {
	if (typeof input !== "string") return { ok: false, message: "text must be a string" };
	const text = cleanText(input, "line");
	const length = graphemeCount(text);
	if (length === 0) return { ok: false, message: "text must not be empty" };
	if (length > max) return { ok: false, message: `text must be at most ${max} characters` };
	return { ok: true, text };
}

export function codePoints(text: string): number {
	let n = 0;
	for (const _ of text) n++;
	return n;
}

/** A client-chosen idempotency nonce: 1–64 visible ASCII characters. */
export function isValidNonce(nonce: unknown): nonce is string {
	return typeof nonce === "string" && /^[\x21-\x7E]{1,64}$/.test(nonce);
}
