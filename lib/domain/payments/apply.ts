import type { Logger } from "moleculer";
import type { ProviderEvent } from "../../payments/types";
import type { Applied, DocStore, PaymentDoc } from "./docs";
import { reinstate, targetFor, transition } from "./state";

/** What applying a reported status needs: the payments, a log, and the notification after a change. */
export interface ApplyHost {
	store: DocStore<PaymentDoc>;
	logger: Logger;
	/** After a change this call made: re-reads the payment and sends its notification. */
	notifyCurrent(doc: PaymentDoc): Promise<PaymentDoc>;
}

/**
 * Applies a status a provider reported. Invalid transitions are logged and ignored (a
 * failed payment never becomes paid; a refund before payment changes nothing); a lost race
 * re-reads and decides again. A partial refund/chargeback books its total on the paid
 * payment; a won dispute reinstates a reversed one. Every change raises the outbox mark
 * (`effectsDue`) in the same conditional update.
 */
export async function applyReported(host: ApplyHost, start: PaymentDoc, ev: ProviderEvent): Promise<Applied> {
	const { store, logger } = host;
	let doc = start;
	if (ev.learnedRefs?.length) {
		const fresh = ev.learnedRefs.filter((r) => !doc.providerRefs.includes(r));
		if (fresh.length) await store.updateMany({ _id: doc._id }, { $addToSet: { providerRefs: { $each: fresh } } });
	}
	for (let attempt = 0; attempt < 3; attempt++) {
		const to = targetFor(doc.status, ev);
		if (ev.reinstate) {
			if (doc.status !== "reversed") return { doc, result: "no_change" };
			const refundedAmount = doc.refundedBeforeReversal ?? 0;
			const r = await reinstate(store, doc._id, "reversed", { effectsDue: true, refundedAmount });
			if (r.ok) return { doc: await host.notifyCurrent(doc), result: "applied" };
		} else if ((to === "refunded" || to === "reversed") && ev.refundedTotal !== undefined && ev.refundedTotal < doc.amount) {
			// Partial: the payment stays paid; refundedAmount only ever grows (a late, smaller total changes nothing).
			if (doc.status === "pending") return { doc, result: "too_early" };
			if (doc.status !== "paid") return { doc, result: "invalid_transition" };
			if (ev.refundedTotal <= (doc.refundedAmount ?? 0)) return { doc, result: "no_change" };
			const at = new Date().toISOString();
			const grown = await store.updateIf(
				{ _id: doc._id, status: "paid", $or: [{ refundedAmount: { $lt: ev.refundedTotal } }, { refundedAmount: { $exists: false } }] },
				{ $set: { refundedAmount: ev.refundedTotal, refundedPartlyAt: at, updatedAt: at, effectsDue: true }, $inc: { rev: 1 } },
			);
			if (grown) return { doc: await host.notifyCurrent(doc), result: "applied" };
		} else {
			if (to === "pending" || to === doc.status) return { doc, result: "no_change" };
			if (to === "paid" && ev.amount !== undefined && (ev.amount !== doc.amount || (ev.currency && ev.currency.toUpperCase() !== doc.currency))) {
				logger.warn(
					`Payment ${doc._id}: ${doc.provider} reports ${ev.amount} ${ev.currency ?? ""} paid, expected ${doc.amount} ${doc.currency}; not settled`,
				);
				return { doc, result: "amount_mismatch" };
			}
			const extra: Record<string, unknown> = { effectsDue: true };
			// Refunded or reversed in full: everything is booked; a won dispute restores what was refunded before.
			if (to === "refunded" || to === "reversed") Object.assign(extra, { refundedAmount: doc.amount, refundedBeforeReversal: doc.refundedAmount ?? 0 });
			const r = await transition(store, doc._id, doc.status, to, extra);
			if (r.ok) return { doc: await host.notifyCurrent(doc), result: "applied" };
			if (r.reason === "invalid_transition") {
				if (doc.status === "pending" && (to === "refunded" || to === "reversed")) {
					// The refund overtook the settlement it undoes: not recorded, so the provider's
					// retry lands after the settlement and applies then.
					return { doc, result: "too_early" };
				}
				if (to === "paid")
					logger.warn(
						`Payment ${doc._id}: ${doc.provider} settled a ${doc.status} payment (${ev.type ?? ev.eventId}); it stays ${doc.status} and needs a manual refund`,
					);
				else logger.info(`Payment ${doc._id}: ignored ${doc.status} → ${to} (${ev.type ?? ev.eventId})`);
				return { doc, result: "invalid_transition" };
			}
		}
		const again = await store.findById(doc._id);
		if (!again) return { doc, result: "gone" };
		doc = again;
	}
	return { doc, result: "lost_race" };
}
