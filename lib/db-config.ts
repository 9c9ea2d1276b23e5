import path from "node:path";

export type DbKind = "mongo" | "nedb" | "memory" | "remote";

export interface DbConfig {
	kind: DbKind;
	mongoUri?: string;
	dataDir: string;
}

/**
 * Which storage the db mixin uses: MONGO_URI → MongoDB; NODE_ENV=test → in-memory NeDB;
 * otherwise NeDB files under DATA_DIR (default ./data). DB_ADAPTER=memory|nedb|mongo overrides;
 * DB_ADAPTER=remote keeps the collections in the `datastore` service on another node
 * (lib/cluster/remote-adapter.ts, docs/distributed.md).
 */
export function dbConfig(env: NodeJS.ProcessEnv = process.env): DbConfig {
	const dataDir = path.resolve(env.DATA_DIR || "./data");
	const forced = env.DB_ADAPTER as DbKind | undefined;
	if (forced && !["mongo", "nedb", "memory", "remote"].includes(forced)) {
		throw new Error(`DB_ADAPTER must be one of mongo, nedb, memory, remote (got "${forced}").`);
	}
	if (forced === "mongo" || (!forced && env.MONGO_URI)) {
		if (!env.MONGO_URI) throw new Error("DB_ADAPTER=mongo needs MONGO_URI.");
		return { kind: "mongo", mongoUri: env.MONGO_URI, dataDir };
	}
	if (forced) return { kind: forced, dataDir };
	if (env.NODE_ENV === "test") return { kind: "memory", dataDir };
	return { kind: "nedb", dataDir };
}
