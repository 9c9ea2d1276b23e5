import type { Collection } from "../../mixins/db.mixin";

/**
 * Per-target counters (likes, comments): one document `{_id: "<type>:<id>", count}` per target,
 * moved only by the rows an insert or delete really changed, read as one lookup, and recomputed
 * from the rows by an operator if a crash let it drift. A counter never reads below 0.
 */
export interface CountDoc {
	_id: string;
	count: number;
}

export async function bumpCount(counts: Collection<CountDoc>, target: string, delta: number): Promise<void> {
	if (delta !== 0) await counts.upsert({ _id: target }, { $inc: { count: delta } });
}

export async function countOf(counts: Collection<CountDoc>, target: string): Promise<number> {
	const c = await counts.findById(target);
	return Math.max(0, c?.count ?? 0);
}

/** Sets the target's counter to the number of `rows` that point at it; answers that number. */
export async function recountTarget(rows: Collection, counts: Collection<CountDoc>, target: string): Promise<number> {
	const count = await rows.count({ target });
	await counts.upsert({ _id: target }, { $set: { count } });
	return count;
}

/** The counters of many targets: `Map<target, count>` (missing targets are absent). */
export async function countsOf(counts: Collection<CountDoc>, targets: string[]): Promise<Map<string, number>> {
	const rows = await counts.findByIds(targets);
	return new Map(rows.map((c) => [String(c._id), Math.max(0, c.count)]));
}
