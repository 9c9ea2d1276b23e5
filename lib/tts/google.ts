import type { TtsLanguage } from "../domain/alerts/speech";
import type { TtsAudio, TtsEngine } from "./types";

/**
 * Google Cloud Text-to-Speech over REST (`POST /v1/text:synthesize?key=…`): the request names the
 * input text, a voice (`languageCode`, `name`) and `audioConfig.audioEncoding`; the answer's
 * `audioContent` is the audio file, base64-encoded. Used when TTS_PROVIDER=google.
 */
export interface GoogleTtsOptions {
	apiKey: string;
	/** Base URL (default https://texttospeech.googleapis.com). */
	url: string;
	voices: Record<TtsLanguage, string>;
	fetchImpl?: typeof fetch;
}

const LANGUAGE_CODES: Record<TtsLanguage, string> = { id: "id-ID", en: "en-US" };

export function googleEngine(opts: GoogleTtsOptions): TtsEngine {
	const doFetch = opts.fetchImpl ?? fetch;
	return {
		name: "google",
		async synthesize(text: string, lang: TtsLanguage): Promise<TtsAudio> {
			const res = await doFetch(`${opts.url}/v1/text:synthesize?key=${encodeURIComponent(opts.apiKey)}`, {
				method: "POST",
				headers: { "content-type": "application/json; charset=utf-8" },
				body: JSON.stringify({
					input: { text },
					voice: { languageCode: LANGUAGE_CODES[lang], name: opts.voices[lang] },
					audioConfig: { audioEncoding: "MP3" },
				}),
			});
			const body = (await res.json().catch(() => null)) as { audioContent?: string; error?: { message?: string; status?: string } } | null;
			if (!res.ok)
				throw new Error(
					`Google TTS answered ${res.status}${body?.error?.status ? ` ${body.error.status}` : ""}: ${body?.error?.message ?? "no message"}`,
				);
			if (!body?.audioContent) throw new Error("Google TTS answered without audioContent");
			const data = Buffer.from(body.audioContent, "base64");
			if (data.length === 0) throw new Error("Google TTS answered with empty audio");
			return { data, contentType: "audio/mpeg", ext: "mp3" };
		},
	};
}
