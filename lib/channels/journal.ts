import fs from "node:fs";
import path from "node:path";
import { storageError, storageWorked } from "../db/storage-health";

/**
 * The write-ahead journal of the in-process channel adapter (embedded default, NeDB files): every
 * published message is appended to a file before it is delivered, and every consumer group that
 * finished with it (handled, or moved to the dead-letter channel) appends an acknowledgement. A
 * process that stops or crashes with messages still queued or being handled delivers them again
 * when it starts, to the groups that had not finished, as NATS JetStream would. Handlers are
 * idempotent, so a message handled just before a crash and delivered again changes nothing twice.
 *
 * Lines are appended with one `writeSync` each (like the NeDB files, they reach the operating
 * system before the call returns; nothing is fsynced). Finished messages are dropped from memory
 * at once and from the file when it is compacted (on start and every COMPACT_EVERY lines).
 *
 * A line the storage refuses (disk full, quota, read-only, I/O error) throws 503
 * STORAGE_UNAVAILABLE and changes nothing: the message is not published (the sender gets the
 * error) or the acknowledgement is not recorded (the adapter tries again), and a line cut short
 * is cut off the file again. A compaction that fails keeps the old file and is tried again later.
 */

export interface JournalEntry {
	id: string;
	channel: string;
	payload: unknown;
	headers?: Record<string, unknown>;
	/** Consumer groups that finished with it. */
	done: Set<string>;
}

type Line = { p: string; c: string; d: unknown; h?: Record<string, unknown> } | { a: string; g: string };

const COMPACT_EVERY = 20_000;

export class ChannelJournal {
	private fd: number | null = null;
	private readonly entries = new Map<string, JournalEntry>();
	private linesSinceCompaction = 0;
	private compacting: NodeJS.Immediate | null = null;
	/** Bytes of the file written so far (where a failed append is cut back to). */
	private size = 0;
	/** A failed append could not be cut back: the next line starts on a line of its own. */
	private torn = false;

	/** `groupsOf`: the consumer groups of a channel; a message is finished once all of them are. */
	constructor(
		readonly file: string,
		private readonly groupsOf: (channel: string) => Iterable<string>,
	) {}

	/** Reads what a previous run left unfinished. */
	load(): void {
		if (!fs.existsSync(this.file)) return;
		const text = fs.readFileSync(this.file, "utf8");
		for (const raw of text.split("\n")) {
			if (!raw) continue;
			let line: Line;
			try {
				line = JSON.parse(raw);
			} catch {
				continue; // a line cut short by a crash
			}
			if ("p" in line) this.entries.set(line.p, { id: line.p, channel: line.c, payload: line.d, headers: line.h, done: new Set() });
			else this.entries.get(line.a)?.done.add(line.g);
		}
	}

	published(entry: Omit<JournalEntry, "done">): void {
		this.append({ p: entry.id, c: entry.channel, d: entry.payload, ...(entry.headers ? { h: entry.headers } : {}) });
		this.entries.set(entry.id, { ...entry, done: new Set() });
	}

	/** `group` finished with message `id`. */
	finished(id: string, group: string): void {
		const entry = this.entries.get(id);
		if (!entry) return;
		this.append({ a: id, g: group });
		entry.done.add(group);
		if (this.isFinished(entry)) this.entries.delete(id);
	}

	/** Messages not yet finished by every group (after `compact`), in publishing order. */
	unfinished(): JournalEntry[] {
		return [...this.entries.values()];
	}

	/** Forgets finished messages and rewrites the file with the others only. */
	compact(): void {
		for (const [id, entry] of this.entries) if (this.isFinished(entry)) this.entries.delete(id);
		let text = "";
		for (const e of this.entries.values()) {
			text += `${JSON.stringify({ p: e.id, c: e.channel, d: e.payload, ...(e.headers ? { h: e.headers } : {}) })}\n`;
			for (const g of e.done) text += `${JSON.stringify({ a: e.id, g })}\n`;
		}
		this.closeFile();
		const tmp = `${this.file}.tmp`;
		try {
			fs.mkdirSync(path.dirname(this.file), { recursive: true });
			fs.writeFileSync(tmp, text);
			fs.renameSync(tmp, this.file);
		} catch (err) {
			// The old file is whole (the copy replaces it only once written): keep appending to it.
			fs.rmSync(tmp, { force: true });
			throw storageError(err, "channel journal");
		}
		this.linesSinceCompaction = 0;
	}

	close(): void {
		if (this.compacting) clearImmediate(this.compacting);
		this.compacting = null;
		this.closeFile();
	}

	private isFinished(entry: JournalEntry): boolean {
		for (const g of this.groupsOf(entry.channel)) if (!entry.done.has(g)) return false;
		return true;
	}

	private closeFile(): void {
		if (this.fd !== null) fs.closeSync(this.fd);
		this.fd = null;
	}

	private append(line: Line) {
		const buf = Buffer.from(`${this.torn ? "\n" : ""}${JSON.stringify(line)}\n`, "utf8");
		let off = 0;
		try {
			if (this.fd === null) {
				fs.mkdirSync(path.dirname(this.file), { recursive: true });
				this.fd = fs.openSync(this.file, "a");
				this.size = fs.fstatSync(this.fd).size;
			}
			while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
		} catch (err) {
			if (off > 0 && this.fd !== null) {
				try {
					fs.ftruncateSync(this.fd, this.size);
				} catch {
					this.torn = true;
				}
			}
			throw storageError(err, "channel journal");
		}
		this.size += buf.length;
		this.torn = false;
		storageWorked();
		if (++this.linesSinceCompaction >= COMPACT_EVERY && !this.compacting) {
			this.compacting = setImmediate(() => {
				this.compacting = null;
				try {
					this.compact();
				} catch {
					// No room for the compacted copy: the journal keeps growing until the next try.
					this.linesSinceCompaction = COMPACT_EVERY / 2;
				}
			});
		}
	}
}
