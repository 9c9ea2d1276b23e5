import { amountProblem, formatMoney } from "../money";
import type { UserSettings } from "../user-settings";
import { parseYouTube } from "../youtube";

export interface DonationRequest {
	to: string;
	amount: number;
	currency: string;
	provider: string;
	message?: string;
	donorName?: string;
	hideName?: boolean;
	mediaUrl?: string;
	email?: string;
	method?: string;
	bank?: string;
}

export interface Recipient {
	id: string;
	username: string;
	settings: UserSettings;
	bannedAt?: string | null;
}

export interface FieldProblem {
	field: string;
	message: string;
	type: string;
}

/**
 * Why a donation cannot be accepted for this recipient, as 422 field problems (empty when it can).
 * Pure: the service looks up the recipient and the caller, this decides.
 */
export function donationProblems(req: DonationRequest, recipient: Recipient | null, signedIn: boolean): FieldProblem[] {
	const problems: FieldProblem[] = [];
	if (!recipient) return [{ field: "to", message: `No channel named "${req.to}"`, type: "RECIPIENT_NOT_FOUND" }];
	const s = recipient.settings;
	if (!s.donations.enabled || recipient.bannedAt) {
		return [{ field: "to", message: `${recipient.username} is not accepting donations`, type: "DONATIONS_DISABLED" }];
	}
	if (req.currency !== s.donations.currency) {
		problems.push({ field: "currency", message: `${recipient.username} accepts ${s.donations.currency} only`, type: "CURRENCY_MISMATCH" });
	} else {
		const amountIssue = amountProblem(req.amount, req.currency);
		if (amountIssue) problems.push({ field: "amount", message: amountIssue, type: "INVALID_AMOUNT" });
		else if (req.amount < s.donations.minAmount) {
			problems.push({ field: "amount", message: `The minimum is ${formatMoney(s.donations.minAmount, req.currency)}`, type: "AMOUNT_TOO_LOW" });
		}
	}
	if (!signedIn && !(req.donorName && req.donorName.trim())) {
		problems.push({ field: "donorName", message: "Anonymous donors must give a name", type: "DONOR_NAME_REQUIRED" });
	}
	if (req.mediaUrl) {
		if (!s.mediaShare.enabled) {
			problems.push({ field: "mediaUrl", message: `${recipient.username} has media share turned off`, type: "MEDIA_SHARE_DISABLED" });
		} else if (!parseYouTube(req.mediaUrl)) {
			problems.push({
				field: "mediaUrl",
				message: "mediaUrl must be a YouTube video link (youtube.com/watch?v=…, youtu.be/…, /shorts/…)",
				type: "INVALID_URL",
			});
		} else if (mediaSeconds(req.amount, s) < 1) {
			problems.push({
				field: "amount",
				message: `Media share costs ${formatMoney(s.mediaShare.pricePerSecond, req.currency)} per second`,
				type: "AMOUNT_TOO_LOW_FOR_MEDIA",
			});
		}
	}
	return problems;
}

/** Seconds of media a donation pays for: amount / price, capped by the streamer's maximum. */
export function mediaSeconds(amount: number, s: UserSettings): number {
	const price = s.mediaShare.pricePerSecond;
	if (price <= 0) return s.mediaShare.maxSeconds;
	return Math.min(s.mediaShare.maxSeconds, Math.floor(amount / price));
}

/** The identity a donation counts toward on leaderboards. */
export function donorKey(d: { donorId?: string | null; donorName: string; publicDonorName?: string; hideName: boolean; _id: string }): {
	key: string;
	name: string;
} {
	if (d.hideName) return { key: `hidden:${d.donorId ?? d._id}`, name: "Anonymous" };
	// Leaderboards show the name with the streamer's blocked terms masked (publicDonorName).
	const shown = (d.publicDonorName ?? d.donorName).trim();
	if (d.donorId) return { key: `user:${d.donorId}`, name: shown };
	return { key: `name:${d.donorName.trim().toLowerCase()}`, name: shown };
}

/** UTC day bucket, e.g. "2026-11-22". */
export function dayOf(time: number | string | Date): string {
	return new Date(time).toISOString().slice(0, 10);
}

/** The day buckets a period covers, newest first ("7d" → 7 days including today). */
export function periodDays(period: "all" | "30d" | "7d", now = Date.now()): string[] | null {
	if (period === "all") return null;
	const n = period === "30d" ? 30 : 7;
	return Array.from({ length: n }, (_, i) => dayOf(now - i * 86_400_000));
}
