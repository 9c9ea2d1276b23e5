import { afterAll, beforeAll } from "vitest";
import pg from "pg";

/**
 * Vitest setup for the unit and integration projects: with DATABASE_URL=postgres://… set, the
 * same suites run against PostgreSQL instead of in-memory NeDB. Each test file gets a database
 * of its own (the URL's database name plus a unique suffix), created before the file's tests and
 * dropped when they are done, so files running in parallel never see each other's rows.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/mediashar_test npm test
 */
const base = process.env.DATABASE_URL;

if (base && /^postgres(ql)?:\/\//.test(base)) {
	const url = new URL(base);
	const dbName = `${url.pathname.replace(/^\//, "") || "mediashar_test"}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
	url.pathname = `/${dbName}`;
	process.env.DATABASE_URL = url.toString();
	process.env.DB_ADAPTER = "postgres";
	// The server's maintenance database, to create and drop this file's database from.
	const admin = new URL(base);
	admin.pathname = "/postgres";

	const withAdmin = async (sql: string) => {
		const client = new pg.Client({ connectionString: admin.toString() });
		await client.connect();
		try {
			await client.query(sql);
		} finally {
			await client.end();
		}
	};
	beforeAll(() => withAdmin(`CREATE DATABASE "${dbName}"`));
	afterAll(() => withAdmin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
}
