/**
 * Chat text rules: one line of 1–500 characters (counted in code points, so an emoji is one).
 * Control characters, bidi overrides and invisible padding are removed before counting, so a
 * message cannot be blank-but-long or reorder the text around it.
 */
export const MAX_TEXT_CHARS = 500;

// C0/C1 controls except tab/newline (folded to spaces below), bidi embedding/override/isolate
// marks, zero-width space and BOM. The zero-width joiner stays: emoji sequences need it.
// eslint-disable-next-line no-control-regex -- stripping control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\u200B\u200E\u200F\uFEFF]/g;
const LINE_BREAKS = /[\t\r\n\u2028\u2029]+/g;

export type TextVerdict = { ok: true; text: string } | { ok: false; message: string };

/** Normalizes chat text and checks its length; the result is what gets stored and shown. */
export function normalizeChatText(input: unknown, max = MAX_TEXT_CHARS): TextVerdict {
	if (typeof input !== "string") return { ok: false, message: "text must be a string" };
	const text = input.normalize("NFC").replace(LINE_BREAKS, " ").replace(INVISIBLE, "").trim();
	const length = codePoints(text);
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
