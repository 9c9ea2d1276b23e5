import type { TtsConfig } from "../config/tts";
import { espeakEngine } from "./espeak";
import { googleEngine } from "./google";
import type { TtsEngine } from "./types";

export { RenderQueue, withTimeout } from "./queue";
export type { TtsAudio, TtsEngine } from "./types";

/** The engine the config names: the bundled eSpeak NG by default, Google Cloud TTS by TTS_PROVIDER=google. */
export function createTtsEngine(cfg: TtsConfig): TtsEngine {
	if (cfg.provider === "google") {
		return googleEngine({ apiKey: cfg.google.apiKey!, url: cfg.google.url, voices: { id: cfg.google.voiceId, en: cfg.google.voiceEn } });
	}
	return espeakEngine({ workers: cfg.concurrency });
}
