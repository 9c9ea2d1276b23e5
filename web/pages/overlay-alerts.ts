import { app, h, mount, query } from "../lib/dom";
import { lang, t } from "../lib/i18n";
import { ShownIds } from "../lib/shown";
import { embedUrl, parseYouTube } from "../lib/youtube";
import { overlaySocket, setOverlayState, type OverlaySocket } from "../lib/overlay-socket";
import type { AlertPayload } from "../../lib/domain/alerts";
import "../styles/overlay.css";

/**
 * OBS browser-source overlay: one alert at a time from the /overlay namespace, acknowledged with
 * `alert:done {id}` when it has been shown. Ids already shown (remembered in localStorage) are
 * acknowledged again without being shown, so reconnects never repeat an alert.
 *
 * An alert plays its variation: the image (or GIF) placed per `layout`, the sound at `volume`,
 * then the speech the server rendered (`ttsUrl`, or `alert:tts` when it arrives a moment later),
 * for `durationSec` or until the sound and speech have ended, whichever is longer; the next alert
 * waits for all of it. Media are loaded as soon as an alert arrives (preloaded while it waits), so
 * the first frame is not blank. Without server speech (no media library yet, engine failed) the
 * browser's own voices read it when it has any.
 *
 * Query: token (required), duration (seconds, overrides the alert's), tts=1|0, volume=0..1 (scales the alert's).
 */
/** What the overlay receives (`alert`): the server's payload; fields added since may be missing from alerts stored before. */
type Alert = Pick<AlertPayload, "id" | "type" | "donorName" | "amount" | "currency" | "formattedAmount"> &
	Partial<Omit<AlertPayload, "id" | "type" | "donorName" | "amount" | "currency" | "formattedAmount" | "mediaUrl">> & { mediaUrl?: string | null };

interface Loaded {
	alert: Alert;
	image: HTMLImageElement | null;
	sound: HTMLAudioElement | null;
	speech: HTMLAudioElement | null;
}

const token = query("token");
const root = app();
const shown = new ShownIds("mediashar.overlay.shown");
const queue: Loaded[] = [];
/** Speech that arrived before (or without) its alert being on screen, by alert id. */
const lateSpeech = new Map<string, string>();
let current: { loaded: Loaded; finish: () => void; speechArrived: (url: string) => void } | null = null;
let socket: OverlaySocket | null = null;

const SAME_ORIGIN = (url: string | null | undefined): url is string => typeof url === "string" && url.startsWith("/") && !url.startsWith("//");

function volumeScale(): number {
	const v = Number(query("volume"));
	return Number.isFinite(v) && v >= 0 && v <= 1 && query("volume") !== null ? v : 1;
}

function displaySeconds(a: Alert): number {
	const fromQuery = Number(query("duration"));
	const own = a.durationSec ?? a.displaySeconds;
	const base = Number.isFinite(fromQuery) && fromQuery > 0 ? fromQuery : own && own > 0 ? own : 8;
	return a.mediaUrl && a.mediaSeconds && parseYouTube(a.mediaUrl) ? Math.max(base, a.mediaSeconds + 1) : base;
}

function ttsWanted(a: Alert): boolean {
	const q = query("tts");
	if (q === "0") return false;
	return q === "1" || a.tts === true;
}

function audio(url: string, volume: number, className: string): HTMLAudioElement {
	const el = new Audio();
	el.className = className;
	el.hidden = true;
	el.preload = "auto";
	el.volume = Math.min(1, Math.max(0, volume));
	el.src = url;
	el.load();
	return el;
}

/** Starts loading everything an alert shows and plays, so it is ready when its turn comes. */
function preload(a: Alert): Loaded {
	let image: HTMLImageElement | null = null;
	if (SAME_ORIGIN(a.imageUrl)) {
		image = new Image();
		image.decoding = "async";
		image.src = a.imageUrl;
		image.className = "alert-image";
		image.alt = "";
	}
	const vol = (a.volume ?? 1) * volumeScale();
	const sound = SAME_ORIGIN(a.soundUrl) ? audio(a.soundUrl, vol, "alert-sound") : null;
	const speechUrl = a.ttsUrl ?? lateSpeech.get(a.id) ?? null;
	const speech = SAME_ORIGIN(speechUrl) && ttsWanted(a) ? audio(speechUrl, volumeScale(), "alert-speech") : null;
	return { alert: a, image, sound, speech };
}

/** Plays to the end (or until it fails); never rejects. */
function playToEnd(el: HTMLAudioElement): Promise<void> {
	return new Promise((resolve) => {
		const done = () => resolve();
		el.addEventListener("ended", done, { once: true });
		el.addEventListener("error", done, { once: true });
		el.play().catch(done);
	});
}

function browserSpeech(a: Alert): Promise<void> {
	if (!("speechSynthesis" in window)) return Promise.resolve();
	return new Promise((resolve) => {
		const text = `${a.donorName} ${t("overlay.donated")} ${a.formattedAmount}. ${a.message ?? ""}`;
		const u = new SpeechSynthesisUtterance(text);
		u.lang = lang() === "id" ? "id-ID" : "en-US";
		u.volume = volumeScale();
		const done = () => resolve();
		u.onend = done;
		u.onerror = done;
		speechSynthesis.speak(u);
		// Voices can be missing in a browser source; never hold the queue for long.
		setTimeout(done, 30_000);
	});
}

function titleOf(a: Alert): HTMLElement {
	// A variation's own title as its template renders it; the default look in the overlay's language.
	if (a.variationId && a.title) return h("h1", { class: "alert-title" }, a.title);
	return h(
		"h1",
		{ class: "alert-title" },
		h("span", { class: "alert-donor" }, a.donorName),
		" ",
		h("span", { class: "alert-verb" }, t("overlay.donated")),
		" ",
		h("span", { class: "alert-amount" }, a.formattedAmount),
	);
}

function alertCard(l: Loaded): HTMLElement {
	const a = l.alert;
	const video = a.mediaUrl ? parseYouTube(a.mediaUrl) : null;
	const text = h(
		"div",
		{ class: "alert-text" },
		titleOf(a),
		a.message && !(a.variationId && a.title?.includes(a.message)) ? h("p", { class: "alert-message" }, a.message) : null,
	);
	return h(
		"section",
		{
			class: `alert-card layout-${a.layout ?? "image-above"}${a.type === "test" ? " is-test" : ""}`,
			dataset: { alertId: a.id, variationId: a.variationId ?? "" },
			role: "status",
		},
		a.type === "test" ? h("span", { class: "alert-badge" }, t("overlay.test")) : null,
		video
			? h(
					"div",
					{ class: "alert-media" },
					h("iframe", {
						src: embedUrl(video, a.mediaSeconds),
						title: t("overlay.media"),
						allow: "autoplay; encrypted-media",
						referrerpolicy: "strict-origin-when-cross-origin",
						sandbox: "allow-scripts allow-same-origin allow-presentation",
					}),
				)
			: null, // anything but a YouTube video is never shown (rows stored before the API refused them)
		h("div", { class: "alert-body" }, l.image ? h("div", { class: "alert-visual" }, l.image) : null, text),
		// In the card (hidden), so the page can be inspected: what plays belongs to the alert on screen.
		l.sound,
		l.speech,
	);
}

function showNext() {
	if (current || queue.length === 0) return;
	const loaded = queue.shift()!;
	const alert = loaded.alert;
	if (shown.has(alert.id)) {
		acknowledge(alert.id);
		return showNext();
	}
	shown.add(alert.id);
	const card = alertCard(loaded);
	const stage = document.getElementById("stage")!;
	mount(stage, card);
	let finished = false;
	let gotSpeech: (url: string) => void = () => {};
	const speechUrl = new Promise<string | null>((resolve) => {
		if (loaded.speech) return resolve(loaded.speech.src);
		gotSpeech = (url) => resolve(url);
		// Server speech may arrive a moment after the alert (alert:tts); past that, the browser's voices.
		setTimeout(() => resolve(null), Math.min(3_000, displaySeconds(alert) * 1000));
	});
	const finish = () => {
		if (finished) return;
		finished = true;
		clearTimeout(timer);
		card.classList.add("leave");
		loaded.sound?.pause();
		loaded.speech?.pause();
		if ("speechSynthesis" in window) speechSynthesis.cancel();
		setTimeout(() => {
			card.remove();
			current = null;
			acknowledge(alert.id);
			showNext();
		}, 400);
	};
	current = { loaded, finish, speechArrived: (url) => gotSpeech(url) };
	const playback = (async () => {
		if (loaded.sound) await playToEnd(loaded.sound);
		if (!ttsWanted(alert)) return;
		const url = await speechUrl;
		if (finished) return;
		if (url) {
			loaded.speech ??= audio(url, volumeScale(), "alert-speech");
			card.append(loaded.speech);
			await playToEnd(loaded.speech);
		} else await browserSpeech(alert);
	})();
	let timeUp = false;
	const timer = setTimeout(
		() => {
			timeUp = true;
			void playback.then(finish);
		},
		displaySeconds(alert) * 1000,
	);
	void playback.then(() => timeUp && finish());
}

function acknowledge(id: string) {
	socket?.emit("alert:done", { id });
}

function receive(a: Alert) {
	if (!a || typeof a.id !== "string") return;
	// The one on screen or already waiting: a re-send after a reconnect; it will be acked when done.
	if (current?.loaded.alert.id === a.id || queue.some((q) => q.alert.id === a.id)) return;
	if (shown.has(a.id)) return acknowledge(a.id);
	queue.push(preload(a));
	showNext();
}

function speechArrived(p: { id?: string; ttsUrl?: string } | undefined) {
	if (!p?.id || !SAME_ORIGIN(p.ttsUrl)) return;
	if (current?.loaded.alert.id === p.id) return current.speechArrived(p.ttsUrl);
	const waiting = queue.find((q) => q.alert.id === p.id);
	if (waiting) waiting.speech ??= ttsWanted(waiting.alert) ? audio(p.ttsUrl, volumeScale(), "alert-speech") : null;
	else lateSpeech.set(p.id, p.ttsUrl);
}

mount(root, h("div", { id: "stage", class: "stage" }), h("p", { id: "overlay-status", class: "overlay-status", hidden: true }));

if (!token) {
	setOverlayState("error", t("overlay.noToken"));
} else {
	socket = overlaySocket(token);
	socket.on("alert", receive);
	socket.on("alert:tts", speechArrived);
	for (const ev of ["alert:skip", "alert:skipped", "alert:cancel"]) {
		socket.on(ev, (p: { id?: string } | undefined) => {
			if (current && (!p?.id || p.id === current.loaded.alert.id)) current.finish();
		});
	}
}
