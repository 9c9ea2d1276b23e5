import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { freePort } from "./cluster";

const exec = promisify(execFile);

/** The PostgreSQL server binaries (initdb, pg_ctl): PG_BIN, else the Debian package's directory, else the PATH. */
export function pgBin(name: string): string {
	const dirs = [process.env.PG_BIN, ...["17", "16", "15", "14", "13"].map((v) => `/usr/lib/postgresql/${v}/bin`)].filter(Boolean) as string[];
	for (const dir of dirs) if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
	return name;
}

/** PostgreSQL refuses to run as root: as root (CI containers), run its tools as the `postgres` user. */
function asServerUser(bin: string, args: string[]): Promise<unknown> {
	if (process.getuid?.() === 0) return exec("runuser", ["-u", "postgres", "--", bin, ...args]);
	return exec(bin, args);
}

/**
 * A throwaway PostgreSQL server of the test's own (initdb into a temp directory, its own port on
 * 127.0.0.1, trust auth for `postgres`), for tests that stop and restart the server: the shared
 * server on 5432 is left alone.
 */
export class PgServer {
	readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-pg-"));
	port = 0;

	get url(): string {
		return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
	}
	urlFor(db: string): string {
		return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
	}

	async init(): Promise<this> {
		this.port = await freePort();
		if (process.getuid?.() === 0) await exec("chown", ["postgres:postgres", this.dir]);
		await asServerUser(pgBin("initdb"), [
			"-D",
			path.join(this.dir, "data"),
			"-U",
			"postgres",
			"--auth=trust",
			"-E",
			"UTF8",
			"--locale=C.UTF-8",
			"--no-sync",
		]);
		await this.start();
		return this;
	}

	/** Starts the server and waits until it accepts connections (pg_ctl -w). */
	async start(): Promise<void> {
		const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
		await asServerUser(pgBin("pg_ctl"), [
			"-D",
			path.join(this.dir, "data"),
			"-o",
			opts,
			"-l",
			path.join(this.dir, "server.log"),
			"-w",
			"-t",
			"60",
			"start",
		]);
	}

	/** Stops it; "immediate" is a crash as far as the clients can tell (no goodbye on their connections). */
	async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
		await asServerUser(pgBin("pg_ctl"), ["-D", path.join(this.dir, "data"), "-m", mode, "-w", "-t", "60", "stop"]).catch(() => undefined);
	}

	async createDatabase(name: string): Promise<string> {
		const client = new pg.Client({ connectionString: this.url });
		await client.connect();
		try {
			await client.query(`CREATE DATABASE "${name}"`);
		} finally {
			await client.end();
		}
		return this.urlFor(name);
	}

	async destroy(): Promise<void> {
		await this.stop("immediate");
		fs.rmSync(this.dir, { recursive: true, force: true });
	}
}
