import fs from "node:fs";
import path from "node:path";
import type { ServiceBroker, Service, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import DbService from "moleculer-db";
import MongoAdapter from "moleculer-db-adapter-mongo";
import { dbConfig, type DbKind } from "../lib/db/config";
import { isId } from "../lib/tools/ids";
import { isDuplicateKey } from "../lib/tools/errors";
import { storageError, storageWorked } from "../lib/db/storage-health";
import { closeFileDatastore, createFileDatastore } from "../lib/db/nedb-file";
import { ascendingRange, installIndexFastPath } from "../lib/db/nedb-index";
import { PostgresAdapter } from "../lib/db/postgres";

// NeDB (files and in-memory): updates that leave an index key unchanged stay cheap in big buckets.
installIndexFastPath();

type Doc = Record<string, unknown>;
type Query = Record<string, unknown>;

/** NeDB's cursor (@seald-io/nedb): chainable, and a promise of the matching documents. */
interface NedbCursor extends PromiseLike<Doc[]> {
	sort(sort: Record<string, 1 | -1>): NedbCursor;
	skip(n: number): NedbCursor;
	limit(n: number): NedbCursor;
}

/** The part of NeDB's async API the collections use (moleculer-db's MemoryAdapter exposes it as `db`). */
interface NedbDatastore {
	findAsync(query: Query): NedbCursor;
	findOneAsync(query: Query): Promise<Doc | null>;
	countAsync(query: Query): Promise<number>;
	insertAsync(doc: Doc): Promise<Doc>;
	updateAsync(query: Query, update: Query, opts: { multi?: boolean; upsert?: boolean }): Promise<{ numAffected: number }>;
	removeAsync(query: Query, opts: { multi?: boolean }): Promise<number>;
	ensureIndex(opts: { fieldName: string; unique: boolean; sparse: boolean }): Promise<void> | void;
	setAutocompactionInterval(ms: number): void;
}

/** The MongoDB driver's collection, for what moleculer-db-adapter-mongo does not expose. */
interface MongoCollection {
	createIndex(spec: Record<string, 1>, opts: { unique: boolean; sparse: boolean }): Promise<unknown>;
	updateMany(query: Query, update: Query): Promise<{ matchedCount: number }>;
	updateOne(query: Query, update: Query, opts: { upsert: boolean }): Promise<unknown>;
}

/**
 * A moleculer-db adapter as the collections use it (NeDB memory/file, MongoDB, or lib/db/postgres.ts).
 * The store-specific members (`db`, `collection`, `ensureIndexes`, `upsert`, `once`) exist on their
 * store only: Collection reads them after checking its `kind`.
 */
export interface DbAdapter {
	opts?: unknown;
	/** NeDB (memory and files). */
	db: NedbDatastore;
	/** MongoDB. */
	collection: MongoCollection;
	init(broker: ServiceBroker, service: Service): void;
	connect(): Promise<unknown>;
	disconnect(): Promise<unknown>;
	find(params: FindParams): Promise<Doc[]>;
	findOne(query: Query): Promise<Doc | null | undefined>;
	count(params: { query?: Query }): Promise<number>;
	insert(doc: Doc): Promise<Doc>;
	updateMany(query: Query, update: Query): Promise<unknown>;
	removeMany(query: Query): Promise<unknown>;
	clear(): Promise<number>;
	/** PostgreSQL. */
	ensureIndexes(indexes: IndexSpec[]): Promise<void>;
	upsert(query: Query, update: Query): Promise<void>;
	once(version: string, step: () => Promise<unknown>): Promise<boolean>;
}

/** moleculer-db's NeDB adapter on a datastore whose writes append to a file kept open (lib/db/nedb-file.ts). */
class NedbFileAdapter extends (DbService.MemoryAdapter as unknown as new (opts?: unknown) => DbAdapter) {
	constructor(filename: string) {
		super(createFileDatastore(filename));
	}
	override disconnect() {
		closeFileDatastore(this.opts);
		return super.disconnect();
	}
}

export interface IndexSpec {
	/** One field, or several for a compound index (MongoDB; NeDB indexes the first). */
	fields: string | string[];
	/** Unique keys are how idempotency and "one X per Y" hold under concurrency. Single field only. */
	unique?: boolean;
	sparse?: boolean;
	/**
	 * The (first) field may hold an array, matched by element. Without it the field holds scalars,
	 * and on PostgreSQL its string equalities are answered by the index's btree (lib/db/pg-sql.ts).
	 */
	array?: boolean;
}

export interface Page<T> {
	items: T[];
	nextCursor: string | null;
}

export interface FindParams {
	query?: Record<string, unknown>;
	sort?: string[] | string;
	limit?: number;
	offset?: number;
}

/**
 * One collection behind a moleculer-db adapter (NeDB file, in-memory NeDB, MongoDB or PostgreSQL), with the
 * few operations services need. Every state change in MediaShar is a conditional update on one
 * of these, so two nodes racing cannot both win.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: stored document types are interfaces (LikeDoc...) without an index signature; untyped services read rows field by field.
type AnyDoc = Record<string, any>;

export class Collection<T extends AnyDoc = AnyDoc> {
	adapter: DbAdapter;

	constructor(
		readonly name: string,
		readonly kind: DbKind,
		readonly indexes: IndexSpec[],
		adapter?: DbAdapter | PostgresAdapter,
	) {
		this.adapter = (adapter as DbAdapter | undefined) ?? Collection.createAdapter(name, kind);
	}

	static createAdapter(name: string, kind: DbKind): DbAdapter {
		const cfg = dbConfig();
		if (kind === "mongo") return new MongoAdapter(cfg.mongoUri!, { useUnifiedTopology: true }) as unknown as DbAdapter;
		if (kind === "postgres") return new PostgresAdapter(name, cfg.postgres!) as unknown as DbAdapter;
		if (kind === "nedb") {
			fs.mkdirSync(cfg.dataDir, { recursive: true });
			return new NedbFileAdapter(path.join(cfg.dataDir, `${name}.db`));
		}
		return new DbService.MemoryAdapter() as unknown as DbAdapter;
	}

	/** Connects a stand-alone adapter (the service's main one is connected by moleculer-db). */
	async connect(broker: ServiceBroker, service: Service) {
		(service as Service & { collection?: string }).collection = this.name;
		this.adapter.init(broker, Object.assign(Object.create(service), { schema: { collection: this.name }, collection: this.name }));
		await this.adapter.connect();
		await this.ensureIndexes();
	}

	async disconnect() {
		await this.adapter.disconnect();
	}

	async ensureIndexes() {
		if (this.kind === "postgres") return this.adapter.ensureIndexes(this.indexes);
		if (this.kind === "mongo") {
			for (const idx of this.indexes) {
				const fields = Array.isArray(idx.fields) ? idx.fields : [idx.fields];
				await this.adapter.collection.createIndex(Object.fromEntries(fields.map((f) => [f, 1])), { unique: !!idx.unique, sparse: !!idx.sparse });
			}
			return;
		}
		for (const idx of this.indexes) {
			const fieldName = Array.isArray(idx.fields) ? idx.fields[0] : idx.fields;
			await this.adapter.db.ensureIndex({ fieldName, unique: !!idx.unique, sparse: !!idx.sparse });
		}
		// NeDB appends every write; compact the file now and then so restarts stay fast.
		if (this.kind === "nedb") this.adapter.db.setAutocompactionInterval(10 * 60 * 1000);
	}

	/**
	 * NeDB (files or memory): its own async API, not moleculer-db's adapter methods, which wrap
	 * each call in two more promise/callback layers and answer `count` by deep-copying every
	 * matching document.
	 */
	private get nedb(): NedbDatastore | null {
		return this.kind === "nedb" || this.kind === "memory" ? this.adapter.db : null;
	}

	find(params: FindParams): Promise<T[]> {
		const db = this.nedb;
		if (!db) return this.adapter.find(params) as Promise<T[]>;
		const query = params.query ?? {};
		const fields = params.sort ? (Array.isArray(params.sort) ? params.sort : [params.sort]) : [];
		const ordered = fields.length > 0 && this.inIndexOrder(query, fields);
		if (ordered && params.limit && params.limit > 0 && !params.offset) {
			const rows = ascendingRange(
				db as unknown as Parameters<typeof ascendingRange>[0],
				fields[0],
				query[fields[0]] as Record<string, unknown>,
				params.limit,
			);
			if (rows) return Promise.resolve(rows as T[]);
		}
		let cursor = db.findAsync(query);
		if (fields.length && !ordered) {
			const sort: Record<string, 1 | -1> = {};
			for (const f of fields) sort[f.startsWith("-") ? f.slice(1) : f] = f.startsWith("-") ? -1 : 1;
			cursor = cursor.sort(sort);
		}
		if (params.offset && params.offset > 0) cursor = cursor.skip(params.offset);
		if (params.limit && params.limit > 0) cursor = cursor.limit(params.limit);
		return Promise.resolve(cursor) as Promise<T[]>;
	}
	/**
	 * NeDB answers a range query on one indexed field from that index, in ascending key order: a
	 * sort by the same field ascending is already done, and without it a limit stops the scan at
	 * the first matches instead of matching and sorting every document in range.
	 */
	private inIndexOrder(query: Record<string, unknown>, sort: string[]): boolean {
		const keys = Object.keys(query);
		if (sort.length !== 1 || keys.length !== 1 || keys[0] !== sort[0]) return false;
		const cond = query[keys[0]];
		if (!cond || typeof cond !== "object" || Array.isArray(cond)) return false;
		const ops = Object.keys(cond);
		return (
			ops.length > 0 &&
			ops.every((op) => ["$gt", "$gte", "$lt", "$lte"].includes(op)) &&
			// NeDB always indexes `_id`.
			(sort[0] === "_id" || this.indexes.some((i) => (Array.isArray(i.fields) ? i.fields[0] : i.fields) === sort[0]))
		);
	}

	findOne(query: Record<string, unknown>): Promise<T | null> {
		const db = this.nedb;
		return (db ? db.findOneAsync(query) : this.adapter.findOne(query)).then((d) => (d ?? null) as T | null);
	}
	findById(id: string): Promise<T | null> {
		return this.findOne({ _id: id });
	}
	findByIds(ids: string[]): Promise<T[]> {
		return ids.length ? this.find({ query: { _id: { $in: ids } } }) : Promise.resolve([]);
	}
	count(query: Record<string, unknown> = {}): Promise<number> {
		const db = this.nedb;
		return db ? db.countAsync(query) : this.adapter.count({ query });
	}
	insert(doc: T): Promise<T> {
		const db = this.nedb;
		return (db ? db.insertAsync(doc) : this.adapter.insert(doc)) as Promise<T>;
	}
	/** The number of documents the query matched (NeDB's numAffected, MongoDB's matchedCount). */
	async updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number> {
		const db = this.nedb;
		if (db) return (await db.updateAsync(query, update, { multi: true })).numAffected;
		// moleculer-db-adapter-mongo answers modifiedCount, which is 0 when the update changed
		// nothing: a conditional update that matched must count as won on both stores.
		if (this.kind === "mongo") return (await this.adapter.collection.updateMany(query, update)).matchedCount;
		return Number(await this.adapter.updateMany(query, update));
	}
	async removeMany(query: Record<string, unknown>): Promise<number> {
		const db = this.nedb;
		if (db) return db.removeAsync(query, { multi: true });
		return Number(await this.adapter.removeMany(query));
	}
	clear(): Promise<number> {
		return this.adapter.clear();
	}

	/**
	 * Insert, or when a unique key already holds a row, that row: the one way "one X per Y" and
	 * idempotent creates are written. `existing` finds the row the duplicate key points at (the
	 * unique field of `doc` by default). `created` tells the caller whether its insert won.
	 */
	async insertOrGet(doc: T, existing: Record<string, unknown>): Promise<{ doc: T; created: boolean }> {
		for (let attempt = 0; ; attempt++) {
			try {
				return { doc: await this.insert(doc), created: true };
			} catch (err) {
				if (!isDuplicateKey(err)) throw err;
				const row = await this.findOne(existing);
				if (row) return { doc: row, created: false };
				// The key's holder went away between the insert and the read (a concurrent delete):
				// the insert may win now. A second miss means `existing` does not find the key.
				if (attempt > 0) throw err;
			}
		}
	}

	/** Conditional update; true when this call changed a document. */
	async updateIf(query: Record<string, unknown>, update: Record<string, unknown>): Promise<boolean> {
		return (await this.updateMany(query, update)) > 0;
	}

	/** Insert-or-update by a unique query (counters, aggregates). */
	async upsert(query: Record<string, unknown>, update: Record<string, unknown>): Promise<void> {
		if (this.kind === "mongo") await this.adapter.collection.updateOne(query, update, { upsert: true });
		else if (this.kind === "postgres") await this.adapter.upsert(query, update);
		else await this.adapter.db.updateAsync(query, update, { upsert: true });
	}

	/**
	 * A one-time start-up step (the scans that give old rows a sparse mark): PostgreSQL records it
	 * in `schema_migrations` and skips it on later starts; NeDB and MongoDB run it on every start.
	 * True when it ran.
	 */
	async once(version: string, step: () => Promise<unknown>): Promise<boolean> {
		if (this.kind === "postgres") return this.adapter.once(version, step);
		await step();
		return true;
	}

	/** Cursor page over time-ordered `_id`s, newest first (oldest first when ascending). */
	async page(query: Record<string, unknown>, opts: { limit?: number; cursor?: string | null; ascending?: boolean }): Promise<Page<T>> {
		const limit = Math.min(Math.max(Math.trunc(opts.limit ?? 20), 1), 100);
		const q: Record<string, unknown> = { ...query };
		if (opts.cursor) {
			if (!isId(opts.cursor)) {
				throw new Errors.MoleculerClientError("cursor is not valid", 422, "VALIDATION_ERROR", [{ field: "cursor", message: "cursor is not valid" }]);
			}
			q._id = opts.ascending ? { $gt: opts.cursor } : { $lt: opts.cursor };
		}
		const rows = await this.find({ query: q, sort: [opts.ascending ? "_id" : "-_id"], limit: limit + 1 });
		const items = rows.slice(0, limit);
		return { items, nextCursor: rows.length > limit ? String(items[items.length - 1]._id) : null };
	}
}

/**
 * Every write of every store: one the storage refused (disk full, quota, read-only, I/O error)
 * stored nothing and answers 503 STORAGE_UNAVAILABLE, and marks the storage failing for
 * readiness until a write succeeds again (lib/db/storage-health.ts). Wrapped here, around the
 * methods, so each store's own code stays as it is.
 */
for (const method of ["insert", "updateMany", "removeMany", "upsert", "clear"] as const) {
	const write = Collection.prototype[method] as (this: Collection, ...args: unknown[]) => Promise<unknown>;
	(Collection.prototype as unknown as Record<string, unknown>)[method] = async function (this: Collection, ...args: unknown[]) {
		let result: unknown;
		try {
			result = await write.apply(this, args);
		} catch (err) {
			throw storageError(err, this.name);
		}
		storageWorked();
		return result;
	};
}

const DISABLED_CRUD = ["find", "count", "list", "create", "insert", "get", "update", "remove"];

/**
 * moleculer-db with the adapter picked by env (lib/db/config.ts): MongoDB when MONGO_URI is set,
 * PostgreSQL when DATABASE_URL is (lib/db/postgres.ts), in-memory NeDB under NODE_ENV=test, NeDB
 * files under DATA_DIR otherwise.
 * `this.store` is the service's main collection; `extra` adds more collections the service owns
 * (`this.stores.<name>`). The generated CRUD actions are switched off: services expose their own
 * validated actions.
 */
export function DbMixin(collection: string, indexes: IndexSpec[] = [], extra: Record<string, IndexSpec[]> = {}): Partial<ServiceSchema> {
	const actions: Record<string, false> = {};
	for (const name of DISABLED_CRUD) actions[name] = false;

	type This = Service & DbThis & { adapter: DbAdapter };
	const schema: Record<string, unknown> = {
		mixins: [DbService as unknown as Partial<ServiceSchema>],
		// moleculer-db wants an adapter in the schema; the real one is made per service instance below.
		adapter: new DbService.MemoryAdapter(),
		collection,
		settings: { idField: "_id" },
		actions,
		created(this: This) {
			// Resolved when the service is created, not when the module is imported, so every broker
			// (and every test that changes DB_ADAPTER/DATA_DIR) gets its own adapter of the right kind.
			const kind = dbConfig().kind;
			this.adapter = Collection.createAdapter(collection, kind);
			this.adapter.init(this.broker, this);
			this.store = new Collection(collection, kind, indexes, this.adapter);
			this.stores = { [collection]: this.store } as Record<string, Collection>;
			for (const [name, idx] of Object.entries(extra)) this.stores[name] = new Collection(name, kind, idx);
		},
		async afterConnected(this: This) {
			await this.store.ensureIndexes();
		},
		async started(this: This) {
			for (const [name, col] of Object.entries(this.stores)) {
				if (name !== collection) await col.connect(this.broker, this);
			}
		},
		async stopped(this: This) {
			for (const [name, col] of Object.entries(this.stores)) {
				if (name !== collection) await col.disconnect();
			}
		},
	};
	return schema as Partial<ServiceSchema>;
}

/**
 * What DbMixin adds to `this`: the main collection typed by its document, and the extra
 * collections by name (`DbThis<LikeDoc, { like_counts: Collection<LikeCount> }>`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: extra collections of any document type (Collection is invariant in T).
export interface DbThis<T extends AnyDoc = AnyDoc, Extra extends Record<string, Collection<any>> = Record<string, Collection>> {
	store: Collection<T>;
	stores: Extra;
}
