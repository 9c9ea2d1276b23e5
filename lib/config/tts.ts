import { intEnv } from "./env";

/** Server-side text-to-speech of alerts (services/alerts, lib/tts). */
export interface TtsConfig {
	/** `espeak` (bundled, offline: the default) or `google` (Google Cloud Text-to-Speech). */
	provider: "espeak" | "google";
	/** Longest a render may wait and run before the alert goes on without it. */
	timeoutMs: number;
	/** How long an alert about to go on screen waits for its speech (0: never; the speech follows as `alert:tts`). */
	waitMs: number;
	/** Renders at once in one process (each channel renders one at a time anyway). */
	concurrency: number;
	google: { apiKey?: string; url: string; voiceId: string; voiceEn: string };
}

export function ttsConfig(env: NodeJS.ProcessEnv): TtsConfig {
	const provider = (env.TTS_PROVIDER || "espeak").toLowerCase();
	if (provider !== "espeak" && provider !== "google") throw new Error(`TTS_PROVIDER must be "espeak" or "google", got "${env.TTS_PROVIDER}".`);
	const google = {
		apiKey: env.GOOGLE_TTS_API_KEY || undefined,
		url: (env.GOOGLE_TTS_URL || "https://texttospeech.googleapis.com").replace(/\/+$/, ""),
		voiceId: env.GOOGLE_TTS_VOICE_ID || "id-ID-Standard-A",
		voiceEn: env.GOOGLE_TTS_VOICE_EN || "en-US-Standard-C",
	};
	if (provider === "google" && !google.apiKey) throw new Error("GOOGLE_TTS_API_KEY must be set when TTS_PROVIDER=google.");
	return {
		provider,
		timeoutMs: Math.max(100, intEnv("TTS_TIMEOUT_MS", 5_000, env)),
		waitMs: Math.max(0, intEnv("TTS_WAIT_MS", 0, env)),
		concurrency: Math.max(1, intEnv("TTS_CONCURRENCY", 1, env)),
		google,
	};
}
