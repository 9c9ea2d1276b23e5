import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import os from "node:os";
import { Readable } from "node:stream";
import { connect, StorageType, type NatsConnection, type ObjectStore } from "nats";
import { assertKey, sha256, type MediaStore } from "./store";

/**
 * Media in a NATS JetStream Object Store (bucket `MEDIA_BUCKET`, `MEDIA_REPLICAS` copies): every
 * node of a NATS cluster reads and writes the same blobs with no shared volume and no new server.
 * Objects are chunked (128 KB) into a stream; a `Range` read streams the object and keeps the
 * bytes asked for (the Object Store has no offset reads; media files are small).
 */
export class NatsMediaStore implements MediaStore {
	readonly kind = "nats" as const;
	readonly spoolDir: string;
	private nc?: NatsConnection;
	private os?: ObjectStore;

	constructor(private readonly opts: { url: string; bucket: string; replicas: number; spoolDir?: string }) {
		this.spoolDir = opts.spoolDir ?? path.join(os.tmpdir(), "mediashar-media-spool");
	}

	async init(): Promise<this> {
		await fsp.mkdir(this.spoolDir, { recursive: true });
		this.nc = await connect({ servers: this.opts.url, name: "mediashar-media", maxReconnectAttempts: -1 });
		this.os = await this.nc.jetstream().views.os(this.opts.bucket, { storage: StorageType.File, replicas: this.opts.replicas });
		return this;
	}

	private get store(): ObjectStore {
		if (!this.os) throw new Error("NatsMediaStore used before init()");
		return this.os;
	}

	async putFile(file: string, key: string): Promise<void> {
		assertKey(key);
		try {
			if (!(await this.stat(key))) {
				const body = Readable.toWeb(fs.createReadStream(file, { highWaterMark: 128 * 1024 })) as ReadableStream<Uint8Array>;
				await this.store.put({ name: key }, body);
			}
		} finally {
			await fsp.rm(file, { force: true });
		}
	}

	async putBytes(data: Buffer, keyOf: (hash: string) => string) {
		const hash = sha256(data);
		const key = keyOf(hash);
		assertKey(key);
		if (!(await this.stat(key))) await this.store.putBlob({ name: key }, data);
		return { hash, key, size: data.length };
	}

	async get(key: string, range?: { start: number; end: number }): Promise<Readable | null> {
		assertKey(key);
		const result = await this.store.get(key);
		if (!result) return null;
		return objectStream(result.data, range);
	}

	async stat(key: string): Promise<{ size: number } | null> {
		assertKey(key);
		const info = await this.store.info(key);
		return info && !info.deleted ? { size: info.size } : null;
	}

	async delete(key: string): Promise<void> {
		assertKey(key);
		if (await this.stat(key)) await this.store.delete(key);
	}

	async close(): Promise<void> {
		await this.nc?.drain().catch(() => this.nc?.close());
	}
}

/**
 * An object's chunks as a Node stream, `range` (inclusive) only when given. When the reader stops
 * early (the range is done, the client went away) the rest is read and dropped in the background:
 * nats.js keeps feeding a cancelled stream and fails.
 */
function objectStream(data: ReadableStream<Uint8Array>, range?: { start: number; end: number }): Readable {
	const reader = data.getReader();
	let offset = 0;
	let draining = false;
	const drain = () => {
		if (draining) return;
		draining = true;
		void (async () => {
			try {
				while (!(await reader.read()).done);
			} catch {
				/* the object is gone: nothing left to drop */
			}
		})();
	};
	return new Readable({
		async read() {
			try {
				for (;;) {
					const { done, value } = await reader.read();
					if (done) {
						draining = true;
						return void this.push(null);
					}
					const chunk = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
					const at = offset;
					offset += chunk.length;
					if (!range) return void this.push(chunk);
					const from = Math.max(0, range.start - at);
					const to = Math.min(chunk.length, range.end + 1 - at);
					const last = offset > range.end;
					if (to > from) this.push(chunk.subarray(from, to));
					if (last) {
						drain();
						return void this.push(null);
					}
					if (to > from) return;
				}
			} catch (err) {
				this.destroy(err as Error);
			}
		},
		destroy(err, cb) {
			drain();
			cb(err);
		},
	});
}
