import fs from "node:fs";
import Datastore from "@seald-io/nedb";
// NeDB's document serializer (dates, `$$` keys): the same one its own persistence uses.
import model from "@seald-io/nedb/lib/model.js";

/**
 * A NeDB datastore backed by its file, as the embedded default uses it, with one change to how
 * writes reach the file. NeDB appends a line per insert/update/remove through
 * `fs.promises.appendFile`, which opens, writes and closes the file on the thread pool: three
 * round trips for every write, and NeDB runs a collection's operations one at a time, so under
 * load each collection was limited by that latency rather than by the CPU (about 800 writes/s
 * for the donations collection, with the process mostly idle).
 *
 * Here the file stays open in append mode and each write is one `fs.writeSync` of the same lines:
 * the bytes reach the operating system before the operation completes, exactly as before (NeDB
 * never fsyncs either), so a crashed process loses nothing it had acknowledged. Compaction
 * rewrites the file through a temporary file and a rename; the descriptor is reopened after it.
 */

interface Persistence {
	filename: string;
	inMemoryOnly: boolean;
	modes: { fileMode: number };
	afterSerialization(line: string): string;
	persistNewStateAsync(docs: Record<string, unknown>[]): Promise<void>;
}

const appenders = new WeakMap<Datastore, { close(): void }>();

export function createFileDatastore(filename: string): Datastore {
	const db = new Datastore({ filename });
	const persistence = (db as unknown as { persistence: Persistence }).persistence;
	let fd: number | null = null;
	const close = () => {
		if (fd !== null) fs.closeSync(fd);
		fd = null;
	};
	// Compaction replaced the file: later lines must go to the new one.
	db.on("compaction.done", close);
	persistence.persistNewStateAsync = async (docs) => {
		if (persistence.inMemoryOnly || docs.length === 0) return;
		let lines = "";
		for (const doc of docs) lines += `${persistence.afterSerialization(model.serialize(doc))}\n`;
		fd ??= fs.openSync(persistence.filename, "a", persistence.modes.fileMode);
		const buf = Buffer.from(lines, "utf8");
		for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off, buf.length - off);
	};
	appenders.set(db, { close });
	return db;
}

/** Closes the file a datastore made by `createFileDatastore` appends to (reopened on the next write). */
export function closeFileDatastore(db: unknown): void {
	appenders.get(db as Datastore)?.close();
}
