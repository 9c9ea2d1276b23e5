/**
 * Viewer counts that are cheap at scale.
 *
 * Every gateway node knows only its own sockets; it reports the local size of each chat room it
 * holds (coalesced, absolute numbers, never deltas, so a lost or repeated report heals itself).
 * `PresenceTally` keeps those numbers per room per node and sums them; a node that disappears is
 * dropped as a whole. `Coalescer` turns a storm of changes to one room into at most one flush
 * per window (trailing), so a mass reconnect produces a handful of updates, not thousands.
 */
export class PresenceTally {
	private readonly rooms = new Map<string, Map<string, number>>();

	/** Applies one node's report; `full` means rooms it did not mention are now empty there. */
	apply(nodeID: string, sizes: Record<string, number>, full = false): string[] {
		const changed = new Set<string>();
		for (const [room, raw] of Object.entries(sizes)) {
			const size = Number.isFinite(raw) && raw > 0 ? Math.floor(raw) : 0;
			if (this.set(room, nodeID, size)) changed.add(room);
		}
		if (full) {
			for (const [room, nodes] of this.rooms) {
				if (nodes.has(nodeID) && !(room in sizes) && this.set(room, nodeID, 0)) changed.add(room);
			}
		}
		return [...changed];
	}

	/** Forgets everything a node reported (it left the cluster); returns the rooms that changed. */
	dropNode(nodeID: string): string[] {
		const changed: string[] = [];
		for (const room of [...this.rooms.keys()]) if (this.set(room, nodeID, 0)) changed.push(room);
		return changed;
	}

	count(room: string): number {
		let sum = 0;
		for (const n of this.rooms.get(room)?.values() ?? []) sum += n;
		return sum;
	}

	nodeCount(room: string, nodeID: string): number {
		return this.rooms.get(room)?.get(nodeID) ?? 0;
	}

	roomCount(): number {
		return this.rooms.size;
	}

	private set(room: string, nodeID: string, size: number): boolean {
		let nodes = this.rooms.get(room);
		const before = nodes?.get(nodeID) ?? 0;
		if (before === size) return false;
		if (size === 0) {
			nodes!.delete(nodeID);
			if (nodes!.size === 0) this.rooms.delete(room);
			return true;
		}
		if (!nodes) {
			nodes = new Map();
			this.rooms.set(room, nodes);
		}
		nodes.set(nodeID, size);
		return true;
	}
}

/**
 * Trailing-window coalescing per key: the first `touch` schedules `flush(key)` after `windowMs`;
 * touches inside that window only join it. At most one flush per key per window.
 */
export class Coalescer {
	private readonly pending = new Map<string, NodeJS.Timeout>();

	constructor(
		private readonly windowMs: number,
		private readonly flush: (key: string) => void,
	) {}

	touch(key: string) {
		if (this.pending.has(key)) return;
		const timer = setTimeout(() => {
			this.pending.delete(key);
			this.flush(key);
		}, this.windowMs);
		timer.unref?.();
		this.pending.set(key, timer);
	}

	get size() {
		return this.pending.size;
	}

	/** Cancels every pending flush (service stopping). */
	clear() {
		for (const t of this.pending.values()) clearTimeout(t);
		this.pending.clear();
	}
}
