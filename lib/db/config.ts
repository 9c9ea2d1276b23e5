import path from "node:path";

export type DbKind = "mongo" | "postgres" | "nedb" | "memory";

export interface DbConfig {
	kind: DbKind;
	mongoUri?: string;
	/** PostgreSQL: DATABASE_URL, the pool size and the per-statement timeout. */
	postgres?: { url: string; poolMax: number; statementTimeoutMs: number; reconnectWaitMs: number };
	dataDir: string;
}

const KINDS: DbKind[] = ["mongo", "postgres", "nedb", "memory"];

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number (got "${raw}").`);
	return n;
}

/**
 * Which storage the db mixin uses: MONGO_URI → MongoDB; DATABASE_URL=postgres://… → PostgreSQL
 * (lib/db/postgres.ts); NODE_ENV=test → in-memory NeDB; otherwise NeDB files under DATA_DIR
 * (default ./data). DB_ADAPTER=memory|nedb|mongo|postgres overrides.
 */
export function dbConfig(env: NodeJS.ProcessEnv = process.env): DbConfig {
	const dataDir = path.resolve(env.DATA_DIR || "./data");
	const forced = env.DB_ADAPTER as DbKind | undefined;
	if (forced && !KINDS.includes(forced)) {
		throw new Error(`DB_ADAPTER must be one of ${KINDS.join(", ")} (got "${forced}").`);
	}
	if (forced === "mongo" || (!forced && env.MONGO_URI)) {
		if (!env.MONGO_URI) throw new Error("DB_ADAPTER=mongo needs MONGO_URI.");
		return { kind: "mongo", mongoUri: env.MONGO_URI, dataDir };
	}
	if (forced === "postgres" || (!forced && env.DATABASE_URL)) {
		const url = env.DATABASE_URL;
		if (!url) throw new Error("DB_ADAPTER=postgres needs DATABASE_URL.");
		if (!/^postgres(ql)?:\/\//.test(url)) throw new Error(`DATABASE_URL must be a postgres:// URL (got "${url.replace(/\/\/[^@/]*@/, "//…@")}").`);
		return {
			kind: "postgres",
			postgres: {
				url,
				poolMax: positiveInt("PG_POOL_MAX", env.PG_POOL_MAX, 10),
				statementTimeoutMs: positiveInt("PG_STATEMENT_TIMEOUT_MS", env.PG_STATEMENT_TIMEOUT_MS, 10_000),
				reconnectWaitMs: positiveInt("PG_RECONNECT_WAIT_MS", env.PG_RECONNECT_WAIT_MS, 5_000),
			},
			dataDir,
		};
	}
	if (forced) return { kind: forced, dataDir };
	if (env.NODE_ENV === "test") return { kind: "memory", dataDir };
	return { kind: "nedb", dataDir };
}
