import { createHash } from "node:crypto";

/**
 * The body integrators receive: `{id, type, createdAt, data: {donation}}`. The id is derived from
 * (type, donation id), so the same event keeps the same id across retries, redeliveries and
 * nodes, and receivers dedupe on it.
 */
export function eventIdFor(type: string, donationId: string): string {
	return `evt_${createHash("sha256").update(`${type}:${donationId}`).digest("hex").slice(0, 32)}`;
}

const PUBLIC_FIELDS = [
	"id",
	"status",
	"amount",
	"currency",
	"formattedAmount",
	"donorName",
	"message",
	"mediaUrl",
	"recipientUsername",
	"createdAt",
	"paidAt",
	"reversedAt",
	"refundedAt",
];

/** What integrators see of a donation: no donor ids or contact data. */
export function publicDonation(d: Record<string, unknown>): Record<string, unknown> {
	return Object.fromEntries(PUBLIC_FIELDS.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));
}

/** A payout as the `payouts.paid` / `payouts.failed` channels carry it (services/payouts). */
export type PayoutMsg = { id?: string; userId?: string } & Record<string, unknown>;
