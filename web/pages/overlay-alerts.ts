import { io } from "socket.io-client";
import { app, h, mount, query } from "../lib/dom";
import { lang, t } from "../lib/i18n";
import { ShownIds } from "../lib/shown";
import { embedUrl, parseYouTube } from "../lib/youtube";
import "../styles/overlay.css";

/**
 * OBS browser-source overlay: one alert at a time from the /overlay namespace, acknowledged with
 * `alert:done {id}` when it has been shown. Ids already shown (remembered in localStorage) are
 * acknowledged again without being shown, so reconnects never repeat an alert.
 *
 * Query: token (required), duration (seconds, default from the alert or 8), tts=1|0, volume=0..1.
 */
interface Alert {
	id: string;
	donationId?: string;
	type: "donation" | "test" | string;
	donorName: string;
	amount: number;
	currency: string;
	formattedAmount: string;
	message?: string;
	mediaUrl?: string | null;
	mediaSeconds?: number;
	displaySeconds?: number;
	tts?: boolean;
	createdAt?: string;
}

const token = query("token");
const root = app();
const shown = new ShownIds("mediashar.overlay.shown");
const queue: Alert[] = [];
let current: { alert: Alert; finish: () => void } | null = null;

function setState(state: string, text?: string) {
	document.body.dataset.state = state;
	const status = document.getElementById("overlay-status");
	if (status) {
		status.textContent = text ?? "";
		status.hidden = !text;
	}
}

function displaySeconds(a: Alert): number {
	const fromQuery = Number(query("duration"));
	const base = Number.isFinite(fromQuery) && fromQuery > 0 ? fromQuery : a.displaySeconds && a.displaySeconds > 0 ? a.displaySeconds : 8;
	return a.mediaUrl && a.mediaSeconds && parseYouTube(a.mediaUrl) ? Math.max(base, a.mediaSeconds + 1) : base;
}

function ttsWanted(a: Alert): boolean {
	const q = query("tts");
	if (q === "0") return false;
	return (q === "1" || a.tts === true) && "speechSynthesis" in window;
}

function speak(a: Alert): Promise<void> {
	return new Promise((resolve) => {
		const text = `${a.donorName} ${t("overlay.donated")} ${a.formattedAmount}. ${a.message ?? ""}`;
		const u = new SpeechSynthesisUtterance(text);
		u.lang = lang() === "id" ? "id-ID" : "en-US";
		const vol = Number(query("volume"));
		if (Number.isFinite(vol) && vol >= 0 && vol <= 1) u.volume = vol;
		const done = () => resolve();
		u.onend = done;
		u.onerror = done;
		speechSynthesis.speak(u);
		// Voices can be missing in a browser source; never hold the queue for long.
		setTimeout(done, 30_000);
	});
}

function alertCard(a: Alert): HTMLElement {
	const video = a.mediaUrl ? parseYouTube(a.mediaUrl) : null;
	return h(
		"section",
		{ class: `alert-card${a.type === "test" ? " is-test" : ""}`, dataset: { alertId: a.id }, role: "status" },
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
		h(
			"h1",
			{ class: "alert-title" },
			h("span", { class: "alert-donor" }, a.donorName),
			" ",
			h("span", { class: "alert-verb" }, t("overlay.donated")),
			" ",
			h("span", { class: "alert-amount" }, a.formattedAmount),
		),
		a.message ? h("p", { class: "alert-message" }, a.message) : null,
	);
}

function showNext() {
	if (current || queue.length === 0) return;
	const alert = queue.shift()!;
	if (shown.has(alert.id)) {
		acknowledge(alert.id);
		return showNext();
	}
	shown.add(alert.id);
	const card = alertCard(alert);
	const stage = document.getElementById("stage")!;
	mount(stage, card);
	let finished = false;
	const finish = () => {
		if (finished) return;
		finished = true;
		clearTimeout(timer);
		card.classList.add("leave");
		if ("speechSynthesis" in window) speechSynthesis.cancel();
		setTimeout(() => {
			card.remove();
			current = null;
			acknowledge(alert.id);
			showNext();
		}, 400);
	};
	current = { alert, finish };
	const seconds = displaySeconds(alert);
	const speech = ttsWanted(alert) ? speak(alert) : Promise.resolve();
	const timer = setTimeout(() => void speech.then(finish), seconds * 1000);
}

function acknowledge(id: string) {
	socket?.emit("alert:done", { id });
}

function receive(a: Alert) {
	if (!a || typeof a.id !== "string") return;
	// The one on screen or already waiting: a re-send after a reconnect; it will be acked when done.
	if (current?.alert.id === a.id || queue.some((q) => q.id === a.id)) return;
	if (shown.has(a.id)) return acknowledge(a.id);
	queue.push(a);
	showNext();
}

let socket: ReturnType<typeof io> | null = null;

mount(root, h("div", { id: "stage", class: "stage" }), h("p", { id: "overlay-status", class: "overlay-status", hidden: true }));

if (!token) {
	setState("error", t("overlay.noToken"));
} else {
	setState("connecting", t("overlay.connecting"));
	socket = io("/overlay", { auth: { token }, reconnectionDelayMax: 10_000 });
	socket.on("connect", () => setState("connected"));
	socket.on("connect_error", (err: Error & { data?: { type?: string } }) => {
		const type = err.data?.type;
		setState("error", type === "INVALID_TOKEN" ? t("overlay.badToken") : t("overlay.offline"));
		// A refused handshake is not retried by socket.io itself; retry slowly (the URL may be fixed server-side).
		if (!socket!.active) setTimeout(() => socket!.connect(), type === "INVALID_TOKEN" ? 30_000 : 3_000);
	});
	socket.on("disconnect", (reason) => {
		setState("connecting", t("overlay.connecting"));
		// Disconnected by the server (token rotated, account suspended): try once more, the handshake tells why.
		if (reason === "io server disconnect") setTimeout(() => socket!.connect(), 1_000);
	});
	socket.on("alert", receive);
	for (const ev of ["alert:skip", "alert:skipped", "alert:cancel"]) {
		socket.on(ev, (p: { id?: string } | undefined) => {
			if (current && (!p?.id || p.id === current.alert.id)) current.finish();
		});
	}
}
