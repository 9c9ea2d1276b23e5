import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { dbConfig } from "../db/config";

/**
 * One process per DATA_DIR. NeDB keeps each collection in memory and appends to its file, so two
 * processes on one directory both accept writes and the file ends up holding one of them (the
 * other's users, donations, ledger lines are lost). At start a node that keeps NeDB files takes
 * `DATA_DIR/mediashar.lock` (created with O_EXCL, holding its pid and host) and refuses to start
 * while another live process holds it. A lock whose process is gone (SIGKILL, OOM, a crash) is
 * taken over; so is one holding this process's own pid (a container restarted as pid 1 again).
 *
 * The same check finds a directory that cannot be written (read-only mount, wrong owner): the
 * node exits with a sentence naming DATA_DIR instead of starting services that never connect.
 */

export const LOCK_FILE = "mediashar.lock";

export interface LockOwner {
	pid: number;
	host: string;
	startedAt: string;
}

export class DataDirError extends Error {
	constructor(message: string) {
		super(message);
		this.name = "DataDirError";
	}
}

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		// EPERM: it exists, it is just not ours to signal.
		return (err as NodeJS.ErrnoException).code === "EPERM";
	}
}

function readOwner(file: string): { raw: string; owner: LockOwner | null } | null {
	let raw: string;
	try {
		raw = fs.readFileSync(file, "utf8");
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
		throw err;
	}
	try {
		const o = JSON.parse(raw);
		return { raw, owner: typeof o?.pid === "number" ? { pid: o.pid, host: String(o.host ?? ""), startedAt: String(o.startedAt ?? "") } : null };
	} catch {
		// Half-written by an owner that died while creating it.
		return { raw, owner: null };
	}
}

function unwritable(dir: string, err: unknown): DataDirError {
	const code = (err as NodeJS.ErrnoException).code ?? "error";
	return new DataDirError(
		`DATA_DIR ${dir} cannot be written (${code}): the NeDB files live there. Make it writable by this user or point DATA_DIR elsewhere.`,
	);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class DataDirLock {
	readonly file: string;
	private held: string | null = null;
	private readonly onExit = () => this.release();

	constructor(readonly dir: string) {
		this.file = path.join(dir, LOCK_FILE);
	}

	/** Creates the directory if needed, proves it writable, and takes the lock (or throws a DataDirError). */
	async acquire(): Promise<void> {
		try {
			fs.mkdirSync(this.dir, { recursive: true });
		} catch (err) {
			throw unwritable(this.dir, err);
		}
		const me: LockOwner = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
		const content = JSON.stringify(me);
		for (let attempt = 0; attempt < 100; attempt++) {
			try {
				const fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
				try {
					fs.writeSync(fd, content);
					fs.fsyncSync(fd);
				} finally {
					fs.closeSync(fd);
				}
				this.held = content;
				process.once("exit", this.onExit);
				this.checkFiles();
				return;
			} catch (err) {
				if (err instanceof DataDirError) throw err;
				if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw unwritable(this.dir, err);
			}
			const seen = readOwner(this.file);
			if (!seen) continue; // released between our two steps: try again
			const o = seen.owner;
			const stale = !o || (o.host === me.host && (o.pid === process.pid || !alive(o.pid)));
			if (!stale) {
				const where = o.host === me.host ? "" : ` on host ${o.host}`;
				throw new DataDirError(
					`DATA_DIR ${this.dir} is in use by another MediaShar process (pid ${o.pid}${where}, started ${o.startedAt}): only one process may keep NeDB files in a directory. Stop it, or give this one its own DATA_DIR.`,
				);
			}
			await this.takeOver(seen.raw);
		}
		throw new DataDirError(`DATA_DIR ${this.dir}: could not take ${LOCK_FILE} (other processes keep racing for it).`);
	}

	/**
	 * Removes a stale lock. A short-lived directory serialises take-overs: two starters that both
	 * found the same dead owner cannot remove each other's fresh lock.
	 */
	private async takeOver(staleRaw: string) {
		const mutex = `${this.file}.takeover`;
		try {
			fs.mkdirSync(mutex);
		} catch (err) {
			if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw unwritable(this.dir, err);
			// Left by a starter that died mid-take-over: old enough to be nobody's.
			const age = Date.now() - (fs.statSync(mutex, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
			if (age > 5_000) fs.rmSync(mutex, { recursive: true, force: true });
			await sleep(20);
			return;
		}
		try {
			if (readOwner(this.file)?.raw === staleRaw) fs.rmSync(this.file, { force: true });
		} finally {
			fs.rmSync(mutex, { recursive: true, force: true });
		}
	}

	/** The collection files themselves must be writable too (a restored backup owned by root). */
	private checkFiles() {
		for (const name of fs.readdirSync(this.dir)) {
			if (!name.endsWith(".db") && !name.endsWith(".journal")) continue;
			try {
				fs.accessSync(path.join(this.dir, name), fs.constants.W_OK);
			} catch (err) {
				this.release();
				const code = (err as NodeJS.ErrnoException).code ?? "error";
				throw new DataDirError(
					`DATA_DIR ${this.dir} holds ${name}, which cannot be written (${code}). Make it writable by this user or point DATA_DIR elsewhere.`,
				);
			}
		}
	}

	/** Gives the lock back if it is still ours. */
	release() {
		if (!this.held) return;
		process.removeListener("exit", this.onExit);
		try {
			if (readOwner(this.file)?.raw === this.held) fs.rmSync(this.file, { force: true });
		} catch {
			/* the directory went away: nothing to release */
		}
		this.held = null;
	}
}

/** Whether this node keeps NeDB files under DATA_DIR (its own collections or the embedded channel journal). */
export function usesDataDir(broker: ServiceBroker, env: NodeJS.ProcessEnv = process.env): boolean {
	if (dbConfig(env).kind !== "nedb") return false;
	if (!env.TRANSPORTER) return true;
	return (broker.services as any[]).some((s) => s.store?.kind === "nedb");
}

/** Broker middleware: takes the DATA_DIR lock before any service starts, gives it back once stopped. */
export function DataDirMiddleware() {
	let lock: DataDirLock | null = null;
	return {
		name: "DataDirLock",
		async starting(broker: ServiceBroker) {
			if (!usesDataDir(broker)) return;
			lock = new DataDirLock(dbConfig().dataDir);
			await lock.acquire();
		},
		stopped() {
			lock?.release();
			lock = null;
		},
	};
}
