import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { Cluster, freshGet, type ClusterProcess } from "../support/cluster";
import { client, registerUser, waitFor } from "../support/harness";

/**
 * Limits are shared state: with REDIS_URL set, two gateways count one client's requests together,
 * and two users instances count one login's failures together, so alternating between instances
 * never multiplies a limit.
 */
const DIAG = path.join(__dirname, "diag.service.ts");
const LIMIT = 10;

describe("rate limits shared by two gateways through Redis", () => {
	const cluster = new Cluster({ redis: true, env: { RATE_LIMIT_IP_PER_MIN: String(LIMIT) } });
	let gwA: ClusterProcess;
	let gwB: ClusterProcess;

	beforeAll(async () => {
		await cluster.startInfra();
		[gwA, gwB] = await cluster.startNodes([
			{ name: "gw-a", services: ["api"], http: true },
			{ name: "gw-b", services: ["api"], http: true },
			{ name: "diag-1", services: [DIAG] },
		]);
		await cluster.waitForInstances("diag", 1);
		// Route readiness through /health (not rate limited), then wait for the /api aliases by
		// listing them on the node itself, so no /api request is spent before the test.
		const broker = await cluster.clientBroker();
		for (const id of ["gw-a", "gw-b"]) {
			await waitFor(
				async () => ((await broker.call<any[], any>("api.listAliases", {}, { nodeID: id })) ?? []).some((a: any) => a.actionName === "diag.whoami"),
				15_000,
				`diag aliases on ${id}`,
			);
		}
	});

	afterAll(async () => {
		await cluster.stop();
	});

	it("counts one client's requests on both gateways against one limit", async () => {
		// Windows are aligned to the clock minute: start well inside one.
		const intoMinute = Date.now() % 60_000;
		if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 60_000 - intoMinute + 200));
		const statuses: number[] = [];
		for (let i = 0; i < LIMIT + 4; i++) {
			const res = (await freshGet(`${(i % 2 ? gwA : gwB).url}/api/diag/whoami`)) as { status: number };
			statuses.push(res.status);
		}
		expect(statuses.slice(0, LIMIT)).toEqual(Array(LIMIT).fill(200));
		// Each gateway alone has seen only half the limit, yet both refuse now.
		expect(statuses.slice(LIMIT)).toEqual([429, 429, 429, 429]);
		const refused = (await freshGet(`${gwA.url}/api/diag/whoami`)) as { status: number; body: any };
		expect(refused.status).toBe(429);
		expect(refused.body.type).toBe("RATE_LIMITED");
	});
});

describe("login throttling shared by two users instances through Redis", () => {
	const MAX_FAILURES = 3;
	const cluster = new Cluster({ redis: true, env: { SCRYPT_COST: "1024", LOGIN_MAX_FAILURES: String(MAX_FAILURES), RATE_LIMIT_IP_PER_MIN: "100000" } });
	let gw: ClusterProcess;

	beforeAll(async () => {
		await cluster.startInfra();
		[gw] = await cluster.startNodes([
			{ name: "gw", services: ["api"], http: true },
			{ name: "users-1", services: ["users"] },
			{ name: "users-2", services: ["users"] },
		]);
		await cluster.waitForInstances("users", 2, 20_000, ["gw"]);
		const broker = await cluster.clientBroker();
		await waitFor(
			async () => ((await broker.call<any[], any>("api.listAliases", {}, { nodeID: "gw" })) ?? []).some((a: any) => a.actionName === "users.login"),
			15_000,
			"users aliases",
		);
	});

	afterAll(async () => {
		await cluster.stop();
	});

	it("refuses the login after the limit although the failures landed on both instances", async () => {
		const api = client(gw.url!);
		const user = await registerUser(gw.url!, "victim");
		const handled = async (nodeID: string) => {
			const metrics = await (await cluster.clientBroker()).call<any[], any>("$node.metrics", { includes: "moleculer.request.total" }, { nodeID });
			return metrics
				.flatMap((m) => m.values)
				.filter((v: any) => v.labels.action === "users.login")
				.reduce((sum: number, v: any) => sum + v.value, 0);
		};
		for (let i = 0; i < MAX_FAILURES; i++) {
			const res = await api("POST", "/api/auth/login", { login: user.username, password: "wrong password" });
			expect(res.status).toBe(401);
		}
		// Round robin put the failures on both instances; each alone has seen fewer than the limit.
		const [one, two] = [await handled("users-1"), await handled("users-2")];
		expect(one + two).toBe(MAX_FAILURES);
		expect(Math.min(one, two)).toBeGreaterThanOrEqual(1);
		const refused = await api("POST", "/api/auth/login", { login: user.username, password: "correct horse battery" });
		expect(refused.status).toBe(429);
		expect(refused.body.type).toBe("LOGIN_THROTTLED");
	});
});
