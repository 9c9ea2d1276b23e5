import { announces, isFinal, reverses, sourcesOf, type PayoutStatus } from "../domain/payouts/state";
import { payoutMessage, type PayoutDoc } from "../domain/payouts/docs";
import { badRequest } from "../tools/errors";
import { ProviderRefusedError, WebhookPayloadError, WebhookSignatureError } from "../payments/types";
import { readAccountSecret } from "./accounts";
import type { PayoutsHost } from "./host";
import type { PayoutState } from "./types";

/**
 * A payout's status changes and the effects each status implies (services/payouts). A move is
 * one conditional update on the current status that also raises `effectsDue` and counts `rev`;
 * the effects run after it in a fixed order, each recorded on the payout when done:
 *
 *  1. the ledger debit (always first: no reversal, order or message before the money is held);
 *  2. approved: the order to the provider (idempotency key = payout id), then → processing
 *     (or → failed when the provider refuses it outright);
 *  3. cancelled / rejected / failed: the reversal credit;
 *  4. paid / failed: `payouts.paid` / `payouts.failed` on the channels and as a broker event.
 *
 * The mark is cleared only when `rev` is still the one the effects were run for, so a move made
 * meanwhile keeps its own effects due. A crash anywhere leaves the mark set: the sweep runs the
 * effects again, and ledger keys, provider idempotency keys and downstream dedupe make a second
 * run change nothing.
 */

const nowIso = () => new Date().toISOString();
/** How long a drive holds a payout's announcement before another may take it over. */
export const ANNOUNCE_LEASE_MS = 15_000;

/** Moves `doc` to `to` if it still is in a status `to` may follow; the moved payout, or null when another move won. */
export async function moveTo(host: PayoutsHost, doc: PayoutDoc, to: PayoutStatus, set: Record<string, unknown> = {}): Promise<PayoutDoc | null> {
	const from = sourcesOf(to);
	if (!from.includes(doc.status)) return null;
	const at = nowIso();
	const update: Record<string, unknown> = { $set: { ...set, status: to, statusAt: at, effectsDue: true }, $inc: { rev: 1 } };
	// A final payout frees its user's slot for the next request.
	if (isFinal(to)) update.$unset = { openSlot: true };
	if (!(await host.store.updateIf({ _id: doc._id, status: { $in: from } }, update))) return null;
	host.logger.info(`Payout ${doc._id}: ${doc.status} → ${to}`);
	return host.store.findById(doc._id);
}

async function flag(host: PayoutsHost, id: string, name: string): Promise<void> {
	await host.store.updateMany({ _id: id }, { $set: { [`effects.${name}`]: true } });
}

async function book(host: PayoutsHost, p: PayoutDoc, kind: "payout" | "payout_reversal"): Promise<void> {
	await host.broker.call("ledger.bookPayout", { payoutId: p._id, userId: p.userId, currency: p.currency, amount: p.amount, kind });
}

/** Sends an approved payout to its provider and records what it said. */
async function submit(host: PayoutsHost, p: PayoutDoc): Promise<void> {
	const provider = host.providers[p.provider];
	if (!provider) {
		await host.move(p, "failed", { failureReason: `The payout provider ${p.provider} is not configured` });
		return;
	}
	const secret = readAccountSecret(host, p);
	let state: PayoutState;
	try {
		state = await provider.submit({
			payoutId: p._id,
			amount: p.net,
			currency: p.currency,
			method: p.account.method,
			holderName: p.account.holderName,
			bankCode: p.account.bankCode ?? undefined,
			accountNumber: secret.accountNumber,
			email: secret.email,
			description: `MediaShar payout ${p._id}`,
		});
	} catch (err) {
		// Refused outright (a bad account, say): it fails and the money comes back. Anything else
		// (the provider is down) stays approved with its mark: the sweep sends the same order again.
		if (!(err instanceof ProviderRefusedError)) throw err;
		await host.move(p, "failed", { failureReason: err.message, "effects.submitted": true });
		return;
	}
	const moved = await host.move(p, "processing", { providerRef: state.ref ?? null, "effects.submitted": true });
	if (moved && state.status !== "processing") await host.applyState(moved, state);
}

async function announce(host: PayoutsHost, p: PayoutDoc & { status: "paid" | "failed" }): Promise<void> {
	const msg = payoutMessage(p);
	await host.broker.sendToChannel(`payouts.${p.status}`, msg);
	host.broker.emit(`payouts.${p.status}`, msg);
}

/** Runs what the payout's status still needs, then clears the mark (if nothing moved meanwhile). */
export async function runEffects(host: PayoutsHost, id: string): Promise<PayoutDoc | null> {
	for (let round = 0; round < 5; round++) {
		const p = await host.store.findById(id);
		if (!p || !p.effectsDue) return p;
		if (!p.effects?.debited) {
			await book(host, p, "payout");
			await flag(host, id, "debited");
		}
		if (p.status === "approved" && !p.effects?.submitted) {
			await submit(host, p);
			continue; // it moved (or stays approved after a throw): read it again
		}
		if (reverses(p.status) && !p.effects?.reversed) {
			await book(host, p, "payout_reversal");
			await flag(host, id, "reversed");
		}
		if (announces(p.status) && !p.effects?.announced) {
			// Claimed (compare-and-set on the lease read): of two drives racing, one sends. The other
			// leaves the mark to the holder, or to the sweep once the lease runs out (a crash mid-send).
			const now = Date.now();
			const lease = p.effects?.announceLease;
			if (lease && lease > now) return p;
			const claim = { _id: id, "effects.announceLease": lease ?? { $exists: false } };
			if (!(await host.store.updateIf(claim, { $set: { "effects.announceLease": now + ANNOUNCE_LEASE_MS } }))) return host.store.findById(id);
			await announce(host, p as PayoutDoc & { status: "paid" | "failed" });
			await flag(host, id, "announced");
		}
		if (await host.store.updateIf({ _id: id, rev: p.rev, effectsDue: true }, { $unset: { effectsDue: true } })) return host.store.findById(id);
	}
	return host.store.findById(id);
}

/** Applies what a provider says of a payout (webhook or status check); the payout after. */
export async function applyState(host: PayoutsHost, doc: PayoutDoc, state: PayoutState): Promise<PayoutDoc> {
	let p = doc;
	if (state.status === "processing" || isFinal(p.status)) return p;
	if (p.status === "requested") return p; // never paid out before an approval, whatever arrives
	if (p.status === "approved" && state.status === "paid") {
		p = (await host.move(p, "processing", { providerRef: state.ref ?? p.providerRef, "effects.submitted": true })) ?? (await host.store.findById(p._id))!;
	}
	const to: PayoutStatus = state.status;
	const moved = await host.move(p, to, to === "failed" ? { failureReason: state.reason ?? "The provider could not pay it out" } : {});
	if (moved) await host.drive(moved._id);
	return (await host.store.findById(p._id)) ?? p;
}

/** A provider's webhook: verified (400 otherwise, nothing changes), then applied; duplicates change nothing. */
export async function receivePayoutWebhook(host: PayoutsHost, providerName: string, rawBody: string, headers: Record<string, string | undefined>) {
	const provider = host.providers[providerName];
	if (!provider) throw badRequest(`Unknown payout provider ${providerName}`, "UNKNOWN_PROVIDER");
	let events: unknown[];
	try {
		events = await provider.verifyWebhook(rawBody, headers);
	} catch (err) {
		if (err instanceof WebhookSignatureError || err instanceof WebhookPayloadError) throw badRequest(err.message, "INVALID_SIGNATURE");
		throw err;
	}
	let applied = 0;
	for (const raw of events) {
		let ev;
		try {
			ev = provider.parseEvent(raw);
		} catch (err) {
			if (err instanceof WebhookPayloadError) throw badRequest(err.message, "INVALID_PAYLOAD");
			throw err;
		}
		if (!ev) continue;
		const doc = ev.payoutId ? await host.store.findById(ev.payoutId) : ev.ref ? await host.store.findOne({ providerRef: ev.ref }) : null;
		if (!doc || doc.provider !== providerName) continue;
		const state = provider.confirmEvents ? await provider.fetchStatus(doc._id, doc.providerRef ?? ev.ref) : ev;
		if (!state) continue;
		const before = doc.status;
		const after = await host.applyState(doc, state);
		if (after.status !== before) applied++;
	}
	return { received: true, applied };
}
