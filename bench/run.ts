import {
	QUICK,
	REST_PIECES,
	barChart,
	benchEnv,
	machine,
	registerAndSignIn,
	round,
	startChild,
	tmpDataDir,
	verdict,
	wrk,
	wrkWithCpu,
	writeResult,
	type Child,
	type RestPiece,
	type ScenarioResult,
} from "./lib";

/**
 * `npm run bench`: every scenario runs MediaShar and its baseline in the same run on the same
 * machine, prints both and the ratio, and writes bench/results/<scenario>.json + .svg.
 * BENCH_QUICK=1 shrinks every count and duration (under 4 minutes in all);
 * BENCH_ONLY=rest,chat runs some scenarios only.
 */

type Measured = Awaited<ReturnType<typeof wrkWithCpu>>;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * REST: MediaShar's authenticated cached `GET /api/users/:username` against, in alternating
 * rounds of the same run: moleculer-web with a trivial action on a default broker (the framework's
 * own limit; the target), an Express peer doing the same job (bench/servers/express-peer.ts) and
 * a bare node:http server. Then the cost table: the trivial route on MediaShar's broker and
 * gateway options, all on and with each piece off in turn (every variant its own process, all
 * measured round by round, by req/s and by the server's CPU time per request).
 */
async function restScenario(): Promise<ScenarioResult> {
	const seconds = QUICK ? 3 : 10;
	const rounds = QUICK ? 1 : 3;
	const costSeconds = QUICK ? 2 : 4;
	const costRounds = QUICK ? 2 : 5;
	const connections = 32;
	const jwtSecret = "bench-only-secret-0123456789abcdef0123456789abcdef";
	const children: Child[] = [];
	const start = async (script: string, env: Record<string, string>) => {
		const c = await startChild(script, env);
		children.push(c);
		return c;
	};
	try {
		const ms = await start("servers/mediashar.ts", { ...benchEnv("rest"), JWT_SECRET: jwtSecret, BENCH_SERVICES: "users,donations,stats" });
		const user = await registerAndSignIn(ms.info.url, "bench_reader");
		const path = `/api/users/${user.username}`;
		const headers = { Authorization: `Bearer ${user.token}` };
		const sample = await fetch(ms.info.url + path, { headers });
		const body = await sample.text();
		if (sample.status !== 200) throw new Error(`profile read answered ${sample.status}: ${body}`);
		const peers = {
			bare: await start("servers/baseline-http.ts", { BASELINE_BODY: body }),
			trivial: await start("servers/trivial-web.ts", { BASELINE_BODY: body, TRIVIAL_BROKER: "default" }),
			express: await start("servers/express-peer.ts", { BASELINE_BODY: body, JWT_SECRET: jwtSecret, RATE_LIMIT_USER_PER_MIN: "1000000000" }),
			mediashar: ms,
		};
		type Peer = keyof typeof peers;
		const check = await fetch(peers.express.info.url + path, { headers });
		if (check.status !== 200 || (await check.text()) !== body) throw new Error(`the Express peer answered ${check.status}`);
		// warm-up (JIT, caches) for each
		for (const c of Object.values(peers)) await wrk(c.info.url + path, { connections, seconds: QUICK ? 1 : 3, headers });
		const runs: Record<Peer, Measured>[] = [];
		for (let i = 0; i < rounds; i++) {
			const r = {} as Record<Peer, Measured>;
			for (const [name, c] of Object.entries(peers) as [Peer, Child][]) {
				r[name] = await wrkWithCpu(c.proc.pid!, c.info.url + path, { connections, seconds, headers });
				if (r[name].non2xx + r[name].errors > 0 && name !== "mediashar")
					throw new Error(`${name} answered ${r[name].non2xx} non-2xx, ${r[name].errors} socket errors`);
			}
			runs.push(r);
			console.log(
				`  round ${i + 1}: bare ${round(r.bare.rps, 0)}, moleculer-web trivial ${round(r.trivial.rps, 0)}, Express peer ${round(r.express.rps, 0)}, MediaShar ${round(r.mediashar.rps, 0)} req/s (${r.mediashar.non2xx} non-2xx, ${r.mediashar.errors} socket errors)`,
			);
		}
		const figure = (name: Peer) => ({
			rps: round(mean(runs.map((r) => r[name].rps)), 0),
			cpuUsPerRequest: round(median(runs.map((r) => r[name].cpuUsPerRequest)), 1),
			latencyMs: {
				p50: round(mean(runs.map((r) => r[name].latencyMs.p50)), 3),
				p90: round(mean(runs.map((r) => r[name].latencyMs.p90)), 3),
				p99: round(mean(runs.map((r) => r[name].latencyMs.p99)), 3),
			},
		});
		const f = { bare: figure("bare"), trivial: figure("trivial"), express: figure("express"), mediashar: figure("mediashar") };
		const bad = runs.reduce((n, r) => n + r.mediashar.non2xx + r.mediashar.errors, 0);
		const ratio = f.mediashar.rps / f.trivial.rps;
		const p99Ratio = f.mediashar.latencyMs.p99 / f.trivial.latencyMs.p99;
		const vsExpress = f.mediashar.rps / f.express.rps;
		for (const c of Object.values(peers)) await c.stop();

		// The cost table: the trivial route on MediaShar's options, all on, then each piece off.
		const pieces = ["", ...Object.keys(REST_PIECES)] as (RestPiece | "")[];
		const variants = new Map<RestPiece | "", Child>();
		for (const piece of pieces)
			variants.set(
				piece,
				await start("servers/trivial-web.ts", {
					BASELINE_BODY: body,
					TRIVIAL_BROKER: "mediashar",
					TRIVIAL_OFF: piece,
					DATA_DIR: tmpDataDir("rest-trivial"),
				}),
			);
		for (const t of variants.values()) await wrk(t.info.url + path, { connections, seconds: 1, headers });
		const samples = new Map<RestPiece | "", Measured[]>(pieces.map((p) => [p, []]));
		for (let i = 0; i < costRounds; i++) {
			for (const [piece, t] of variants) {
				const w = await wrkWithCpu(t.proc.pid!, t.info.url + path, { connections, seconds: costSeconds, headers });
				if (w.non2xx + w.errors > 0) throw new Error(`the trivial route with ${piece || "nothing"} off answered ${w.non2xx} non-2xx`);
				samples.get(piece)!.push(w);
			}
		}
		for (const t of variants.values()) await t.stop();
		const allOn = samples.get("")!;
		const onCpu = median(allOn.map((w) => w.cpuUsPerRequest));
		const costs = pieces.map((piece) => {
			const ws = samples.get(piece)!;
			const cpu = median(ws.map((w) => w.cpuUsPerRequest));
			return {
				piece: piece || "(all on)",
				what: piece ? REST_PIECES[piece] : "MediaShar's broker and gateway options",
				rps: round(median(ws.map((w) => w.rps)), 0),
				cpuUsPerRequest: round(cpu, 1),
				costUs: piece ? round(onCpu - cpu, 1) : null,
				p99Ms: round(median(ws.map((w) => w.latencyMs.p99)), 2),
			};
		});
		for (const c of costs)
			console.log(
				`  trivial route, MediaShar options, ${c.piece === "(all on)" ? "all on" : `${c.piece} off`}: ${c.rps} req/s, ${c.cpuUsPerRequest} µs CPU per request${c.costUs === null ? "" : ` (the piece costs ${c.costUs} µs)`}`,
			);

		const result: ScenarioResult = {
			scenario: "rest",
			target: "authenticated cached GET /api/users/:username ≥ 75% of moleculer-web's trivial route on a default broker, p99 ≤ 1.5× its p99, and at least as fast as an Express peer",
			pass: ratio >= 0.75 && p99Ratio <= 1.5 && vsExpress >= 1 && bad === 0,
			load: { tool: "wrk 4.1 -t1", connections, seconds, rounds, costSeconds, costRounds },
			bodyBytes: Buffer.byteLength(body),
			baseline: f.bare,
			trivial: f.trivial,
			express: f.express,
			mediashar: { ...f.mediashar, non2xxOrErrors: bad },
			ratio: round(ratio, 3),
			p99Ratio: round(p99Ratio, 3),
			vsExpress: round(vsExpress, 3),
			vsBare: round(f.mediashar.rps / f.bare.rps, 3),
			cpuRatio: round(f.trivial.cpuUsPerRequest / f.mediashar.cpuUsPerRequest, 3),
			costs,
			runs,
		};
		writeResult(
			"rest",
			result,
			barChart("REST: authenticated cached profile read (req/s, higher is better)", "req/s", [
				{
					name: `wrk -t1 -c${connections}, ${seconds}s × ${rounds}; ${round(ratio * 100, 1)}% of moleculer-web's trivial route`,
					bars: [
						{ label: "bare node:http", value: f.bare.rps, baseline: true },
						{ label: "moleculer-web, trivial action", value: f.trivial.rps, baseline: true },
						{ label: "Express peer (same job)", value: f.express.rps, baseline: true },
						{ label: "MediaShar gateway", value: f.mediashar.rps },
					],
				},
				{
					name: "trivial route on MediaShar's options, one piece off",
					bars: costs.map((c) => ({ label: c.piece === "(all on)" ? "all on" : `${c.piece} off`, value: c.rps, baseline: c.piece !== "(all on)" })),
				},
			]),
		);
		console.log(
			`REST  MediaShar ${f.mediashar.rps} req/s = ${round(ratio * 100, 1)}% of moleculer-web's trivial route (${f.trivial.rps}; target ≥ 75%), p99 ${f.mediashar.latencyMs.p99} ms = ${round(p99Ratio, 2)}× (target ≤ 1.5×), ${round(vsExpress, 2)}× the Express peer (${f.express.rps}; target ≥ 1); CPU per request ${f.mediashar.cpuUsPerRequest} µs vs ${f.trivial.cpuUsPerRequest} µs  ${verdict(result.pass!)}`,
		);
		return result;
	} finally {
		for (const c of children) await c.stop();
	}
}

const SCENARIOS: Record<string, () => Promise<ScenarioResult | ScenarioResult[]>> = {
	rest: restScenario,
	pipeline: async () => (await import("./scenarios/pipeline")).pipelineScenario(),
	"pipeline-cluster": async () => (await import("./scenarios/pipeline")).pipelineClusterScenario(),
	"pipeline-cluster-pg": async () => (await import("./scenarios/pipeline")).pipelineClusterScenario("postgres"),
	chat: async () => (await import("./scenarios/chat")).chatScenario(),
	memory: async () => (await import("./scenarios/memory")).memoryScenario(),
	growth: async () => (await import("./scenarios/growth")).growthScenario(),
	tts: async () => (await import("./scenarios/tts")).ttsScenario(),
	media: async () => (await import("./scenarios/media")).mediaScenario(),
	"growth-pg": async () => (await import("./scenarios/growth")).growthScenario("postgres"),
	search: async () => (await import("./scenarios/search")).searchScenario(),
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
		if (QUICK && (name === "pipeline-cluster" || name === "pipeline-cluster-pg" || name === "growth-pg") && !only.includes(name)) {
			console.log(`\n== ${name} == skipped in quick mode (starts its own servers; BENCH_ONLY=${name} runs it)`);
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
