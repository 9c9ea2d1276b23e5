import { idFloor } from "../tools/ids";

/**
 * The outbox convention: a row whose side effects (a channel message, a notification, an email,
 * a webhook) are not done yet carries `effectsDue: true` (a sparse index, so finding them costs
 * nothing when there are none). The producer writes the row and the mark together, does the
 * effect, then clears the mark. Rows still marked after `olderThanMs` (a crash, a channel adapter
 * that was down) are done again by a sweep (mixins/sweeper.mixin.ts); consumers dedupe on their
 * source keys, so a second send changes nothing.
 *
 * Services whose effects have several steps (donations, payments) keep per-effect flags beside
 * the mark and clear the mark when the last one is done; the mark is the same.
 */
export const OUTBOX_MARK = "effectsDue";

/** What the outbox needs of a store (a Collection is one); `R` is the stored row. */
export interface OutboxStore<R extends { _id: string } = { _id: string }> {
	find(params: { query: Record<string, unknown>; sort?: string[]; limit?: number }): Promise<R[]>;
	updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
	once?(version: string, step: () => Promise<unknown>): Promise<boolean>;
}

/** Does the effect, then clears the row's mark (left set when the effect throws). */
export async function sendAndClear(store: OutboxStore, id: string, send: () => Promise<void>): Promise<void> {
	await send();
	await store.updateMany({ _id: id }, { $unset: { [OUTBOX_MARK]: true } });
}

/** Re-does the effects of rows marked for longer than `olderThanMs` (oldest first); answers how many. */
export async function redriveDue<R extends { _id: string }>(
	store: OutboxStore<R>,
	olderThanMs: number,
	send: (row: R) => Promise<void>,
	now = Date.now(),
	limit = 100,
): Promise<number> {
	const rows = await store.find({ query: { [OUTBOX_MARK]: true, _id: { $lt: idFloor(now - olderThanMs) } }, sort: ["_id"], limit });
	for (const row of rows) await sendAndClear(store, row._id, () => send(row));
	return rows.length;
}

/**
 * Rows written before the convention carry the service's old mark (`pendingNotify`, `notifyPending`,
 * `outbox`): give them `effectsDue` once, so an upgrade re-drives what the old process left.
 */
export async function adoptLegacyMark(store: OutboxStore, collection: string, legacyField: string): Promise<void> {
	const step = () => store.updateMany({ [legacyField]: true }, { $set: { [OUTBOX_MARK]: true }, $unset: { [legacyField]: true } });
	if (store.once) await store.once(`${collection} outbox mark ${legacyField} → ${OUTBOX_MARK}`, step);
	else await step();
}
