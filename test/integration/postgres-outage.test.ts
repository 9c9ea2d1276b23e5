import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import { PgServer } from "../support/pg-server";

/**
 * PostgreSQL going away and coming back, on a server of the test's own (initdb on a free port):
 * while it is down a request that needs it answers 503 DATABASE_UNAVAILABLE with Retry-After
 * (never a crash or a 500) once PG_RECONNECT_WAIT_MS has passed, and /health/ready says the
 * database is down; once it is back the next request succeeds on the same nodes, without a
 * restart. A request made while the server restarts waits for it instead of failing.
 */
describe("PostgreSQL outage", () => {
	let server: PgServer;
	let h: Harness;
	let api: ReturnType<typeof client>;
	let n = 0;
	const register = () => {
		const name = `pgout_${process.pid % 1000}_${++n}`;
		return api("POST", "/api/auth/register", { username: name, email: `${name}@example.test`, password: "correct horse battery" });
	};

	beforeAll(async () => {
		server = await new PgServer().init();
		const url = await server.createDatabase("outage");
		h = await startHarness({
			services: ["users", "ops"],
			env: { SCRYPT_COST: "1024", DATABASE_URL: url, DB_ADAPTER: "postgres", PG_STATEMENT_TIMEOUT_MS: "3000", PG_RECONNECT_WAIT_MS: "500" },
		});
		api = client(h.url);
	}, 90_000);
	afterAll(async () => {
		await h?.stop();
		await server?.destroy();
	});

	it("answers 503 while the server is down and serves again once it is back", async () => {
		expect((await register()).status).toBe(201);
		expect((await api("GET", "/health/ready")).status).toBe(200);

		await server.stop("immediate");
		const down = await register();
		expect(down.status).toBe(503);
		expect(down.body).toMatchObject({ code: 503, type: "DATABASE_UNAVAILABLE" });
		expect(down.headers.get("retry-after")).toBeTruthy();
		const ready = await api("GET", "/health/ready");
		expect(ready.status).toBe(503);
		expect(ready.body.checks.find((c: any) => c.name === "database")).toMatchObject({ ok: false });

		await server.start();
		const back = await waitFor(
			async () => {
				const r = await register();
				return r.status === 201 ? r : null;
			},
			20_000,
			"a registration once PostgreSQL is back",
		);
		expect(back!.body.user.username).toMatch(/^pgout_/);
		expect((await api("GET", "/health/ready")).status).toBe(200);
	}, 60_000);

	it("a request made while the server restarts waits for it and succeeds", async () => {
		const url = server.urlFor("outage");
		const patient = await startHarness({
			services: ["users"],
			env: { SCRYPT_COST: "1024", DATABASE_URL: url, DB_ADAPTER: "postgres", PG_RECONNECT_WAIT_MS: "30000" },
		});
		try {
			const name = `pgwait_${process.pid % 1000}`;
			await server.stop("immediate");
			const pending = client(patient.url)("POST", "/api/auth/register", {
				username: name,
				email: `${name}@example.test`,
				password: "correct horse battery",
			});
			await server.start();
			const res = await pending;
			expect(res.status).toBe(201);
			expect(res.body.user.username).toBe(name);
		} finally {
			await patient.stop();
		}
	}, 60_000);
});
