/**
 * "Someone is typing" at most once per `intervalMs` per key (room and user). The memory is
 * bounded: past `maxKeys` entries, the ones that could no longer throttle anything are dropped.
 */
export class TypingThrottle {
	private readonly seen = new Map<string, number>();

	constructor(
		readonly intervalMs = 2000,
		readonly maxKeys = 50_000,
	) {}

	/** True (and remembered) when `key` may send a typing event now. */
	allow(key: string, now = Date.now()): boolean {
		const last = this.seen.get(key);
		if (last !== undefined && now - last < this.intervalMs) return false;
		this.seen.set(key, now);
		if (this.seen.size > this.maxKeys) {
			for (const [k, t] of this.seen) if (now - t >= this.intervalMs) this.seen.delete(k);
		}
		return true;
	}

	get size(): number {
		return this.seen.size;
	}
}
