import type { PaymentStatus } from "../../payments/types";

/**
 * The payment state machine: pending → paid | failed | expired; paid → refunded | reversed.
 * failed, expired, refunded and reversed are final. Every transition is one conditional update
 * (`{_id, status: from}` → `{status: to}`), so a duplicate or concurrent webhook, two nodes or the
 * expiry sweep racing a late settlement cannot move a payment twice: exactly one caller wins.
 * Every change also increments `rev`, which orders the payment's notifications.
 */

export const TRANSITIONS: Record<PaymentStatus, readonly PaymentStatus[]> = {
	pending: ["paid", "failed", "expired"],
	paid: ["refunded", "reversed"],
	failed: [],
	expired: [],
	refunded: [],
	reversed: [],
};

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
	return (TRANSITIONS[from] ?? []).includes(to);
}

export function isFinal(status: PaymentStatus): boolean {
	return (TRANSITIONS[status] ?? []).length === 0;
}

/**
 * The one way back: a dispute the merchant wins (Stripe `charge.dispute.funds_reinstated`, or
 * `charge.dispute.closed` with status `won`) gives the withdrawn funds back, so a `reversed`
 * payment is `paid` again. No other event can leave `reversed`; see `reinstate()`.
 */
export function canReinstate(from: PaymentStatus): boolean {
	return from === "reversed";
}

/**
 * The status a reported event should move a payment to, given where it is now: the event's
 * `ifPaid` applies once the payment is paid (Midtrans: deny after capture reverses it).
 */
export function targetFor(current: PaymentStatus, reported: { status: PaymentStatus; ifPaid?: PaymentStatus }): PaymentStatus {
	if (current === "paid" && reported.ifPaid) return reported.ifPaid;
	return reported.status;
}

/** The timestamp field a status sets when reached (paidAt, failedAt, ...). */
export function timestampField(status: PaymentStatus): string {
	return `${status}At`;
}

/** The part of a collection the state machine needs (mixins/db.mixin.ts Collection fits). */
export interface TransitionStore {
	updateIf(query: Record<string, unknown>, update: Record<string, unknown>): Promise<boolean>;
}

export type TransitionResult =
	{ ok: true; from: PaymentStatus; to: PaymentStatus; at: string } | { ok: false; reason: "invalid_transition" | "lost_race" | "no_change" };

/**
 * Moves payment `id` from `from` to `to` when the machine allows it and nobody else moved it
 * first. `extra` is set in the same update (so the outbox flag and the state change are one write).
 */
export async function transition(
	store: TransitionStore,
	id: string,
	from: PaymentStatus,
	to: PaymentStatus,
	extra: Record<string, unknown> = {},
	now: Date = new Date(),
): Promise<TransitionResult> {
	if (from === to) return { ok: false, reason: "no_change" };
	if (!canTransition(from, to)) return { ok: false, reason: "invalid_transition" };
	const at = now.toISOString();
	const changed = await store.updateIf(
		{ _id: id, status: from },
		{ $set: { ...extra, status: to, previousStatus: from, statusAt: at, updatedAt: at, [timestampField(to)]: at }, $inc: { rev: 1 } },
	);
	return changed ? { ok: true, from, to, at } : { ok: false, reason: "lost_race" };
}

/** reversed → paid after a won dispute: the same conditional update, allowed only from `reversed`. */
export async function reinstate(
	store: TransitionStore,
	id: string,
	from: PaymentStatus,
	extra: Record<string, unknown> = {},
	now: Date = new Date(),
): Promise<TransitionResult> {
	if (!canReinstate(from)) return { ok: false, reason: "invalid_transition" };
	const at = now.toISOString();
	const changed = await store.updateIf(
		{ _id: id, status: from },
		{ $set: { ...extra, status: "paid", previousStatus: from, statusAt: at, updatedAt: at, reinstatedAt: at }, $inc: { rev: 1, reinstatements: 1 } },
	);
	return changed ? { ok: true, from, to: "paid", at } : { ok: false, reason: "lost_race" };
}
