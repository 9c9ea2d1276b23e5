import { moderate } from "./moderation";
import type { UserSettings } from "./user-settings";

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
	const { masked, matched: inMessage } = moderate(original, s.moderation.blockedTerms);
	// The donor name is shown on stream too: a blocked term in it is masked (the donations service
	// stored the masked form as `donorName`) or holds the alert like one in the message.
	const inName = d.hideName ? [] : moderate(d.donorDisplayName ?? d.donorName ?? "", s.moderation.blockedTerms).matched;
	const matched = [...new Set([...inMessage, ...inName])];
	if (matched.length > 0 && s.moderation.blockedTermAction === "hold") {
		return { status: "held", message: original, heldReason: "BLOCKED_TERM", matchedTerms: matched };
	}
	if (d.mediaUrl && s.mediaShare.requireApproval) {
		return { status: "held", message: masked, heldReason: "MEDIA_APPROVAL", matchedTerms: matched };
	}
	return { status: "queued", message: masked, heldReason: null, matchedTerms: matched };
}

/** Builds the overlay payload; a held message is masked again when it is finally approved. */
export function buildPayload(alertId: string, d: PaidDonation, message: string, s: UserSettings, type: "donation" | "test" = "donation"): AlertPayload {
	const payload: AlertPayload = {
		id: alertId,
		donationId: type === "test" ? null : d.id,
		type,
		donorName: d.hideName ? d.donorName : moderate(d.donorName, s.moderation.blockedTerms).masked,
		amount: d.amount,
		currency: d.currency,
		formattedAmount: d.formattedAmount,
		message,
		tts: s.alerts.tts && d.amount >= s.alerts.ttsMinAmount,
		displaySeconds: s.alerts.displaySeconds,
		createdAt: new Date().toISOString(),
	};
	if (d.mediaUrl && s.mediaShare.enabled) {
		payload.mediaUrl = d.mediaUrl;
		payload.mediaSeconds = d.mediaSeconds ?? s.mediaShare.maxSeconds;
	}
	return payload;
}

/** How long an overlay has to acknowledge an alert before it is sent again. */
export function ackTimeoutMs(p: Pick<AlertPayload, "displaySeconds" | "mediaSeconds">, graceMs: number): number {
	return (p.displaySeconds + (p.mediaSeconds ?? 0)) * 1000 + graceMs;
}

/** Order key: payment order (paid time), then id, as a sortable string. */
export function orderKey(paidAt: string | null | undefined, id: string): string {
	const t = paidAt ? Date.parse(paidAt) : Date.now();
	return `${String(t).padStart(15, "0")}:${id}`;
}
