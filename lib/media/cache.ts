/**
 * Recently served media files kept in memory by the gateway, least recently used out first, up
 * to `maxBytes` in all and `maxBytes / 16` per file. Content addresses never change their bytes,
 * so an entry can never be stale; the gateway still asks the store whether the blob exists on
 * every request, so a deleted file stops being served at once.
 */
export class BlobCache {
	private readonly entries = new Map<string, Buffer>();
	private bytes = 0;
	readonly maxEntryBytes: number;

	constructor(readonly maxBytes: number) {
		this.maxEntryBytes = Math.floor(maxBytes / 16);
	}

	get(key: string): Buffer | undefined {
		const hit = this.entries.get(key);
		if (hit) {
			this.entries.delete(key);
			this.entries.set(key, hit);
		}
		return hit;
	}

	set(key: string, data: Buffer): void {
		if (data.length > this.maxEntryBytes || this.entries.has(key)) return;
		this.entries.set(key, data);
		this.bytes += data.length;
		for (const [k, v] of this.entries) {
			if (this.bytes <= this.maxBytes) break;
			this.entries.delete(k);
			this.bytes -= v.length;
		}
	}

	delete(key: string): void {
		const hit = this.entries.get(key);
		if (!hit) return;
		this.entries.delete(key);
		this.bytes -= hit.length;
	}

	get size(): { files: number; bytes: number } {
		return { files: this.entries.size, bytes: this.bytes };
	}
}
