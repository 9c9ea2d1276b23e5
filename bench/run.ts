import { QUICK, barChart, benchEnv, machine, registerAndSignIn, round, startChild, verdict, wrk, writeResult, type Child, type ScenarioResult } from "./lib";

/**
 * `npm run bench`: every scenario runs MediaShar and its baseline in the same run on the same
 * machine, prints both and the ratio, and writes bench/results/<scenario>.json + .svg.
 * BENCH_QUICK=1 shrinks every count and duration (under 2 minutes in all);
 * BENCH_ONLY=rest,chat runs some scenarios only.
 */

async function restScenario(): Promise<ScenarioResult> {
	const seconds = QUICK ? 3 : 10;
	const rounds = QUICK ? 1 : 3;
	const connections = 32;
	let ms: Child | undefined;
	let base: Child | undefined;
	try {
		ms = await startChild("servers/mediashar.ts", { ...benchEnv("rest"), BENCH_SERVICES: "users,donations" });
		const user = await registerAndSignIn(ms.info.url, "bench_reader");
		const url = `${ms.info.url}/api/users/${user.username}`;
		const headers = { Authorization: `Bearer ${user.token}` };
		const sample = await fetch(url, { headers });
		const body = await sample.text();
		if (sample.status !== 200) throw new Error(`profile read answered ${sample.status}: ${body}`);
		base = await startChild("servers/baseline-http.ts", { BASELINE_BODY: body });
		const baseUrl = `${base.info.url}/api/users/${user.username}`;
		// warm-up (JIT, caches) for both
		await wrk(baseUrl, { connections, seconds: 1, headers });
		await wrk(url, { connections, seconds: QUICK ? 1 : 3, headers });
		const runs: { baseline: Awaited<ReturnType<typeof wrk>>; mediashar: Awaited<ReturnType<typeof wrk>> }[] = [];
		for (let i = 0; i < rounds; i++) {
			const b = await wrk(baseUrl, { connections, seconds, headers });
			const m = await wrk(url, { connections, seconds, headers });
			runs.push({ baseline: b, mediashar: m });
			console.log(`  round ${i + 1}: baseline ${round(b.rps, 0)} req/s, MediaShar ${round(m.rps, 0)} req/s (${m.non2xx} non-2xx, ${m.errors} socket errors)`);
		}
		// Reference points (not judged): moleculer-web with a trivial action, on a default broker and on MediaShar's broker options.
		const references: Record<string, Awaited<ReturnType<typeof wrk>>> = {};
		for (const kind of ["default", "mediashar"]) {
			const t = await startChild("servers/trivial-web.ts", { BASELINE_BODY: body, TRIVIAL_BROKER: kind });
			try {
				const tUrl = `${t.info.url}/api/users/${user.username}`;
				await wrk(tUrl, { connections, seconds: 1, headers });
				references[kind] = await wrk(tUrl, { connections, seconds, headers });
				if (references[kind].non2xx > 0) throw new Error(`the ${kind} reference answered ${references[kind].non2xx} non-2xx responses`);
				console.log(`  reference: moleculer-web + trivial action, ${kind} broker options: ${round(references[kind].rps, 0)} req/s`);
			} finally {
				await t.stop();
			}
		}
		const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
		const bRps = mean(runs.map((r) => r.baseline.rps));
		const mRps = mean(runs.map((r) => r.mediashar.rps));
		const ratio = mRps / bRps;
		const bad = runs.reduce((n, r) => n + r.mediashar.non2xx + r.mediashar.errors, 0);
		const result: ScenarioResult = {
			scenario: "rest",
			target: "authenticated cached GET /api/users/:username ≥ 40% of a bare node:http server's req/s",
			pass: ratio >= 0.4 && bad === 0,
			load: { tool: "wrk 4.1 -t1", connections, seconds, rounds },
			bodyBytes: Buffer.byteLength(body),
			baseline: { rps: round(bRps, 0), latencyMs: runs[runs.length - 1].baseline.latencyMs },
			mediashar: { rps: round(mRps, 0), latencyMs: runs[runs.length - 1].mediashar.latencyMs, non2xxOrErrors: bad },
			ratio: round(ratio, 3),
			references: {
				trivialActionDefaultBroker: { rps: round(references.default.rps, 0), ratio: round(references.default.rps / bRps, 3) },
				trivialActionMediaSharBroker: { rps: round(references.mediashar.rps, 0), ratio: round(references.mediashar.rps / bRps, 3) },
			},
			runs,
		};
		writeResult(
			"rest",
			result,
			barChart("REST: authenticated cached profile read (req/s, higher is better)", "req/s", [
				{
					name: `wrk -t1 -c${connections}, ${seconds}s × ${rounds}; ratio ${round(ratio * 100, 1)}%`,
					bars: [
						{ label: "bare node:http (baseline)", value: bRps, baseline: true },
						{ label: "moleculer-web, trivial action", value: references.default.rps, baseline: true },
						{ label: "same, MediaShar broker options", value: references.mediashar.rps, baseline: true },
						{ label: "MediaShar gateway", value: mRps },
					],
				},
			]),
		);
		console.log(`REST  baseline ${round(bRps, 0)} req/s  MediaShar ${round(mRps, 0)} req/s  ratio ${round(ratio * 100, 1)}% (target ≥ 40%)  ${verdict(result.pass!)}`);
		return result;
	} finally {
		await ms?.stop();
		await base?.stop();
	}
}

const SCENARIOS: Record<string, () => Promise<ScenarioResult | ScenarioResult[]>> = {
	rest: restScenario,
	pipeline: async () => (await import("./scenarios/pipeline")).pipelineScenario(),
	"pipeline-cluster": async () => (await import("./scenarios/pipeline")).pipelineClusterScenario(),
	chat: async () => (await import("./scenarios/chat")).chatScenario(),
	memory: async () => (await import("./scenarios/memory")).memoryScenario(),
	growth: async () => (await import("./scenarios/growth")).growthScenario(),
};

async function main() {
	const started = Date.now();
	const only = (process.env.BENCH_ONLY || "").split(",").filter(Boolean);
	const info = machine();
	console.log(`MediaShar benchmarks${QUICK ? " (quick)" : ""} on ${info.nproc} × ${info.cpuModel}, node ${info.node}`);
	const results: ScenarioResult[] = [];
	let failed = false;
	for (const [name, run] of Object.entries(SCENARIOS)) {
		if (only.length && !only.includes(name)) continue;
		if (QUICK && name === "pipeline-cluster" && !only.includes(name)) {
			console.log(`\n== ${name} == skipped in quick mode (starts a NATS cluster; BENCH_ONLY=pipeline-cluster runs it)`);
			continue;
		}
		console.log(`\n== ${name} ==`);
		try {
			const r = await run();
			results.push(...(Array.isArray(r) ? r : [r]));
		} catch (err) {
			failed = true;
			console.error(`${name} failed: ${(err as Error).stack}`);
			results.push({ scenario: name, target: "", pass: false, error: (err as Error).message });
		}
	}
	const summary = {
		at: new Date().toISOString(),
		quick: QUICK,
		command: `${QUICK ? "BENCH_QUICK=1 " : ""}${only.length ? `BENCH_ONLY=${only.join(",")} ` : ""}npm run bench`,
		machine: info,
		durationSec: round((Date.now() - started) / 1000, 1),
		results: results.map((r) => ({ scenario: r.scenario, pass: r.pass, target: r.target })),
	};
	writeResult("summary", summary);
	if (!QUICK) {
		(await import("./report")).writeReport();
		console.log("docs/benchmarks.md: figures rewritten from bench/results/.");
	}
	console.log(`\nDone in ${summary.durationSec} s.`);
	for (const r of results) console.log(`  ${r.scenario.padEnd(22)} ${r.pass === null ? "n/a " : verdict(!!r.pass)}  ${r.target}`);
	process.exit(failed ? 1 : 0);
}

if (require.main === module) void main();
