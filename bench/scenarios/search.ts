import { QUICK, barChart, round, startChild, verdict, writeResult, type Child, type ScenarioResult } from "../lib";

/**
 * Search growth: creator search at 10,000 and at 1,000,000 creators (bench/servers/search.ts
 * explains the data). Targets: p99 at the large size within 2× of the small one and under 20 ms;
 * also reported: the index's heap per creator and the rebuild at start (reading the users store
 * page by page and indexing). BENCH_SEARCH_LARGE sets the large size.
 */

export async function searchScenario(): Promise<ScenarioResult> {
	const small = 10_000;
	const large = QUICK ? 100_000 : Number(process.env.BENCH_SEARCH_LARGE || 1_000_000);
	const iterations = QUICK ? 400 : 2_000;
	let child: Child | undefined;
	try {
		child = await startChild("servers/search.ts", { NODE_ENV: "development", DB_ADAPTER: "memory", LOG_LEVEL: "warn" }, [
			"--max-old-space-size=16384",
			"--expose-gc",
		]);
		const atSmallSize = await child.ask("seed", { size: small }, 600_000);
		const atSmall = await child.ask("measure", { iterations }, 600_000);
		console.log(`  at ${small.toLocaleString("en")} creators: p50 ${atSmall.latencyMs.p50} ms, p99 ${atSmall.latencyMs.p99} ms`, atSmallSize);
		const atLargeSize = await child.ask("seed", { size: large }, 3_600_000);
		const atLarge = await child.ask("measure", { iterations }, 600_000);
		console.log(`  at ${large.toLocaleString("en")} creators: p50 ${atLarge.latencyMs.p50} ms, p99 ${atLarge.latencyMs.p99} ms`, atLargeSize);
		const ratioP99 = round(atLarge.latencyMs.p99 / atSmall.latencyMs.p99, 2);
		const pass = ratioP99 <= 2 && atLarge.latencyMs.p99 < 20;
		const result: ScenarioResult = {
			scenario: "search",
			target: `creator search p99 at ${large.toLocaleString("en")} creators < 20 ms and within 2× of ${small.toLocaleString("en")}`,
			pass: QUICK ? null : pass,
			iterations,
			sizes: { small: atSmallSize, large: atLargeSize },
			small: atSmall,
			large: atLarge,
			ratioP99,
			storage: "users on in-memory NeDB, seeded directly; the index rebuilt through users.directoryPage as at start",
		};
		const kinds = Object.keys(atSmall.byKind);
		writeResult(
			"search",
			result,
			barChart(
				`Creator search p99 (ms) at ${small.toLocaleString("en")} vs ${large.toLocaleString("en")} creators (lower is better; target < 20 ms, ≤ 2×)`,
				"ms",
				["all", ...kinds].map((k) => ({
					name: k === "all" ? `all queries: ${ratioP99}×` : k,
					bars: [
						{ label: `${small.toLocaleString("en")}`, value: k === "all" ? atSmall.latencyMs.p99 : atSmall.byKind[k].p99, baseline: true },
						{ label: `${large.toLocaleString("en")}`, value: k === "all" ? atLarge.latencyMs.p99 : atLarge.byKind[k].p99 },
					],
				})),
			),
		);
		console.log(
			`SEARCH  p99 ${atSmall.latencyMs.p99} → ${atLarge.latencyMs.p99} ms (${ratioP99}×), rebuild ${atLargeSize.rebuildSec} s, ${atLargeSize.indexBytesPerCreator} B/creator  ${QUICK ? "(quick)" : verdict(pass)}`,
		);
		return result;
	} finally {
		await child?.stop();
	}
}
