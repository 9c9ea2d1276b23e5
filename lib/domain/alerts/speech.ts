import { moderate } from "../moderation";

/**
 * What the server-side text-to-speech says for an alert: the donor's name and the moderated
 * message, cleaned so a tip cannot make the stream spell out garbage. Blocked terms are spoken as
 * one neutral word; URLs as "link"; runs of one repeated character are cut to two ("heyyyyyy" →
 * "heyy") and runs of emoji to one; the message is cut at `maxChars` (at a word boundary when one
 * is close).
 */

export const TTS_LANGUAGES = ["id", "en"] as const;
export type TtsLanguage = (typeof TTS_LANGUAGES)[number];
export const DEFAULT_TTS_MAX_CHARS = 200;
/** A donor name is a name: longer ones are cut before speaking. */
const MAX_NAME_CHARS = 50;

const WORDS: Record<TtsLanguage, { link: string; blocked: string; says: string }> = {
	id: { link: "tautan", blocked: "sensor", says: "berkata" },
	en: { link: "link", blocked: "bleep", says: "says" },
};

const URL_RE =
	/\b(?:https?:\/\/|www\.)[^\s<>"']+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|id|io|co|me|gg|tv|ly|xyz|info|biz|link|app|dev)(?:\/[^\s<>"']*)?/giu;
/** One emoji: a pictograph with its modifiers and ZWJ-joined parts, or a flag (two regional indicators). */
const EMOJI =
	"(?:\\p{Regional_Indicator}{2}|\\p{Extended_Pictographic}[\\uFE0F\\p{Emoji_Modifier}]*(?:\\u200D\\p{Extended_Pictographic}[\\uFE0F\\p{Emoji_Modifier}]*)*)";
const EMOJI_RUN = new RegExp(`(${EMOJI})(?:\\s*${EMOJI})+`, "gu");
const REPEATED = /(.)\1{2,}/gsu;
/** A masked span: one or more asterisks, possibly separated by spaces (a masked phrase). */
const MASKED = /\*+(?:\s+\*+)*/g;

/** URLs in `text` (for a "strip links" or "hold links" setting and for speech). */
export function findLinks(text: string): string[] {
	return [...text.matchAll(URL_RE)].map((m) => m[0]);
}

/** `text` with every URL removed (spaces around it tidied). */
export function stripLinks(text: string): string {
	return text
		.replace(URL_RE, "")
		.replace(/\s{2,}/g, " ")
		.trim();
}

/** Collapses repeated characters and emoji runs, reads URLs as a word and masks blocked terms. */
export function cleanForSpeech(text: string, terms: string[], lang: TtsLanguage): string {
	const words = WORDS[lang];
	let out = text.replace(URL_RE, ` ${words.link} `);
	// Mask on the text as written, then speak each masked span as one word.
	out = moderate(out, terms).masked.replace(MASKED, words.blocked);
	out = out.replace(EMOJI_RUN, "$1").replace(REPEATED, "$1$1");
	return out.replace(/\s+/g, " ").trim();
}

/** Cuts `text` to `max` code points, at the last space when it is in the final fifth. */
export function cut(text: string, max: number): string {
	const chars = Array.from(text);
	if (chars.length <= max) return text;
	const head = chars.slice(0, max).join("");
	const space = head.lastIndexOf(" ");
	return (space >= head.length * 0.8 ? head.slice(0, space) : head).trim();
}

/** The sentence spoken for an alert: "<name> says: <message>" (or just the name when there is no message). */
export function speechText(input: { name: string; message: string; terms: string[]; lang: TtsLanguage; maxChars: number }): string {
	const name = cut(cleanForSpeech(input.name, input.terms, input.lang), MAX_NAME_CHARS);
	const message = cut(cleanForSpeech(input.message, input.terms, input.lang), Math.max(0, input.maxChars));
	return message ? `${name} ${WORDS[input.lang].says}: ${message}` : name;
}
