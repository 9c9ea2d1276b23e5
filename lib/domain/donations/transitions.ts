import type { DonationStatus } from "./types";

/**
 * The conditional writes of a donation's status changes (pure: the service runs them and checks
 * the matched count, so two nodes racing cannot both win). Each change that has effects sets the
 * `effectsDue` mark and takes the aggregate update's lease (a time) in the same write.
 */

type Update = Record<string, Record<string, unknown>>;

/** Only a newer generation of the payment moves `reinstatements` (a won dispute). */
export function olderGeneration(generation: number) {
	return { $or: [{ reinstatements: { $lt: generation } }, { reinstatements: { $exists: false } }] };
}

/** pending → paid, with the aggregation's lease. */
export function paidUpdate(now: string, leaseUntil: number, paymentId?: string): Update {
	return {
		$set: {
			status: "paid",
			paidAt: now,
			statusAt: now,
			"effects.aggregationLease": leaseUntil,
			effectsDue: true,
			...(paymentId ? { paymentId } : {}),
		},
	};
}

/** paid → refunded / reversed, with the de-aggregation's lease. */
export function reversalUpdate(status: DonationStatus, now: string, leaseUntil: number): Update {
	return { $set: { status, statusAt: now, "effects.deaggregationLease": leaseUntil, effectsDue: true } };
}

/** reversed → paid again (generation `generation`): its aggregation and reversal effects start over. */
export function reinstatementUpdate(generation: number, now: string, leaseUntil: number): Update {
	return {
		$set: {
			status: "paid",
			statusAt: now,
			reinstatements: generation,
			"effects.aggregated": false,
			"effects.deaggregated": false,
			"effects.debited": false,
			"effects.reversalAnnounced": false,
			"effects.aggregationLease": leaseUntil,
			effectsDue: true,
		},
	};
}

/**
 * The donations a re-drive finishes: those marked `effectsDue`; `everything` (the one-time start-up
 * scan) also those stored before the mark existed.
 */
export function unfinishedQuery(everything: boolean): Record<string, unknown> {
	if (!everything) return { effectsDue: true };
	return {
		$or: [
			{ effectsDue: true },
			{ status: "paid", "effects.announced": { $ne: true } },
			{ status: { $in: ["refunded", "reversed"] }, "effects.reversalAnnounced": { $ne: true } },
		],
	};
}
