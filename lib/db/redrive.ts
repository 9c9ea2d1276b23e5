import { idFloor } from "../tools/ids";

/**
 * Producers of social notifications write the row first with `pendingNotify: true`, send the
 * channel message, then clear the flag. Rows still flagged after `olderThanMs` (a crash, or a
 * channel adapter that was down) are sent again by a periodic sweep; consumers dedupe on their
 * source keys, so a second send changes nothing.
 */
export interface FlaggedStore {
	find(params: { query: Record<string, unknown>; sort?: string[]; limit?: number }): Promise<Record<string, any>[]>;
	updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
}

export async function sendAndClear(store: FlaggedStore, id: string, send: () => Promise<void>): Promise<void> {
	await send();
	await store.updateMany({ _id: id }, { $unset: { pendingNotify: true } });
}

export async function redrivePending(
	store: FlaggedStore,
	olderThanMs: number,
	send: (row: Record<string, any>) => Promise<void>,
	now = Date.now(),
	limit = 100,
): Promise<number> {
	const rows = await store.find({ query: { pendingNotify: true, _id: { $lt: idFloor(now - olderThanMs) } }, sort: ["_id"], limit });
	for (const row of rows) await sendAndClear(store, row._id, () => send(row));
	return rows.length;
}
