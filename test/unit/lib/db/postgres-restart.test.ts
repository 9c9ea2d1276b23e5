import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { acquirePool, releasePool, run } from "../../../../lib/db/postgres";
import { waitFor } from "../../../support/harness";
import { PgServer } from "../../../support/pg-server";

/**
 * The server dies under a statement in flight (pg_ctl -m immediate, a crash as far as the client
 * can tell): the statement fails with 503 DATABASE_UNAVAILABLE, the process does not crash on the
 * dying connection's 'error' event, and the pool serves again once the server is back.
 */
describe("PostgreSQL restart under a statement in flight", () => {
	let server: PgServer;
	let cfg: { url: string; poolMax: number; statementTimeoutMs: number; reconnectWaitMs: number };

	beforeAll(async () => {
		server = await new PgServer().init();
		cfg = { url: await server.createDatabase("restart"), poolMax: 2, statementTimeoutMs: 30_000, reconnectWaitMs: 300 };
	}, 60_000);
	afterAll(async () => {
		await releasePool(cfg);
		await server?.destroy();
	});

	it("fails the statement with a 503, keeps the process up, and serves after the restart", async () => {
		const pool = acquirePool(cfg);
		expect((await run(pool, "SELECT 1 AS one")).rows[0].one).toBe(1);
		// A write in flight (it cannot be retried: it might have committed).
		const inFlight = run(pool, "DO $$ BEGIN PERFORM pg_sleep(20); END $$").then(
			() => null,
			(err) => err,
		);
		const watcher = new pg.Client({ connectionString: cfg.url });
		await watcher.connect();
		await waitFor(
			async () => (await watcher.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'DO $$%' AND state = 'active'")).rows[0].n === 1,
			10_000,
			"the statement running",
		);
		watcher.on("error", () => undefined);
		await server.stop("immediate");
		const err = await inFlight;
		expect(err).toMatchObject({ code: 503, type: "DATABASE_UNAVAILABLE" });
		await watcher.end().catch(() => undefined);
		await server.start();
		expect((await run(pool, "SELECT 2 AS two")).rows[0].two).toBe(2);
	}, 60_000);
});
