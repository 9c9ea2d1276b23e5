/**
 * The channel's event feed (Socket.IO namespace `/events`, services/notifications/feed.service.ts):
 * what is stored per event and what a socket receives, `{id, type, createdAt, data}`.
 */

export const FEED_EVENT = {
	donationPaid: "donation.paid",
	donationReversed: "donation.reversed",
	follow: "follow",
	payoutPaid: "payout.paid",
} as const;

/** How long events are kept for replay (`auth.since`). */
export const FEED_RETENTION_MS = 60 * 60_000;

export interface FeedEventDoc {
	/** Time-ordered (lib/tools/ids newId): the replay order. */
	_id: string;
	/** The stable id sockets see (unique). */
	eventId: string;
	/** The channel owner the event belongs to. */
	ownerId: string;
	type: string;
	/** ms, for the retention sweep. */
	at: number;
	createdAt: string;
	data: Record<string, unknown>;
}

export interface FeedEventView {
	id: string;
	type: string;
	createdAt: string;
	data: Record<string, unknown>;
}

export function feedView(doc: FeedEventDoc): FeedEventView {
	return { id: doc.eventId, type: doc.type, createdAt: doc.createdAt, data: doc.data };
}

const PAYOUT_FIELDS = ["id", "status", "amount", "currency", "fee", "net", "formattedAmount", "failureReason", "createdAt", "statusAt", "paidAt"];

/** What integrations see of a payout: no account details. */
export function publicPayout(p: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(PAYOUT_FIELDS.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
}
