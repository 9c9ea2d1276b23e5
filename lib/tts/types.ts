import type { TtsLanguage } from "../domain/alerts/speech";

/** One text-to-speech engine: text in, one audio file out. */
export interface TtsEngine {
	/** Short name for logs and the cache key ("espeak-ng", "google"). */
	readonly name: string;
	synthesize(text: string, lang: TtsLanguage): Promise<TtsAudio>;
	/** Frees what the engine holds (worker threads). */
	close?(): Promise<void>;
}

export interface TtsAudio {
	data: Buffer;
	contentType: string;
	/** The file name's extension ("wav", "mp3"). */
	ext: string;
}
