import { createHash } from "node:crypto";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { newId } from "../tools/ids";

/**
 * Where media bytes live, behind one small interface. A blob's key is its content address
 * `<sha256>.<ext>` (lib/domain/media/formats.ts): the same bytes are stored once, a stored blob
 * never changes, and any node can serve it from its key alone. Two stores:
 * - FsMediaStore: files under DATA_DIR/media (the embedded default; a shared volume in a cluster);
 * - NatsMediaStore (lib/media/nats-store.ts): a JetStream Object Store every node of the cluster shares.
 * Uploads are spooled to `spoolDir` while they are checked; `putFile` takes the finished spool file
 * (and removes it), so a refused upload is removed by its caller and nothing of it stays.
 */
export interface MediaStore {
	readonly kind: "fs" | "nats";
	/** Local folder where uploads are written while they are read and checked. */
	readonly spoolDir: string;
	/** Stores a finished spool file under `key` (a no-op when the key exists); the spool file is gone afterwards. */
	putFile(file: string, key: string): Promise<void>;
	/** Stores bytes under their content address; answers the sha256. */
	putBytes(data: Buffer, key: (hash: string) => string): Promise<{ hash: string; key: string; size: number }>;
	/** The blob's bytes (`start`..`end` inclusive when given), or null when there is none. */
	get(key: string, range?: { start: number; end: number }): Promise<Readable | null>;
	stat(key: string): Promise<{ size: number } | null>;
	delete(key: string): Promise<void>;
	close(): Promise<void>;
}

export function sha256(data: Buffer): string {
	return createHash("sha256").update(data).digest("hex");
}

/** Keys are content addresses: nothing that could climb out of the store's folder. */
export function assertKey(key: string): void {
	if (!/^[0-9a-f]{64}\.[a-z0-9]{2,5}$/.test(key)) throw new Error(`not a media key: ${key}`);
}

/** Files under one folder, two hex digits of fan-out (`ab/abcdef….png`), written by rename so a reader never sees half a file. */
export class FsMediaStore implements MediaStore {
	readonly kind = "fs" as const;
	readonly spoolDir: string;

	constructor(readonly dir: string) {
		this.spoolDir = path.join(dir, ".incoming");
	}

	async init(): Promise<this> {
		await fsp.mkdir(this.spoolDir, { recursive: true });
		return this;
	}

	private pathOf(key: string): string {
		assertKey(key);
		return path.join(this.dir, key.slice(0, 2), key);
	}

	async putFile(file: string, key: string): Promise<void> {
		const target = this.pathOf(key);
		await fsp.mkdir(path.dirname(target), { recursive: true });
		// Same folder tree, same file system: the rename is atomic, and a second copy of the same
		// bytes simply replaces the first with identical content.
		await fsp.rename(file, target);
	}

	async putBytes(data: Buffer, keyOf: (hash: string) => string) {
		const hash = sha256(data);
		const key = keyOf(hash);
		if (!(await this.stat(key))) {
			await fsp.mkdir(this.spoolDir, { recursive: true });
			const tmp = path.join(this.spoolDir, `${newId()}.part`);
			try {
				await fsp.writeFile(tmp, data);
				await this.putFile(tmp, key);
			} finally {
				await fsp.rm(tmp, { force: true });
			}
		}
		return { hash, key, size: data.length };
	}

	async get(key: string, range?: { start: number; end: number }): Promise<Readable | null> {
		const file = this.pathOf(key);
		// Opened before answering, so a missing file is a null here rather than a stream error later.
		const handle = await fsp.open(file, "r").catch((err: NodeJS.ErrnoException) => {
			if (err.code === "ENOENT") return null;
			throw err;
		});
		if (!handle) return null;
		return handle.createReadStream({ start: range?.start, end: range?.end, autoClose: true, highWaterMark: 256 * 1024 });
	}

	async stat(key: string): Promise<{ size: number } | null> {
		try {
			const s = await fsp.stat(this.pathOf(key));
			return { size: s.size };
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
			throw err;
		}
	}

	async delete(key: string): Promise<void> {
		await fsp.rm(this.pathOf(key), { force: true });
	}

	async close(): Promise<void> {}
}
