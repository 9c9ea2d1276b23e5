import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { Collection, type IndexSpec } from "../mixins/db.mixin";
import { dbConfig } from "../lib/db-config";
import { REMOTE_OPS, type RemoteOp } from "../lib/cluster/remote-adapter";
import { decodeValue, encodeValue } from "../lib/cluster/wire";

interface ExecParams {
	collection: string;
	op: RemoteOp;
	args: unknown[];
}

/**
 * Hosts the NeDB collections of the nodes that run with DB_ADAPTER=remote, so several processes
 * can share one database on a machine without MongoDB. NeDB executes a collection's operations
 * one at a time, which keeps every conditional update atomic for all the nodes that share it.
 * Serves only on purpose: a node whose SERVICES names it must store the data itself
 * (DB_ADAPTER=nedb, or memory for throwaway clusters) or it refuses to start. Loaded by a
 * directory scan (all-in-one `npm start`) it stays private to its node and serves nobody.
 */
const LISTED = (process.env.SERVICES || "").split(",").some((s) => /(^|\/)datastore(\.service\.[jt]s)?$/.test(s.trim()));

const schema: ServiceSchema = {
	name: "datastore",

	actions: {
		/** Runs one collection operation for a remote node (internal: never exposed over REST). */
		exec: {
			visibility: LISTED ? "public" : "private",
			// Every database operation of the cluster comes through here, and NeDB runs them one at
			// a time anyway: a deep queue instead of the default per-action 50 + 500.
			bulkhead: { enabled: true, concurrency: 100, maxQueueSize: 10_000 },
			params: {
				collection: { type: "string", pattern: /^[A-Za-z][A-Za-z0-9_]{0,63}$/ },
				op: { type: "enum", values: [...REMOTE_OPS] },
				args: { type: "array", max: 3 },
			},
			async handler(this: any, ctx: Context<ExecParams>) {
				const { collection, op } = ctx.params;
				const args = decodeValue<any[]>(ctx.params.args);
				const col: Collection = await this.open(collection);
				try {
					return encodeValue(await this.run(col, op, args));
				} catch (err) {
					// A unique-key clash is an answer, not a failure: callers rely on it for
					// idempotency, and as a 5xx it would count towards opening the circuit breaker.
					if ((err as { errorType?: string }).errorType === "uniqueViolated") {
						throw new Errors.MoleculerClientError((err as Error).message, 409, "DUPLICATE_KEY", { errorType: "uniqueViolated" });
					}
					throw err;
				}
			},
		},
	},

	methods: {
		/** Opens (once) the local collection behind a name. */
		open(this: any, name: string): Promise<Collection> {
			let pending = this.collections.get(name);
			if (!pending) {
				const col = new Collection(name, this.kind, []);
				pending = col.connect(this.broker, Object.create(this)).then(() => col);
				pending.catch(() => this.collections.delete(name));
				this.collections.set(name, pending);
			}
			return pending;
		},

		async run(this: any, col: Collection, op: RemoteOp, args: any[]): Promise<unknown> {
			const obj = (i: number) => {
				const v = args[i];
				if (v === null || typeof v !== "object" || Array.isArray(v)) {
					throw new Errors.MoleculerClientError(`Argument ${i + 1} of ${op} must be an object`, 422, "VALIDATION_ERROR");
				}
				return v as Record<string, unknown>;
			};
			switch (op) {
				case "find":
					return col.find(obj(0));
				case "findOne":
					return col.findOne(obj(0));
				case "count":
					return col.count(obj(0));
				case "insert":
					return col.insert(obj(0));
				case "updateMany":
					return col.updateMany(obj(0), obj(1));
				case "removeMany":
					return col.removeMany(obj(0));
				case "clear":
					return col.clear();
				case "upsert":
					return col.upsert(obj(0), obj(1));
				case "ensureIndexes": {
					const indexes = Array.isArray(args[0]) ? (args[0] as IndexSpec[]) : [];
					// Same adapter, the index list of the caller: NeDB's ensureIndex is idempotent.
					await new Collection(col.name, col.kind, indexes, col.adapter).ensureIndexes();
					return null;
				}
			}
		},
	},

	created(this: any) {
		this.collections = new Map<string, Promise<Collection>>();
		this.kind = dbConfig().kind;
	},

	started(this: any) {
		if (!LISTED) return;
		if (this.kind !== "nedb" && this.kind !== "memory") {
			throw new Error(`The datastore service keeps the data itself: set DB_ADAPTER=nedb (with DATA_DIR) on its node (got "${this.kind}").`);
		}
	},

	async stopped(this: any) {
		for (const pending of this.collections.values()) {
			const col = await pending.catch(() => null);
			if (col) await col.disconnect();
		}
	},
};

export default schema;
