import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { Cluster, freshGet, type ClusterProcess } from "../support/cluster";
import { waitFor } from "../support/harness";

/**
 * The broker's fault-tolerance settings (moleculer.config.ts) observed with real processes:
 * two gateways and two instances of a diagnostic service over NATS, driven over HTTP.
 */
const DIAG = path.join(__dirname, "diag.service.ts");

describe("fault tolerance across real processes", () => {
	const cluster = new Cluster();
	let gwA: ClusterProcess;
	let gwB: ClusterProcess;
	const diag: Record<string, ClusterProcess> = {};

	const gatewayEnv = {
		// Small numbers so the breaker trips and half-opens within a test; production keeps 20 / 10 s.
		CB_MIN_REQUESTS: "4",
		// Long enough that 20 calls fit in the open window even on a loaded machine.
		CB_HALF_OPEN_MS: "5000",
		RATE_LIMIT_IP_PER_MIN: "100000",
	};

	beforeAll(async () => {
		await cluster.startInfra();
		[gwA, gwB, diag["diag-1"], diag["diag-2"]] = await cluster.startNodes([
			{ name: "gw-a", services: ["api"], http: true, env: gatewayEnv },
			{ name: "gw-b", services: ["api"], http: true, env: gatewayEnv },
			{ name: "diag-1", services: [DIAG] },
			{ name: "diag-2", services: [DIAG] },
		]);
		await cluster.waitForInstances("diag", 2, 20_000, ["gw-a", "gw-b"]);
		// moleculer-web rebuilds its REST aliases shortly after the registry changes.
		for (const gw of [gwA, gwB]) {
			await waitFor(async () => ((await freshGet(`${gw.url}/api/diag/whoami`)) as any).status === 200, 10_000, `diag route on ${gw.name}`);
		}
	});

	afterAll(async () => {
		await cluster.stop();
	});

	const client = () => cluster.clientBroker();
	const stats = async (nodeID: string) => (await client()).call<any, any>("diag.stats", {}, { nodeID });

	it("spreads calls across both instances (round robin)", async () => {
		const seen: Record<string, number> = {};
		for (let i = 0; i < 40; i++) {
			const res = (await freshGet(`${(i % 2 ? gwA : gwB).url}/api/diag/whoami`)) as any;
			expect(res.status, JSON.stringify(res)).toBe(200);
			seen[res.body.nodeID] = (seen[res.body.nodeID] ?? 0) + 1;
		}
		expect(Object.keys(seen).sort()).toEqual(["diag-1", "diag-2"]);
		expect(Math.min(...Object.values(seen))).toBeGreaterThanOrEqual(15);
	});

	it("bulkhead: at most 2 run at once per instance, 2 wait, the rest get a 503", async () => {
		const results = (await Promise.all(Array.from({ length: 12 }, () => freshGet(`${gwA.url}/api/diag/busy?ms=2000`)))) as any[];
		const ok = results.filter((r) => r.status === 200);
		const refused = results.filter((r) => r.status === 503);
		expect(ok, JSON.stringify(results.filter((r) => r.status !== 200))).toHaveLength(8);
		expect(refused, JSON.stringify(results.filter((r) => r.status !== 200))).toHaveLength(4);
		expect(refused[0].body.type).toBe("SERVICE_UNAVAILABLE");
		for (const id of ["diag-1", "diag-2"]) expect((await stats(id)).busyPeak).toBe(2);
	});

	it("circuit breaker: opens on a failing instance, sends traffic to the healthy one, half-opens later", async () => {
		await (await client()).call("diag.setFailing", { failing: true }, { nodeID: "diag-1" });
		let failures = 0;
		let lastFailureAt = 0;
		let healthyStreak = 0;
		for (let i = 0; i < 60 && healthyStreak < 20; i++) {
			const res = (await freshGet(`${gwA.url}/api/diag/flaky`)) as any;
			if (res.status === 500) {
				failures++;
				lastFailureAt = Date.now();
				healthyStreak = 0;
			} else {
				expect(res.status).toBe(200);
				expect(res.body.nodeID).toBe("diag-2");
				healthyStreak++;
			}
		}
		// Without the breaker every other call would fail; with it, the failing endpoint is skipped.
		expect(healthyStreak).toBe(20);
		expect(failures).toBeGreaterThanOrEqual(4);
		expect(failures).toBeLessThanOrEqual(6);

		await (await client()).call("diag.setFailing", { failing: false }, { nodeID: "diag-1" });
		const recoveredAt = await waitFor(
			async () => {
				const res = (await freshGet(`${gwA.url}/api/diag/flaky`)) as any;
				return res.status === 200 && res.body.nodeID === "diag-1" ? Date.now() : 0;
			},
			20_000,
			"diag-1 to receive traffic again",
		);
		// Half-open only after CB_HALF_OPEN_MS.
		expect(recoveredAt - lastFailureAt).toBeGreaterThanOrEqual(4900);
	});

	it("retries: requests on an instance that is killed finish on the other one", async () => {
		const pending = [gwA, gwB, gwA, gwB, gwA, gwB].map((gw) => freshGet(`${gw.url}/api/diag/slow?ms=2500`));
		await waitFor(async () => (await stats("diag-1")).inflight + (await stats("diag-2")).inflight === 6, 5_000, "6 requests in flight");
		expect((await stats("diag-2")).inflight).toBeGreaterThan(0);
		diag["diag-2"].signal("SIGKILL");
		const results = (await Promise.all(pending)) as any[];
		for (const r of results) expect(r.status, JSON.stringify(r)).toBe(200);
		expect(results.every((r) => r.body.nodeID === "diag-1")).toBe(true);

		diag["diag-2"] = await cluster.startNode({ name: "diag-2", services: [DIAG] });
		await cluster.waitForInstances("diag", 2);
	});

	it("graceful shutdown: a service instance stopped with SIGTERM finishes what it accepted", async () => {
		const pending = [gwA, gwB, gwA, gwB].map((gw) => freshGet(`${gw.url}/api/diag/slow?ms=2000`));
		await waitFor(
			async () => (await stats("diag-1")).inflight > 0 && (await stats("diag-1")).inflight + (await stats("diag-2")).inflight === 4,
			5_000,
			"4 requests in flight",
		);
		const onOne = (await stats("diag-1")).inflight;
		diag["diag-1"].signal("SIGTERM");
		const results = (await Promise.all(pending)) as any[];
		for (const r of results) expect(r.status, JSON.stringify(r)).toBe(200);
		// Finished where they started, not retried elsewhere.
		expect(results.filter((r) => r.body.nodeID === "diag-1")).toHaveLength(onOne);
		expect(await diag["diag-1"].exited).toBe(0);
	});

	it("graceful shutdown: a gateway stopped with SIGTERM under load answers every request it accepted", async () => {
		const pending = Array.from({ length: 6 }, () => freshGet(`${gwA.url}/api/diag/slow?ms=2000`));
		await waitFor(async () => (await stats("diag-2")).inflight === 6, 5_000, "6 requests in flight through gw-a");
		gwA.signal("SIGTERM");
		// Traffic through the other gateway goes on while gw-a drains.
		const during = (await Promise.all(Array.from({ length: 5 }, () => freshGet(`${gwB.url}/api/diag/whoami`)))) as any[];
		const results = (await Promise.all(pending)) as any[];
		for (const r of results) expect(r.status, JSON.stringify(r)).toBe(200);
		for (const r of during) expect(r.status).toBe(200);
		expect(await gwA.exited).toBe(0);
		// New connections to the stopped gateway are refused (a load balancer sends them elsewhere).
		expect(await freshGet(`${gwA.url}/api/diag/whoami`)).toEqual({ error: "ECONNREFUSED" });
	});
});
