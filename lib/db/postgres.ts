import { createHash, randomBytes } from "node:crypto";
import { Errors } from "moleculer";
import pg from "pg";
import type { DbConfig } from "./config";
import { APPLY_FUNCTIONS, jsonAt, orderBy, Params, textAt, updateJson, upsertBase, where, type ScalarIndex } from "./pg-sql";

/**
 * The PostgreSQL store (DATABASE_URL=postgres://…): one table per collection, `_id text COLLATE
 * "C" PRIMARY KEY` beside the document as `doc jsonb`, behind the same adapter methods the
 * `Collection` in mixins/db.mixin.ts calls on moleculer-db's adapters.
 *
 * - Queries, sorts and updates are translated by lib/db/pg-sql.ts; an operator it does not know
 *   is refused with an error naming it. A conditional update is one UPDATE … WHERE statement and
 *   answers the rows it matched.
 * - Tables, indexes and the update function are created by versioned migrations recorded in
 *   `schema_migrations`, applied under an advisory lock so instances starting together do not
 *   race (`migrate`).
 * - One pool per process and URL (`PG_POOL_MAX` connections, `PG_STATEMENT_TIMEOUT_MS` per
 *   statement), shared by every collection and released with the last one. A query that cannot
 *   get a connection waits up to `PG_RECONNECT_WAIT_MS` (5 s) for the server to come back (a
 *   restart); past that, or
 *   when a write's connection broke mid-statement, it fails with a 503 `DATABASE_UNAVAILABLE` (the
 *   gateway adds Retry-After). pg's pool opens new connections once the server is back.
 * - A unique violation carries NeDB's `errorType: "uniqueViolated"`, so `isDuplicateKey` and the
 *   services' insert-or-get paths work unchanged.
 */

type Doc = Record<string, any>;
type PgSettings = NonNullable<DbConfig["postgres"]>;

interface SharedPool {
	pool: pg.Pool;
	users: number;
}
const pools = new Map<string, SharedPool>();
const reconnectWait = new WeakMap<pg.Pool, number>();

function poolKey(cfg: PgSettings): string {
	return `${cfg.url}#${cfg.poolMax}#${cfg.statementTimeoutMs}#${cfg.reconnectWaitMs}`;
}

/** Takes a reference to the process's pool for these settings (created on first use). */
export function acquirePool(cfg: PgSettings): pg.Pool {
	const key = poolKey(cfg);
	let shared = pools.get(key);
	if (!shared) {
		const pool = new pg.Pool({
			connectionString: cfg.url,
			max: cfg.poolMax,
			statement_timeout: cfg.statementTimeoutMs,
			connectionTimeoutMillis: 5_000,
			idleTimeoutMillis: 30_000,
		});
		// An idle connection the server dropped (a restart): without a listener the process would
		// crash on the 'error' event. The pool discards that client and opens a new one when needed.
		pool.on("error", () => undefined);
		reconnectWait.set(pool, cfg.reconnectWaitMs);
		shared = { pool, users: 0 };
		pools.set(key, shared);
	}
	shared.users++;
	return shared.pool;
}

/** Gives a reference back; the last one ends the pool. */
export async function releasePool(cfg: PgSettings): Promise<void> {
	const key = poolKey(cfg);
	const shared = pools.get(key);
	if (!shared) return;
	if (--shared.users > 0) return;
	pools.delete(key);
	await shared.pool.end().catch(() => undefined);
}

const UNAVAILABLE_CODES = new Set([
	"ECONNREFUSED",
	"ECONNRESET",
	"ETIMEDOUT",
	"EPIPE",
	"ENOTFOUND",
	"EAI_AGAIN",
	"EHOSTUNREACH",
	"57P01",
	"57P02",
	"57P03",
	"53300",
	"57014",
]);

/** pg errors → what the services and the gateway expect. */
export function mapPgError(err: unknown): unknown {
	const e = err as { code?: string; message?: string; errorType?: string };
	if (!e || typeof e !== "object") return err;
	if (e.code === "23505") {
		e.errorType = "uniqueViolated";
		return e;
	}
	// jsonb refuses the NUL character; that is bad input, not a failure of ours.
	if (e.code === "22P05")
		return new Errors.MoleculerClientError("Text may not contain the NUL character", 422, "VALIDATION_ERROR", [
			{ field: "text", message: "contains a NUL character" },
		]);
	const msg = e.message ?? "";
	if (
		(e.code && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith("08"))) ||
		/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|the database system is (starting up|shutting down)/i.test(
			msg,
		)
	) {
		return new Errors.MoleculerError("The database is unavailable, retry shortly", 503, "DATABASE_UNAVAILABLE", { reason: e.code ?? msg.slice(0, 120) });
	}
	return err;
}

/**
 * How long a query waits for the server to take connections again (a restart, a failover) before
 * it answers 503. Only where that is safe: getting a connection failed, so the statement never
 * ran; or a read whose connection broke. A write whose connection broke mid-statement may have
 * committed, so it fails at once and the caller's own idempotent retry decides.
 */
const RECONNECT_PAUSE_MS = 250;

const ignore = () => undefined;

function unavailable(err: unknown): boolean {
	const mapped = mapPgError(err) as { type?: string };
	return mapped?.type === "DATABASE_UNAVAILABLE";
}

/**
 * Sees every statement before it runs (the growth bench prints `EXPLAIN` of the statements its
 * reads issue); null, the default, costs one comparison per statement.
 */
let statementTrace: ((sql: string, values: unknown[]) => void) | null = null;
export function traceStatements(fn: ((sql: string, values: unknown[]) => void) | null): void {
	statementTrace = fn;
}

export async function run(pool: pg.Pool, sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
	if (statementTrace) statementTrace(sql, values);
	const deadline = Date.now() + (reconnectWait.get(pool) ?? 0);
	const read = /^\s*SELECT\b/i.test(sql);
	for (;;) {
		let client: pg.PoolClient;
		try {
			client = await pool.connect();
		} catch (err) {
			if (unavailable(err) && Date.now() < deadline) {
				await new Promise((r) => setTimeout(r, RECONNECT_PAUSE_MS));
				continue;
			}
			throw mapPgError(err);
		}
		// A checked-out client has no listener of the pool's: a connection that dies now (a server
		// restart) would emit an unhandled 'error' and crash the process. The query's own rejection
		// carries the error.
		client.on("error", ignore);
		try {
			const res = await client.query(sql, values);
			client.off("error", ignore);
			client.release();
			return res;
		} catch (err) {
			client.off("error", ignore);
			const code = (err as { code?: string }).code;
			// A broken connection goes back destroyed; a statement error leaves it usable.
			const broken = unavailable(err) && code !== "57014";
			client.release(broken ? (err as Error) : undefined);
			if (broken && read && Date.now() < deadline) {
				await new Promise((r) => setTimeout(r, RECONNECT_PAUSE_MS));
				continue;
			}
			throw mapPgError(err);
		}
	}
}

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,40}$/;
const ident = (name: string) => `"${name}"`;

export interface Migration {
	version: string;
	sql: string;
}

/** A stable advisory-lock key for MediaShar's migrations. */
const MIGRATION_LOCK = 0x6d656469; // "medi"

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in order, each with its row in
 * the same transaction, under a transaction-scoped advisory lock: a second instance starting at
 * the same moment waits, then finds them recorded and applies nothing.
 */
export async function migrate(pool: pg.Pool, migrations: Migration[]): Promise<string[]> {
	const applied = await run(pool, "SELECT version FROM schema_migrations WHERE version = ANY($1::text[])", [migrations.map((m) => m.version)]).then(
		(r) => new Set(r.rows.map((row) => row.version as string)),
		(err) => {
			if ((err as { code?: string }).code === "42P01") return new Set<string>();
			throw err;
		},
	);
	const pending = migrations.filter((m) => !applied.has(m.version));
	if (pending.length === 0) return [];
	let client: pg.PoolClient;
	try {
		client = await pool.connect();
	} catch (err) {
		throw mapPgError(err);
	}
	const done: string[] = [];
	client.on("error", ignore);
	try {
		await client.query("BEGIN");
		await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
		await client.query(
			'CREATE TABLE IF NOT EXISTS schema_migrations (version text COLLATE "C" PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
		);
		const again = await client.query("SELECT version FROM schema_migrations WHERE version = ANY($1::text[])", [pending.map((m) => m.version)]);
		const now = new Set(again.rows.map((row) => row.version as string));
		for (const m of pending) {
			if (now.has(m.version)) continue;
			await client.query(m.sql);
			await client.query("INSERT INTO schema_migrations (version) VALUES ($1)", [m.version]);
			done.push(m.version);
		}
		await client.query("COMMIT");
		return done;
	} catch (err) {
		await client.query("ROLLBACK").catch(() => undefined);
		throw mapPgError(err);
	} finally {
		client.off("error", ignore);
		client.release();
	}
}

export interface PgIndexSpec {
	fields: string | string[];
	unique?: boolean;
	sparse?: boolean;
	/** The field may hold an array (matched by element): its equalities stay containment. */
	array?: boolean;
}

/**
 * The leading fields of the declared indexes that never hold arrays, with the btree their
 * equalities use: "json" for a plain one-field index (built on the jsonb value and _id), "text"
 * for a unique or compound one (built on the text).
 */
export function scalarFields(indexes: PgIndexSpec[]): Map<string, ScalarIndex> {
	const out = new Map<string, ScalarIndex>();
	for (const idx of indexes) {
		const fields = Array.isArray(idx.fields) ? idx.fields : [idx.fields];
		const first = fields[0];
		if (!first || first === "_id" || idx.array) continue;
		if (plainIndex(idx)) out.set(first, "json");
		else if (!idx.sparse && !out.has(first)) out.set(first, "text");
	}
	return out;
}

/** One field (or one field then `_id`), not unique, sparse or an array: gets the json+_id index. */
function plainIndex(idx: PgIndexSpec): boolean {
	const oneField = !Array.isArray(idx.fields) || idx.fields.length === 1 || (idx.fields.length === 2 && idx.fields[1] === "_id");
	return !idx.unique && !idx.sparse && !idx.array && oneField;
}

/** The migrations that give a collection its table and the indexes its service declares. */
export function collectionMigrations(table: string, indexes: PgIndexSpec[]): Migration[] {
	if (!NAME.test(table)) throw new Error(`Collection name "${table}" cannot be a PostgreSQL table name`);
	const t = ident(table);
	const out: Migration[] = [
		{ version: "0001 update functions", sql: APPLY_FUNCTIONS },
		{
			version: `${table} 0001 table`,
			// jsonb_path_ops: the GIN index that answers the containment (equality) conditions.
			sql: `CREATE TABLE IF NOT EXISTS ${t} (_id text COLLATE "C" PRIMARY KEY, doc jsonb NOT NULL); CREATE INDEX IF NOT EXISTS ${ident(`${table}__doc`)} ON ${t} USING gin (doc jsonb_path_ops);`,
		},
	];
	for (const idx of indexes) {
		const fields = Array.isArray(idx.fields) ? idx.fields : [idx.fields];
		if (fields[0] === "_id") continue; // the primary key
		const tag = `${fields.join("+")}${idx.unique ? " unique" : ""}${idx.sparse ? " sparse" : ""}`;
		let name = `${table}__${fields.join("_").replace(/\./g, "_")}${idx.unique ? "_key" : ""}${idx.sparse ? "_sp" : ""}`;
		if (name.length > 63) name = `${table.slice(0, 40)}__${createHash("sha1").update(tag).digest("hex").slice(0, 12)}`;
		const exprs = fields.map((f) => (f === "_id" ? "_id" : `(${textAt(f)})`)).join(", ");
		// Sparse: documents without the field are not in the index (NeDB's and MongoDB's meaning).
		const partial = idx.sparse ? ` WHERE ${fields.map((f) => `(doc #> '{${f.split(".").join(",")}}') IS NOT NULL`).join(" AND ")}` : "";
		out.push({
			version: `${table} index ${tag}`,
			sql: `CREATE ${idx.unique ? "UNIQUE " : ""}INDEX IF NOT EXISTS ${ident(name)} ON ${t} (${exprs})${partial}`,
		});
		// A plain one-field index is also built on the jsonb value and _id: its equalities compare
		// the value (exact in type), and "this owner's rows, newest first, a page" is a short scan of
		// it however many rows the table and the owner have. The text index stays for ranges.
		if (plainIndex(idx)) {
			out.push({
				version: `${table} index ${tag} json+_id`,
				sql: `CREATE INDEX IF NOT EXISTS ${ident(`${name.slice(0, 56)}__jid`)} ON ${t} ((${jsonAt(fields[0])}), _id)`,
			});
		}
	}
	return out;
}

/**
 * The moleculer-db adapter shape `Collection` uses (init/connect/disconnect, find, findOne,
 * count, insert, updateMany, removeMany, clear) plus `upsert` and `ensureIndexes`.
 */
export class PostgresAdapter {
	private pool: pg.Pool | null = null;
	private readonly table: string;
	/** Set by ensureIndexes: the indexed fields whose string equalities the btree answers. */
	private scalars: Map<string, ScalarIndex> = new Map();

	constructor(
		readonly collection: string,
		readonly cfg: PgSettings,
	) {
		if (!NAME.test(collection)) throw new Error(`Collection name "${collection}" cannot be a PostgreSQL table name`);
		this.table = ident(collection);
	}

	init() {
		/* nothing to take from the broker */
	}

	async connect() {
		if (!this.pool) this.pool = acquirePool(this.cfg);
		await migrate(this.pool, collectionMigrations(this.collection, []));
	}

	async disconnect() {
		if (!this.pool) return;
		this.pool = null;
		await releasePool(this.cfg);
	}

	private get db(): pg.Pool {
		if (!this.pool) throw new Errors.MoleculerError(`Collection "${this.collection}" is not connected`, 503, "DATABASE_UNAVAILABLE");
		return this.pool;
	}

	async ensureIndexes(indexes: PgIndexSpec[]) {
		await migrate(this.db, collectionMigrations(this.collection, indexes));
		this.scalars = scalarFields(indexes);
	}

	/** A document whose scalar-indexed field holds an array would be missed by their equalities: refused. */
	private checkScalars(doc: Doc): void {
		for (const f of this.scalars.keys()) {
			let v: unknown = doc;
			for (const part of f.split(".")) v = v && typeof v === "object" ? (v as Doc)[part] : undefined;
			if (Array.isArray(v)) throw new Error(`PostgreSQL collection "${this.collection}": "${f}" holds an array; declare its index with array: true`);
		}
	}

	/**
	 * A one-time start-up step (a scan for rows stored before a mark existed): skipped when
	 * `schema_migrations` records `version`, recorded once it has succeeded. Not under the
	 * migration lock: the steps are idempotent, so two instances that both run it the first time
	 * do no harm. True when the step ran.
	 */
	async once(version: string, step: () => Promise<unknown>): Promise<boolean> {
		const done = await run(this.db, "SELECT 1 FROM schema_migrations WHERE version = $1", [version]);
		if (done.rowCount) return false;
		await step();
		await run(this.db, "INSERT INTO schema_migrations (version) VALUES ($1) ON CONFLICT (version) DO NOTHING", [version]);
		return true;
	}

	async find(params: { query?: Doc; sort?: string[] | string; limit?: number; offset?: number } = {}): Promise<Doc[]> {
		const p = new Params();
		let sql = `SELECT doc FROM ${this.table} WHERE ${where(params.query, p, undefined, this.scalars)}${orderBy(params.sort, params.query)}`;
		if (params.limit && params.limit > 0) sql += ` LIMIT ${p.add(Math.trunc(params.limit))}`;
		if (params.offset && params.offset > 0) sql += ` OFFSET ${p.add(Math.trunc(params.offset))}`;
		return (await run(this.db, sql, p.values)).rows.map((r) => r.doc);
	}

	async findOne(query: Doc): Promise<Doc | undefined> {
		const p = new Params();
		const res = await run(this.db, `SELECT doc FROM ${this.table} WHERE ${where(query, p, undefined, this.scalars)} LIMIT 1`, p.values);
		return res.rows[0]?.doc;
	}

	async count(params: { query?: Doc } = {}): Promise<number> {
		const p = new Params();
		const res = await run(this.db, `SELECT count(*)::int AS n FROM ${this.table} WHERE ${where(params.query, p, undefined, this.scalars)}`, p.values);
		return res.rows[0].n;
	}

	async insert(doc: Doc): Promise<Doc> {
		const stored = doc._id === undefined ? { ...doc, _id: randomBytes(8).toString("hex") } : doc;
		if (typeof stored._id !== "string") throw new Error(`PostgreSQL collection "${this.collection}" needs string _ids`);
		this.checkScalars(stored);
		await run(this.db, `INSERT INTO ${this.table} (_id, doc) VALUES ($1, $2::jsonb)`, [stored._id, JSON.stringify(stored)]);
		return stored;
	}

	/** Many documents in one statement (moleculer-db's `insertMany`); all or none on a duplicate key. */
	async insertMany(docs: Doc[]): Promise<Doc[]> {
		const stored = docs.map((doc) => (doc._id === undefined ? { ...doc, _id: randomBytes(8).toString("hex") } : doc));
		if (stored.some((d) => typeof d._id !== "string")) throw new Error(`PostgreSQL collection "${this.collection}" needs string _ids`);
		if (stored.length === 0) return stored;
		for (const d of stored) this.checkScalars(d);
		await run(this.db, `INSERT INTO ${this.table} (_id, doc) SELECT d ->> '_id', d FROM jsonb_array_elements($1::jsonb) AS t(d)`, [JSON.stringify(stored)]);
		return stored;
	}

	/** One statement; the number of rows the query matched (changed or not). */
	async updateMany(query: Doc, update: Doc): Promise<number> {
		const p = new Params();
		const u = p.add(updateJson(update));
		const res = await run(
			this.db,
			`UPDATE ${this.table} SET doc = mediashar_apply(doc, ${u}::jsonb) WHERE ${where(query, p, undefined, this.scalars)}`,
			p.values,
		);
		return res.rowCount ?? 0;
	}

	/**
	 * Insert-or-update by `_id` (the query's other equality fields go into a new document). As in
	 * NeDB, a stored document with that `_id` that does not match the rest of the query is not
	 * updated: the insert then fails on the unique `_id` (a duplicate key the caller can catch).
	 */
	async upsert(query: Doc, update: Doc): Promise<void> {
		const { id, doc, conditional } = upsertBase(query);
		const p = new Params();
		const sql = `INSERT INTO ${this.table} AS t (_id, doc) VALUES (${p.add(id)}, mediashar_apply(${p.add(JSON.stringify(doc))}::jsonb, ${p.add(updateJson(update))}::jsonb)) ON CONFLICT (_id) DO UPDATE SET doc = mediashar_apply(t.doc, $3::jsonb)`;
		if (!conditional) {
			await run(this.db, sql, p.values);
			return;
		}
		const res = await run(this.db, `${sql} WHERE ${where(query, p, "t", this.scalars)}`, p.values);
		if ((res.rowCount ?? 0) === 0) {
			throw mapPgError(Object.assign(new Error(`Can't insert key ${id}, it violates the unique constraint`), { code: "23505" }));
		}
	}

	async removeMany(query: Doc): Promise<number> {
		const p = new Params();
		const res = await run(this.db, `DELETE FROM ${this.table} WHERE ${where(query, p, undefined, this.scalars)}`, p.values);
		return res.rowCount ?? 0;
	}

	async clear(): Promise<number> {
		return (await run(this.db, `DELETE FROM ${this.table}`)).rowCount ?? 0;
	}

	/** moleculer-db entity helpers (used by its generated actions, which MediaShar switches off). */
	entityToObject(entity: unknown) {
		return entity;
	}
	beforeSaveTransformID(entity: unknown) {
		return entity;
	}
	afterRetrieveTransformID(entity: unknown) {
		return entity;
	}
}

/** `SELECT 1` on the configured database (readiness of a node without collections of its own). */
export async function pingPostgres(cfg: PgSettings): Promise<void> {
	const pool = acquirePool(cfg);
	try {
		await run(pool, "SELECT 1");
	} finally {
		await releasePool(cfg);
	}
}
