import { QUICK, barChart, round, startChild, verdict, writeResult, type Child, type ScenarioResult } from "../lib";

/**
 * Growth: the same reads at a small and a large store (bench/servers/growth.ts explains the data).
 * Target: every read of the measured channel at the large size within 2× of the small size.
 * The "hot channel" row is informative: that channel's own history grows 100× with the store.
 */

export type GrowthStore = "memory" | "postgres";

/**
 * `store`: the embedded adapter in memory (`growth`), or PostgreSQL (`growth-pg`: a server of the
 * run's own, started with initdb on a free port, fsync off; the plans of the reads' statements
 * are recorded with the figures).
 */
export async function growthScenario(store: GrowthStore = "memory"): Promise<ScenarioResult> {
	const small = QUICK ? 10_000 : 10_000;
	const large = QUICK ? 50_000 : Number(process.env.BENCH_GROWTH_LARGE || 1_000_000);
	const iterations = QUICK ? 100 : 300;
	const name = store === "postgres" ? "growth-pg" : "growth";
	let child: Child | undefined;
	let server: { destroy(): Promise<void>; url: string } | undefined;
	try {
		const db: Record<string, string> = { DB_ADAPTER: "memory" };
		if (store === "postgres") {
			const { PgServer } = await import("../../test/support/pg-server");
			server = await new PgServer().init();
			db.DB_ADAPTER = "postgres";
			db.DATABASE_URL = server.url;
			db.PG_POOL_MAX = "4";
			db.PG_STATEMENT_TIMEOUT_MS = "600000";
		}
		child = await startChild("servers/growth.ts", { NODE_ENV: "development", ...db, LOG_LEVEL: "warn", SCRYPT_COST: "1024" }, [
			"--max-old-space-size=16384",
		]);
		const t0 = Date.now();
		const sizeSmall = await child.ask("seed", { size: small });
		const atSmall = await child.ask("measure", { iterations });
		console.log(
			`  at ${small.toLocaleString("en")} rows per store (${sizeSmall.heapMb} MB heap): ${JSON.stringify(Object.fromEntries(Object.entries(atSmall.latencyMs).map(([k, v]: [string, any]) => [k, v.p50])))}`,
		);
		const sizeLarge = await child.ask("seed", { size: large }, 1_800_000);
		const seedSec = (Date.now() - t0) / 1000;
		const atLarge = await child.ask("measure", { iterations });
		console.log(
			`  at ${large.toLocaleString("en")} rows per store (${sizeLarge.heapMb} MB heap, seeded in ${round(seedSec, 0)} s): ${JSON.stringify(Object.fromEntries(Object.entries(atLarge.latencyMs).map(([k, v]: [string, any]) => [k, v.p50])))}`,
		);
		const rows = Object.keys(atSmall.latencyMs).map((name) => {
			const a = atSmall.latencyMs[name];
			const b = atLarge.latencyMs[name];
			return {
				read: name,
				smallP50: a.p50,
				largeP50: b.p50,
				smallP99: a.p99,
				largeP99: b.p99,
				ratioP50: round(b.p50 / a.p50, 2),
				informative: name.startsWith("hot"),
			};
		});
		const explain = store === "postgres" ? await child.ask("explain", {}, 600_000) : undefined;
		const judged = rows.filter((r) => !r.informative);
		const pass = judged.every((r) => r.ratioP50 <= 2);
		for (const r of rows)
			console.log(`    ${r.read.padEnd(42)} p50 ${r.smallP50} → ${r.largeP50} ms (${r.ratioP50}×)${r.informative ? "  [informative]" : ""}`);
		const result: ScenarioResult = {
			scenario: name,
			target: `stats, leaderboard, history and inbox reads at ${large.toLocaleString("en")} rows within 2× of ${small.toLocaleString("en")}`,
			pass: QUICK ? null : pass,
			sizes: { small: sizeSmall, large: sizeLarge },
			iterations,
			rows,
			small: atSmall,
			large: atLarge,
			storage:
				store === "postgres"
					? "PostgreSQL (a server of the run's own, fsync off), seeded through the services' collections"
					: "in-memory NeDB (the embedded adapter without file persistence), seeded through the services' collections",
			explain,
		};
		writeResult(
			name,
			result,
			barChart(
				`Read latency p50 (ms) at ${small.toLocaleString("en")} vs ${large.toLocaleString("en")} rows per store (lower is better; target ≤ 2×)`,
				"ms",
				rows.map((r) => ({
					name: `${r.read}: ${r.ratioP50}×`,
					bars: [
						{ label: `${small.toLocaleString("en")} rows`, value: r.smallP50, baseline: true },
						{ label: `${large.toLocaleString("en")} rows`, value: r.largeP50 },
					],
				})),
			),
		);
		console.log(
			`GROWTH${store === "postgres" ? " (PostgreSQL)" : ""}  ${judged.map((r) => `${r.read.split(" (")[0]} ${r.ratioP50}×`).join(", ")}  ${QUICK ? "(quick)" : verdict(pass)}`,
		);
		return result;
	} finally {
		await child?.stop();
		await server?.destroy();
	}
}
