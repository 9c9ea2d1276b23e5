import { moderate } from "./moderation";
import { blockedTermsOf, type UserSettings } from "./user-settings";
import { findLinks, stripLinks } from "./alerts/speech";
import { DEFAULT_LAYOUT, DEFAULT_TEMPLATE, renderTemplate, type Layout } from "./alerts/variations";

/** What the overlay receives (`alert` on /overlay). */
export interface AlertPayload {
	id: string;
	donationId: string | null;
	type: "donation" | "test";
	donorName: string;
	amount: number;
	currency: string;
	formattedAmount: string;
	message: string;
	mediaUrl?: string;
	mediaSeconds?: number;
	tts: boolean;
	displaySeconds: number;
	createdAt: string;
	/** The look (alert variations): the variation used, or null for the default look. */
	variationId?: string | null;
	/** The rendered template ("{name} donated {amount}" by default). */
	title?: string;
	imageUrl?: string | null;
	soundUrl?: string | null;
	volume?: number;
	durationSec?: number;
	layout?: Layout;
	/** Server-rendered speech of the name and message (same origin), once it is ready. */
	ttsUrl?: string | null;
	/** Length of the speech, when known (the overlay's acknowledgement deadline includes it). */
	ttsSeconds?: number;
}

/** The look of an alert, from its variation (alerts service) or the default one. */
export interface AlertLook {
	variationId: string | null;
	title: string;
	imageUrl: string | null;
	soundUrl: string | null;
	volume: number;
	durationSec: number;
	layout: Layout;
	/** The variation asks for speech even when the channel's setting is off. */
	tts: boolean;
}

/** The default look: the channel's display time, no media. */
export function defaultLook(title: string, s: UserSettings): AlertLook {
	return { variationId: null, title, imageUrl: null, soundUrl: null, volume: 1, durationSec: s.alerts.displaySeconds, layout: DEFAULT_LAYOUT, tts: false };
}

export interface PaidDonation {
	id: string;
	donorName: string;
	amount: number;
	currency: string;
	formattedAmount: string;
	originalMessage?: string;
	/** The donor name as the donor typed it (`donorName` is the shown, masked one). */
	donorDisplayName?: string;
	hideName?: boolean;
	message: string;
	mediaUrl?: string | null;
	mediaSeconds?: number | null;
	paidAt?: string | null;
	createdAt: string;
}

export type Decision = { status: "queued" | "held"; message: string; heldReason: string | null; matchedTerms: string[] };

/**
 * Moderation before an alert: blocked terms mask the message or hold the donation for approval
 * (per the streamer's settings); media share waits for approval when the streamer asks for it.
 */
export function decide(d: PaidDonation, s: UserSettings): Decision {
	const original = d.originalMessage ?? d.message ?? "";
	const terms = blockedTermsOf(s);
	const { masked, matched: inMessage } = moderate(alertMessage(original, s), terms);
	// The donor name is shown on stream too: a blocked term in it is masked (the donations service
	// stored the masked form as `donorName`) or holds the alert like one in the message.
	const inName = d.hideName ? [] : moderate(d.donorDisplayName ?? d.donorName ?? "", terms).matched;
	const matched = [...new Set([...inMessage, ...inName])];
	if (matched.length > 0 && s.moderation.blockedTermAction === "hold") {
		return { status: "held", message: original, heldReason: "BLOCKED_TERM", matchedTerms: matched };
	}
	if (s.moderation.linkAction === "hold" && findLinks(original).length > 0) {
		return { status: "held", message: original, heldReason: "LINK", matchedTerms: matched };
	}
	if (d.mediaUrl && s.mediaShare.requireApproval) {
		return { status: "held", message: masked, heldReason: "MEDIA_APPROVAL", matchedTerms: matched };
	}
	return { status: "queued", message: masked, heldReason: null, matchedTerms: matched };
}

/** A message as the alert shows it: links stripped when the channel asks (before masking). */
export function alertMessage(message: string, s: UserSettings): string {
	return s.moderation.linkAction === "strip" ? stripLinks(message) : message;
}

/** The message shown on stream: links per the setting, blocked terms masked. */
export function moderatedMessage(message: string, s: UserSettings): string {
	return moderate(alertMessage(message, s), blockedTermsOf(s)).masked;
}

/** The donor name shown on stream (masked unless hidden: a hidden name is already "Anonymous"). */
export function shownName(d: Pick<PaidDonation, "donorName" | "hideName">, s: UserSettings): string {
	return d.hideName ? d.donorName : moderate(d.donorName, blockedTermsOf(s)).masked;
}

/** Builds the overlay payload; a held message is masked again when it is finally approved. */
export function buildPayload(
	alertId: string,
	d: PaidDonation,
	message: string,
	s: UserSettings,
	type: "donation" | "test" = "donation",
	look?: AlertLook,
): AlertPayload {
	const donorName = shownName(d, s);
	const shape = look ?? defaultLook(renderTemplate(DEFAULT_TEMPLATE, { name: donorName, amount: d.formattedAmount, message }), s);
	const payload: AlertPayload = {
		id: alertId,
		donationId: type === "test" ? null : d.id,
		type,
		donorName,
		amount: d.amount,
		currency: d.currency,
		formattedAmount: d.formattedAmount,
		message,
		tts: (s.alerts.tts || shape.tts) && d.amount >= s.alerts.ttsMinAmount,
		displaySeconds: shape.durationSec,
		createdAt: new Date().toISOString(),
		variationId: shape.variationId,
		title: shape.title,
		imageUrl: shape.imageUrl,
		soundUrl: shape.soundUrl,
		volume: shape.volume,
		durationSec: shape.durationSec,
		layout: shape.layout,
		ttsUrl: null,
	};
	if (d.mediaUrl && s.mediaShare.enabled) {
		payload.mediaUrl = d.mediaUrl;
		payload.mediaSeconds = d.mediaSeconds ?? s.mediaShare.maxSeconds;
	}
	return payload;
}

/** How long an overlay has to acknowledge an alert before it is sent again. */
export function ackTimeoutMs(p: Pick<AlertPayload, "displaySeconds" | "mediaSeconds" | "ttsSeconds">, graceMs: number): number {
	return (p.displaySeconds + (p.mediaSeconds ?? 0) + (p.ttsSeconds ?? 0)) * 1000 + graceMs;
}

/** Order key: payment order (paid time), then id, as a sortable string. */
export function orderKey(paidAt: string | null | undefined, id: string): string {
	const t = paidAt ? Date.parse(paidAt) : Date.now();
	return `${String(t).padStart(15, "0")}:${id}`;
}

// ---- the stored queue (services/alerts) ----

export type AlertStatus = "queued" | "showing" | "done" | "skipped" | "held" | "rejected" | "cancelled";

/** One alert (collection `alerts`). */
export interface AlertDoc {
	_id: string;
	/** Unique: `donation:<id>` (one alert per paid donation), `test:<id>`, `replay:<donationId>:<id>`. */
	key: string;
	userId: string;
	donationId: string | null;
	type: "donation" | "test";
	status: AlertStatus;
	order: string;
	payload: AlertPayload;
	heldReason?: string | null;
	/** The donor's message before masking (held alerts show it to the streamer). */
	originalMessage?: string;
	/** The donor name before masking, likewise (absent when the name is hidden). */
	originalDonorName?: string;
	/** Alerts stored by earlier versions kept the whole donation. */
	original?: Partial<PaidDonation>;
	/** `<userId>:<order>` while queued (sparse index). */
	queueKey?: string;
	/** The owner's id while held (sparse index). */
	heldOf?: string;
	/** The owner's id while its speech is still to be rendered (sparse index). */
	ttsDue?: string;
	sentAt?: number | null;
	sends?: number;
	paidAt?: string | null;
	createdAt: string;
	finishedAt?: string | null;
}

/** One streamer's queue state (collection `alert_channels`, `_id` = the streamer's id). */
export interface AlertChannelDoc {
	_id: string;
	paused: boolean;
	/** The alert on screen; claimed with a conditional update, so one instance shows one alert at a time. */
	showing: string | null;
	sentAt: number | null;
	/** When the alert on screen is sent again if the overlay has not acknowledged it. */
	deadline: number | null;
}

export const queueKey = (a: Pick<AlertDoc, "userId" | "order">) => `${a.userId}:${a.order}`;

/** Every queue key of one owner (":" sorts just before ";"). */
export const ownerRange = (userId: string) => ({ $gte: `${userId}:`, $lt: `${userId};` });

/** The sparse marks of an alert in its current status. */
export function marks(a: AlertDoc): Partial<AlertDoc> {
	if (a.status === "queued") return { queueKey: queueKey(a) };
	if (a.status === "held") return { heldOf: a.userId };
	return {};
}

/** `$unset` of every mark (an alert that leaves the queue and the held list). */
export const UNMARK = { queueKey: true, heldOf: true, ttsDue: true };

/** Alerts that passed moderation: the ones a streamer may show again. */
export const REPLAYABLE: readonly AlertStatus[] = ["queued", "showing", "done", "skipped"];

/** The `kind` label of the alerts-delivered metric. */
export function deliveredKind(a: Pick<AlertDoc, "type" | "key" | "payload"> | null): "test" | "replay" | "mediashare" | "donation" {
	return a?.type === "test" ? "test" : a?.key.startsWith("replay:") ? "replay" : a?.payload.mediaUrl ? "mediashare" : "donation";
}

/** The donor's message before masking, for alerts stored by any version. */
export function originalMessage(a: AlertDoc): string {
	return a.originalMessage ?? a.original?.originalMessage ?? a.payload.message;
}

/** An alert as the streamer's dashboard lists it. */
export function alertView(a: AlertDoc) {
	return {
		id: a._id,
		donationId: a.donationId,
		type: a.type,
		status: a.status,
		donorName: a.payload.donorName,
		formattedAmount: a.payload.formattedAmount,
		amount: a.payload.amount,
		currency: a.payload.currency,
		message: a.payload.message,
		mediaUrl: a.payload.mediaUrl ?? null,
		sends: a.sends ?? 0,
		createdAt: a.createdAt,
	};
}

/** A held alert, with what the donor really wrote (for the streamer to approve or reject). */
export function heldView(a: AlertDoc) {
	return {
		...alertView(a),
		heldReason: a.heldReason ?? null,
		originalMessage: originalMessage(a),
		originalDonorName: a.originalDonorName ?? a.payload.donorName,
	};
}

export type AlertView = ReturnType<typeof alertView>;
