import type { PaymentDoc, StatusChangedMessage } from "../domain/payments/docs";
import { paymentRef, statusMessage } from "../domain/payments/docs";
import { OUTBOX_MARK } from "../db/outbox";
import type { PaymentsHost } from "./host";

/**
 * The payments outbox and the expiry sweep. Every change raises `effectsDue` in the same write
 * (lib/domain/payments/apply.ts); `notifyStatus` sends `payments.statusChanged` and then clears
 * the mark only if nothing changed since (a newer change keeps its mark); `redriveNotifications`
 * re-sends what a crash or a channel outage left marked. The expiry sweep expires overdue
 * pending payments, asking a real provider first so a late settlement is not thrown away.
 */

/** Unfinished notifications younger than this are left to the send already in flight. */
export const REDRIVE_MIN_AGE_MS = 2_000;
/** Pending payments looked at per page of the expiry sweep, and pages per sweep. */
export const SWEEP_BATCH = 200;
export const SWEEP_MAX_PAGES = 20;

/** Sends payments.statusChanged for the payment's current status, then clears the mark. */
export async function notifyStatus(host: PaymentsHost, doc: PaymentDoc, send: (msg: StatusChangedMessage) => Promise<unknown>): Promise<void> {
	try {
		await send(statusMessage(doc));
		// Cleared only if nothing changed since this snapshot (a newer change keeps its mark).
		const same = typeof doc.rev === "number" ? { rev: doc.rev } : { status: doc.status };
		await host.store.updateIf({ _id: doc._id, ...same, [OUTBOX_MARK]: true }, { $unset: { [OUTBOX_MARK]: true }, $set: { notifiedStatus: doc.status } });
	} catch (err) {
		host.logger.warn(`Payment ${doc._id}: statusChanged not sent yet (${(err as Error).message}); it will be re-driven`);
	}
}

/** Re-sends notifications that were written but never confirmed sent (all of them with `minAgeMs` 0, on start). */
export async function redriveNotifications(host: PaymentsHost, minAgeMs = REDRIVE_MIN_AGE_MS): Promise<number> {
	const rows = await host.store.find({ query: { [OUTBOX_MARK]: true }, sort: ["_id"], limit: 200 });
	const cutoff = new Date(Date.now() - minAgeMs).toISOString();
	let sent = 0;
	for (const doc of rows) {
		if (host.stopping) break;
		if (minAgeMs > 0 && doc.statusAt > cutoff) continue;
		await host.notify(doc);
		sent++;
	}
	if (sent) host.logger.info(`Re-drove ${sent} payment notification(s)`);
	return sent;
}

/**
 * Expires pending payments past their expiry, oldest first. Sandbox payments expire on
 * time; a real provider's payment gets a grace period for its own webhook, and is asked for
 * its status first so a late settlement is not thrown away. A payment that cannot be
 * decided now (in its grace period, provider unreachable) is skipped and the sweep goes
 * on past it, page by page: however many such payments pile up, the others still expire.
 */
export async function expireStale(host: PaymentsHost, graceMs: number, batch = SWEEP_BATCH): Promise<number> {
	const now = Date.now();
	const nowIso = new Date(now).toISOString();
	let expired = 0;
	let after = "";
	// Ids already looked at whose expiresAt is the cursor's: a page starting at that timestamp skips them.
	const seen = new Map<string, string>();
	for (let page = 0; page < SWEEP_MAX_PAGES && !host.stopping; page++) {
		const range: Record<string, string> = { $lt: nowIso };
		if (after) range.$gte = after;
		const rows = await host.store.find({
			query: { status: "pending", expiresAt: range },
			sort: ["expiresAt"],
			limit: batch + seen.size,
		});
		const fresh = rows.filter((d) => !seen.has(d._id));
		if (!fresh.length) break;
		for (const doc of fresh) {
			if (host.stopping) break;
			seen.set(doc._id, doc.expiresAt);
			try {
				if (await expireOne(host, doc, now, graceMs)) expired++;
			} catch (err) {
				host.logger.warn(`Payment ${doc._id}: expiry check failed (${(err as Error).message}); skipped until the next sweep`);
			}
		}
		const full = rows.length >= batch + seen.size - fresh.length;
		after = fresh[fresh.length - 1].expiresAt;
		for (const [id, at] of seen) if (at !== after) seen.delete(id);
		if (!full) break;
	}
	return expired;
}

/** One overdue pending payment: true when this call expired it. */
export async function expireOne(host: PaymentsHost, doc: PaymentDoc, now: number, graceMs: number): Promise<boolean> {
	const provider = host.providers[doc.provider];
	if (doc.provider !== "sandbox") {
		if (Date.parse(doc.expiresAt) + graceMs > now) return false;
		if (provider?.fetchStatus) {
			// A provider that cannot answer now throws: the payment waits for the next sweep.
			const ev = await provider.fetchStatus(paymentRef(doc));
			if (ev && ev.status !== "pending") {
				const r = await host.applyReported(doc, ev);
				if (r.doc.status !== "pending") return false;
			}
		}
	}
	const r = await host.applyReported(doc, { eventId: `expiry:${doc._id}`, status: "expired", type: "expiry" });
	return r.result === "applied";
}
