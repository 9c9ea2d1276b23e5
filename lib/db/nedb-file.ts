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
 *
 * A write the storage refuses (disk full, quota, read-only, I/O error) leaves nothing behind:
 *  - NeDB changes its in-memory documents first and appends the lines after, so on a failed
 *    append the caller got an error while every later read saw the change (and a restart, which
 *    reads the file, did not). The insert, update or remove is undone in memory here before the
 *    error reaches the caller: what a read answers is what the file holds.
 *  - A line cut short (the disk filled in the middle of it) is cut off the file again, or the
 *    next line appended would be glued to it and both lost on the next load.
 *  - Compaction that fails (no room for the rewritten copy) leaves the file as it was, removes
 *    its partial copy and is tried again at the next interval, instead of an unhandled rejection
 *    from NeDB's autocompaction timer.
 */

interface Internals {
	persistence: Persistence;
	_insertAsync(...args: unknown[]): Promise<unknown>;
	_updateAsync(...args: unknown[]): Promise<unknown>;
	_removeAsync(...args: unknown[]): Promise<unknown>;
	_addToIndexes(doc: unknown): void;
	_removeFromIndexes(doc: unknown): void;
	_updateIndexes(oldDoc: unknown, newDoc?: unknown): void;
	compactDatafile(callback?: (err: Error | null) => void): void;
	compactDatafileAsync(): Promise<void>;
}

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
	const internals = db as unknown as Internals;
	const persistence = internals.persistence;
	let fd: number | null = null;
	/** Bytes of the file this process has written up to (where a failed append is cut back to). */
	let size = 0;
	/** A failed append could not be cut back: the next one starts on a line of its own. */
	let torn = false;
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
		const buf = Buffer.from(torn ? `\n${lines}` : lines, "utf8");
		let off = 0;
		try {
			if (fd === null) {
				fd = fs.openSync(persistence.filename, "a", persistence.modes.fileMode);
				size = fs.fstatSync(fd).size;
			}
			while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
		} catch (err) {
			if (off > 0 && fd !== null) {
				try {
					fs.ftruncateSync(fd, size);
				} catch {
					torn = true;
				}
			}
			failedAppends.add(err as object);
			throw err;
		}
		size += buf.length;
		torn = false;
	};
	undoFailedAppends(internals);
	// NeDB's autocompaction timer calls this without a callback and leaves its rejection unhandled.
	internals.compactDatafile = (callback) => {
		internals.compactDatafileAsync().then(
			() => callback?.(null),
			(err: Error) => {
				fs.rmSync(`${persistence.filename}~`, { force: true });
				callback?.(err);
			},
		);
	};
	appenders.set(db, { close });
	return db;
}

/** Errors of appends that did not reach the file (the operation that made them is undone in memory). */
const failedAppends = new WeakSet<object>();

/**
 * Records what each insert, update and remove changes in NeDB's in-memory indexes and, when its
 * append fails, undoes it in reverse order. NeDB runs one operation of a datastore at a time
 * (its executor), and an upsert's insert runs inside its update, sharing the record.
 */
function undoFailedAppends(db: Internals): void {
	let undo: Array<() => void> | null = null;
	const addToIndexes = db._addToIndexes.bind(db);
	const removeFromIndexes = db._removeFromIndexes.bind(db);
	const updateIndexes = db._updateIndexes.bind(db);
	db._addToIndexes = (doc) => {
		addToIndexes(doc);
		undo?.push(() => removeFromIndexes(doc));
	};
	db._removeFromIndexes = (doc) => {
		removeFromIndexes(doc);
		undo?.push(() => addToIndexes(doc));
	};
	db._updateIndexes = (oldDoc, newDoc) => {
		updateIndexes(oldDoc, newDoc);
		if (Array.isArray(oldDoc)) {
			const back = (oldDoc as Array<{ oldDoc: unknown; newDoc: unknown }>).map((p) => ({ oldDoc: p.newDoc, newDoc: p.oldDoc }));
			undo?.push(() => updateIndexes(back));
		} else undo?.push(() => updateIndexes(newDoc, oldDoc));
	};
	for (const name of ["_insertAsync", "_updateAsync", "_removeAsync"] as const) {
		const run = db[name].bind(db);
		db[name] = async (...args: unknown[]) => {
			const outermost = undo === null;
			if (outermost) undo = [];
			try {
				return await run(...args);
			} catch (err) {
				if (outermost && failedAppends.has(err as object)) for (const step of undo!.reverse()) step();
				throw err;
			} finally {
				if (outermost) undo = null;
			}
		};
	}
}

/** Closes the file a datastore made by `createFileDatastore` appends to (reopened on the next write). */
export function closeFileDatastore(db: unknown): void {
	appenders.get(db as Datastore)?.close();
}
