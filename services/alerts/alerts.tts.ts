import { createHash } from "node:crypto";
import { createTtsEngine, RenderQueue, withTimeout } from "../../lib/tts";
import { speechText } from "../../lib/domain/alerts/speech";
import { blockedTermsOf } from "../../lib/domain/user-settings";
import { rooms } from "../../lib/domain/rooms";
import type { AlertDoc } from "../../lib/domain/alerts";
import type { TtsConfig } from "../../lib/config/tts";
import type { AlertsPart, MediaFile, This } from "./alerts.types";

/**
 * Server-side text-to-speech of alerts, off the alert's critical path. An alert that asks for
 * speech is stored with the sparse mark `ttsDue` and goes on with the queue at once; its speech
 * (the shown donor name and the moderated message, see lib/domain/alerts/speech.ts) renders in the
 * render queue (one per channel at a time, TTS_CONCURRENCY per process, given up after
 * TTS_TIMEOUT_MS) and is stored content-addressed in the media library (`media.storeGenerated`).
 * Then `payload.ttsUrl` is set; an alert still queued carries it when it goes out, and one already
 * on screen gets `alert:tts {id, ttsUrl}`. A failing or slow engine only leaves `ttsUrl` null (the
 * log says why). The same text in the same language is rendered once per process (cache) and
 * stored once (content addressing). Crash recovery: the tick re-drives `ttsDue` alerts that no
 * render in this process is working on.
 */

const CACHE_MAX = 500;

function contentKey(engine: string, lang: string, text: string): string {
	return createHash("sha256").update(`${engine}\n${lang}\n${text}`).digest("hex");
}

/** Seconds of a 16-bit PCM WAV file (its `data` chunk), or null for anything else. */
export function wavSeconds(data: Buffer): number | null {
	if (data.length < 44 || data.toString("ascii", 0, 4) !== "RIFF" || data.toString("ascii", 8, 12) !== "WAVE") return null;
	const byteRate = data.readUInt32LE(28);
	return byteRate > 0 ? Math.max(0, data.length - 44) / byteRate : null;
}

const tts: AlertsPart = {
	methods: {
		/** Starts the speech of an alert (once per alert in this process); resolves with its URL or null. */
		speak(alert: AlertDoc) {
			const running = this.ttsRunning.get(alert._id);
			if (running) return running;
			const job = this.renderSpeech(alert).finally(() => this.ttsRunning.delete(alert._id));
			this.ttsRunning.set(alert._id, job);
			return job;
		},

		async renderSpeech(alert: AlertDoc) {
			const settings = await this.settingsOf(alert.userId);
			const lang = settings.alerts.ttsLanguage;
			const text = speechText({
				name: alert.payload.donorName,
				message: alert.payload.message,
				terms: blockedTermsOf(settings),
				lang,
				maxChars: settings.alerts.ttsMaxChars,
			});
			const key = contentKey(this.ttsEngine.name, lang, text);
			let url: string | null = null;
			let seconds: number | null = null;
			try {
				const cached = this.ttsCache.get(key);
				if (cached) ({ url, seconds } = cached);
				else {
					({ url, seconds } = await this.ttsQueue.run(alert.userId, async () => {
						const audio = await this.ttsEngine.synthesize(text, lang);
						const file = await this.broker.call<MediaFile, Record<string, unknown>>("media.storeGenerated", {
							ownerId: alert.userId,
							data: audio.data,
							contentType: audio.contentType,
							name: `tts-${key.slice(0, 16)}.${audio.ext}`,
						});
						return { url: file.url, seconds: file.durationSec ?? wavSeconds(audio.data) };
					}));
					if (this.ttsCache.size >= CACHE_MAX) this.ttsCache.delete(this.ttsCache.keys().next().value!);
					this.ttsCache.set(key, { url: url!, seconds });
				}
			} catch (err) {
				this.logger.warn(`Alert ${alert._id} goes on without speech (${this.ttsEngine.name}): ${(err as Error).message}`);
			}
			const $set: Record<string, unknown> = { "payload.ttsUrl": url };
			if (seconds !== null) $set["payload.ttsSeconds"] = Math.ceil(seconds);
			await this.store.updateIf({ _id: alert._id, ttsDue: { $exists: true } }, { $set, $unset: { ttsDue: true } });
			if (url) {
				const ch = await this.stores.alert_channels.findById(alert.userId);
				if (ch?.showing === alert._id) this.pushOverlay([rooms.overlay(alert.userId)], "alert:tts", { id: alert._id, ttsUrl: url });
			}
			return url;
		},

		/** Waits (at most TTS_WAIT_MS) for an alert's speech before it goes on screen; the alert as it is then. */
		async withSpeech(alert: AlertDoc) {
			const running = this.ttsRunning.get(alert._id);
			if (!running || this.ttsConfig.waitMs <= 0) return alert;
			const url = await withTimeout(running, this.ttsConfig.waitMs, "wait").catch(() => null);
			return url ? { ...alert, payload: { ...alert.payload, ttsUrl: url } } : alert;
		},

		/** Speech that no render in this process is working on (after a restart): rendered now. */
		async redriveSpeech() {
			const due = await this.store.find({ query: { ttsDue: { $gt: "" } }, limit: 50 });
			for (const a of due) {
				if (this.ttsRunning.has(a._id)) continue;
				if (a.status !== "queued" && a.status !== "showing") {
					await this.store.updateIf({ _id: a._id, ttsDue: { $exists: true } }, { $unset: { ttsDue: true } });
					continue;
				}
				void this.speak(a);
			}
		},
	},
};

/** The engine, queue and cache of one alerts service instance (called from `created()`). */
export function setUpSpeech(svc: This, cfg: TtsConfig): void {
	svc.ttsConfig = cfg;
	svc.ttsEngine = createTtsEngine(svc.ttsConfig);
	svc.ttsQueue = new RenderQueue(svc.ttsConfig.concurrency, svc.ttsConfig.timeoutMs);
	svc.ttsCache = new Map();
	svc.ttsRunning = new Map();
}

export default tts;
