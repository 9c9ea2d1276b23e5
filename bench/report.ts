import fs from "node:fs";
import path from "node:path";
import { RESULTS, ROOT } from "./lib";

/**
 * Renders the "Latest figures" section of docs/benchmarks.md and the performance table of the
 * README from bench/results/*.json, between the markers <!-- figures:start --> and
 * <!-- figures:end -->, so both always show the figures of the last full run of each scenario.
 * `npx tsx bench/report.ts` (run.ts calls it after a full run; chaos and fuzz after theirs).
 */

const DOC = path.join(ROOT, "docs", "benchmarks.md");
const README = path.join(ROOT, "README.md");

function read(name: string): any | null {
	const f = path.join(RESULTS, `${name}.json`);
	return fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, "utf8")) : null;
}

const v = (x: unknown) => (x === undefined || x === null || (typeof x === "number" && !Number.isFinite(x)) ? "—" : String(x));
const ok = (p: boolean | null | undefined) => (p === true ? "**met**" : p === false ? "**missed**" : "not judged");

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
/** When a scenario was measured, and on which Node (figures of different runtimes sit side by side). */
const day = (r: any) => ((r?.measuredAt ?? r?.at) ? `${String(r.measuredAt ?? r.at).slice(0, 10)}${r?.machine?.node ? `, Node ${r.machine.node}` : ""}` : "—");

export function renderFigures(): string {
	const out: string[] = [];
	const any = ["rest", "pipeline", "chat", "memory", "growth"].map(read).find((r) => r?.machine);
	if (any) {
		const m = any.machine;
		out.push(
			`The latest full run of each scenario (\`npm run bench\`, or one scenario with \`BENCH_ONLY=<name> npm run bench\`); each says when it was measured. Machine: ${m.nproc} × ${m.cpuModel} (${m.memoryGb} GB RAM), Node ${m.node}, ${m.platform}; load generator on the same machine.`,
			"",
		);
	}
	const rest = read("rest");
	if (rest?.mediashar && rest.trivial) {
		const row = (name: string, f: any) => `| ${name} | ${v(f.rps)} | ${v(f.cpuUsPerRequest)} | ${v(f.latencyMs.p50)} | ${v(f.latencyMs.p99)} |`;
		out.push(
			"### 1. REST: authenticated, cached profile read",
			"",
			`Measured ${day(rest)} (\`BENCH_ONLY=rest npm run bench\`).`,
			"",
			"| | req/s | server CPU µs per request | p50 ms | p99 ms |",
			"|---|---:|---:|---:|---:|",
			row("bare `node:http` (reference)", rest.baseline),
			row("moleculer-web + trivial action, default broker (the target's baseline)", rest.trivial),
			row("Express peer: jsonwebtoken + express-rate-limit + lru-cache", rest.express),
			row("MediaShar `GET /api/users/:username` + bearer token", rest.mediashar),
			"",
			`**${pct(rest.ratio)}** of moleculer-web's trivial route (target ≥ 75%), p99 **${v(rest.p99Ratio)}×** its p99 (target ≤ 1.5×), **${v(rest.vsExpress)}×** the Express peer's req/s (target ≥ 1): ${ok(rest.pass)}. ${pct(rest.vsBare)} of the bare server. ${rest.load.tool}, ${rest.load.connections} keep-alive connections, ${rest.load.seconds} s × ${rest.load.rounds} rounds alternating the four servers. ![REST](../bench/results/rest.svg)`,
			"",
			...(Array.isArray(rest.costs) && rest.costs.length
				? [
						`What each of MediaShar's broker and gateway options costs on the trivial route: the same action and route, one piece switched off at a time, each variant its own process, ${v(rest.load.costRounds)} rounds of ${v(rest.load.costSeconds)} s taking turns, medians. The cost of a piece is the server's CPU time per request with everything on minus with that piece off (CPU time moves far less than req/s with what else runs on the machine; a few µs either way is noise).`,
						"",
						"| switched off | req/s | server CPU µs per request | the piece costs (µs) | p99 ms |",
						"|---|---:|---:|---:|---:|",
						...rest.costs.map(
							(c: any) =>
								`| ${c.piece === "(all on)" ? "nothing (all on)" : `${c.piece}: ${c.what}`} | ${v(c.rps)} | ${v(c.cpuUsPerRequest)} | ${c.costUs === null ? "—" : v(c.costUs)} | ${v(c.p99Ms)} |`,
						),
						"",
					]
				: []),
		);
	}
	const p = read("pipeline");
	if (p?.mediashar) {
		const m = p.mediashar;
		const b = p.baseline;
		out.push(
			"### 2. Donation pipeline (created → paid via sandbox webhook → overlay alert)",
			"",
			`Measured ${day(p)} (\`BENCH_ONLY=pipeline npm run bench\`).`,
			"",
			"| | donations/s (closed loop, 64 donors) | settled → alert p50 / p99 ms at 100/s | webhook sent → alert p99 ms | created → alert p99 ms |",
			"|---|---:|---:|---:|---:|",
			`| bare http + Socket.IO (baseline) | ${v(b.throughput.donationsPerSec)} | ${v(b.latency.settledToAlertMs.p50)} / ${v(b.latency.settledToAlertMs.p99)} | ${v(b.latency.webhookSentToAlertMs.p99)} | ${v(b.latency.createdToAlertMs.p99)} |`,
			`| MediaShar embedded (all services, NeDB files) | ${v(m.throughput.donationsPerSec)} | ${v(m.latency.settledToAlertMs.p50)} / ${v(m.latency.settledToAlertMs.p99)} | ${v(m.latency.webhookSentToAlertMs.p99)} | ${v(m.latency.createdToAlertMs.p99)} |`,
			"",
			`Targets ≥ 300 donations/s and p99 ≤ 50 ms at 100/s: ${ok(p.pass)}. Open loop at 100/s achieved ${v(m.latency.achievedRate)}/s. Every alert arrived exactly once: ${m.throughput.missingAlerts === 0 && m.latency.missingAlerts === 0 && m.throughput.duplicates === 0 && m.latency.duplicates === 0 ? "yes" : `no (missing ${m.throughput.missingAlerts + m.latency.missingAlerts}, duplicates ${m.throughput.duplicates + m.latency.duplicates})`}.` +
				(m.latencyLowRate
					? ` At ${v(m.latencyLowRate.rate)}/s, under the measured throughput, settled → alert p50 ${v(m.latencyLowRate.settledToAlertMs.p50)} ms, p99 ${v(m.latencyLowRate.settledToAlertMs.p99)} ms (informative).`
					: "") +
				(p.storage
					? ` Storage work: ${v(p.storage.linesPerDonation)} NeDB appends per donation (${v(p.storage.linesAppended)} lines for ${v(p.storage.donations)} donations).`
					: "") +
				" ![pipeline](../bench/results/pipeline.svg)",
			"",
		);
		const c = p.costSheet;
		if (c) {
			const pd = c.perDonation;
			const rows = (t: Record<string, number>, k: number) =>
				Object.entries(t)
					.slice(0, k)
					.map(([a, b]) => `${a} ${b}`)
					.join(" · ");
			out.push(
				"#### Cost sheet: one paid donation, embedded",
				"",
				`From a separate node with the counters and the CPU profiler on (\`bench/cost-sheet.ts\`), ${v(c.donations)} donations in a ${v(c.seconds)} s closed loop, everything divided by the donations alerted:`,
				"",
				"| per paid donation | |",
				"|---|---:|",
				`| broker calls (actions executed, nested included) | ${v(pd.brokerCalls)} |`,
				`| events emitted / handled | ${v(pd.eventsEmitted)} / ${v(pd.eventsHandled)} |`,
				`| channel messages sent / handled | ${v(pd.channelSent)} / ${v(pd.channelHandled)} |`,
				`| database reads / writes | ${v(pd.dbReads)} / ${v(pd.dbWrites)} |`,
				`| file appends (bytes) / fsyncs | ${v(pd.appends)} (${v(pd.appendBytes)} B) / ${v(pd.fsyncs)} |`,
				`| CPU, whole process | ${v(pd.cpuUs)} µs |`,
				"",
				`CPU µs by hop (the nearest service file on each profile sample's stack, else the code at its leaf): ${rows(c.cpuUsByHop, 16)}.`,
				"",
				`Calls: ${rows(c.actions, 20)}.`,
				"",
				`Writes by collection: ${rows(c.dbWritesBy, 12)}. Reads: ${rows(c.dbReadsBy, 12)}. Channel messages: ${rows(c.channels, 12)}.`,
				"",
			);
		}
	}
	for (const [name, label] of [
		["pipeline-cluster", "2b. The same on a 3-process NATS cluster, NeDB files"],
		["pipeline-cluster-pg", "2c. The same on a 3-process NATS cluster, PostgreSQL"],
	] as const) {
		const pc = read(name);
		if (!pc?.latency) continue;
		out.push(
			`#### ${label}`,
			"",
			`Measured ${day(pc)} (\`BENCH_ONLY=${name} npm run bench\`).`,
			"",
			`${pc.setup.processes.join("; ")}; ${pc.setup.transport}; ${pc.setup.storage}. At 100 donations/s (achieved ${v(pc.latency.achievedRate)}/s): settled → alert p50 **${v(pc.latency.settledToAlertMs.p50)} ms**, p99 **${v(pc.latency.settledToAlertMs.p99)} ms** (target ≤ 100 ms): ${ok(pc.pass)}; ${pc.latency.alerted}/${pc.latency.offered} alerted. Closed loop with 64 donors: ${v(pc.throughput.donationsPerSec)} donations/s.${pc.latencyLowRate ? ` At ${v(pc.latencyLowRate.rate)}/s (informative): p50 ${v(pc.latencyLowRate.settledToAlertMs.p50)} ms, p99 ${v(pc.latencyLowRate.settledToAlertMs.p99)} ms.` : ""} ![${name}](../bench/results/${name}.svg)`,
			"",
		);
	}
	const c = read("chat");
	if (c?.mediashar) {
		out.push(
			`### 3. Chat fan-out to ${c.setup.listeners} sockets`,
			"",
			`Measured ${day(c)} (\`BENCH_ONLY=chat npm run bench\`).`,
			"",
			"| | messages/s | deliveries/s | delivery p50 / p99 ms |",
			"|---|---:|---:|---:|",
			`| bare Socket.IO (baseline) | ${v(c.baseline.msgsPerSec)} | ${v(c.baseline.deliveriesPerSec)} | ${v(c.baseline.latencyMs.p50)} / ${v(c.baseline.latencyMs.p99)} |`,
			`| MediaShar (\`chat:send\` → \`chat:message\`) | ${v(c.mediashar.msgsPerSec)} | ${v(c.mediashar.deliveriesPerSec)} | ${v(c.mediashar.latencyMs.p50)} / ${v(c.mediashar.latencyMs.p99)} |`,
			"",
			`Throughput ratio **${v(Math.round(c.throughputRatio * 1000) / 10)}%** (target ≥ 70%), p99 ratio **${v(c.p99Ratio)}×** (target ≤ 1.5×): ${ok(c.pass)}. ${c.setup.messages} messages, at most ${c.setup.window} unacknowledged. ![chat](../bench/results/chat.svg)`,
			"",
		);
	}
	const mem = read("memory");
	if (mem?.mediashar) {
		out.push(
			`### 4. Memory per idle socket at ${mem.mediashar.sockets} sockets`,
			"",
			`Measured ${day(mem)} (\`BENCH_ONLY=memory npm run bench\`).`,
			"",
			`MediaShar gateway **${v(mem.kbPerSocket)} KB** per signed-in idle socket (heap ${v(mem.mediashar.heapBeforeMb)} → ${v(mem.mediashar.heapAfterMb)} MB after GC); bare Socket.IO ${v(mem.baselineKbPerSocket)} KB. Target ≤ 20 KB: ${ok(mem.pass)}. ![memory](../bench/results/memory.svg)`,
			"",
		);
	}
	for (const [name, label] of [
		["growth", "5. Growth"],
		["growth-pg", "5b. Growth on PostgreSQL"],
	] as const) {
		const g = read(name);
		if (!g?.rows) continue;
		out.push(
			`### ${label}: ${g.sizes.small.donations.toLocaleString("en")} → ${g.sizes.large.donations.toLocaleString("en")} rows per store`,
			"",
			`Measured ${day(g)} (\`BENCH_ONLY=${name} npm run bench\`); storage: ${g.storage}.`,
			"",
			"| read | p50 ms small | p50 ms large | p99 ms small | p99 ms large | large / small (p50) |",
			"|---|---:|---:|---:|---:|---:|",
			...g.rows.map(
				(r: any) =>
					`| ${r.read}${r.informative ? " *(informative)*" : ""} | ${v(r.smallP50)} | ${v(r.largeP50)} | ${v(r.smallP99)} | ${v(r.largeP99)} | ${v(r.ratioP50)}× |`,
			),
			"",
			`Target: every judged read within 2×: ${ok(g.pass)}. Stores: donations, notifications and chat messages each at the size shown (plus ${v(g.sizes.large.aggregates)} aggregate rows); heap ${v(g.sizes.large.heapMb)} MB at the large size.${name === "growth" ? " ![growth](../bench/results/growth.svg)" : ""}`,
			"",
		);
		if (g.explain) {
			out.push(
				`The plans of each read's statements at ${g.sizes.large.donations.toLocaleString("en")} rows (\`EXPLAIN (ANALYZE, BUFFERS)\` on the seeded tables, recorded by the run in \`bench/results/${name}.json\`):`,
				"",
			);
			for (const [read, statements] of Object.entries(g.explain as Record<string, { sql: string; plan: string[] }[]>)) {
				out.push(`<details><summary>${read}</summary>`, "", "```");
				for (const st of statements)
					out.push(st.sql, ...st.plan.filter((l) => !/^\s*(Planning|Buffers: shared hit=\d+$)/.test(l)).map((l) => `  ${l}`), "");
				out.push("```", "", "</details>", "");
			}
		}
	}
	const sr = read("search");
	if (sr?.large) {
		const n = (x: number) => x.toLocaleString("en");
		const kinds = Object.keys(sr.small.byKind ?? {});
		out.push(
			`### 6. Creator search: ${n(sr.sizes.small.creators)} → ${n(sr.sizes.large.creators)} creators`,
			"",
			`Measured ${day(sr)} (\`BENCH_ONLY=search npm run bench\`).`,
			"",
			"| queries | p50 ms small | p50 ms large | p99 ms small | p99 ms large |",
			"|---|---:|---:|---:|---:|",
			`| all (${v(sr.iterations)} each) | ${v(sr.small.latencyMs.p50)} | ${v(sr.large.latencyMs.p50)} | ${v(sr.small.latencyMs.p99)} | ${v(sr.large.latencyMs.p99)} |`,
			...(sr.small.cpuMs
				? [
						`| all, CPU time per query *(informative)* | ${v(sr.small.cpuMs.p50)} | ${v(sr.large.cpuMs.p50)} | ${v(sr.small.cpuMs.p99)} | ${v(sr.large.cpuMs.p99)} |`,
					]
				: []),
			...kinds.map(
				(k) => `| ${k} | ${v(sr.small.byKind[k].p50)} | ${v(sr.large.byKind[k].p50)} | ${v(sr.small.byKind[k].p99)} | ${v(sr.large.byKind[k].p99)} |`,
			),
			"",
			`Target: p99 at the large size under 20 ms and within 2× of the small size (**${v(sr.ratioP99)}×**): ${ok(sr.pass)}. Index heap per creator ${v(sr.sizes.small.indexBytesPerCreator)} B at ${n(sr.sizes.small.creators)}, **${v(sr.sizes.large.indexBytesPerCreator)} B** at ${n(sr.sizes.large.creators)}; rebuild at start (paged read of the users store + indexing) ${v(sr.sizes.small.rebuildSec)} s and **${v(sr.sizes.large.rebuildSec)} s**; typo queries that found their creator in the first 20: ${v(sr.large.typoFoundShare)}. ${v(sr.storage)}. ![search](../bench/results/search.svg)`,
			"",
		);
	}
	const chaos = read("chaos");
	if (chaos?.figures) {
		const f = chaos.figures;
		const pf = chaos.payoutFigures;
		out.push(
			"### Chaos",
			"",
			`\`${chaos.command}\` of ${chaos.at.slice(0, 16).replace("T", " ")} UTC: ${chaos.created} donations created, ${chaos.paymentAccepted} paid through the sandbox${pf ? ` and ${chaos.payouts.requested} payouts requested` : ""}, while ${chaos.kills} SIGKILLs hit ${[...new Set<string>(chaos.killedNodes)].join(", ")} (each restarted, mean ${v(chaos.meanRestartMs)} ms to be back)${chaos.postgresRestarts?.length ? `, and the PostgreSQL server was stopped and started again ${chaos.postgresRestarts.length}× (${chaos.postgresRestarts.map((r: { downMs: number }) => `${r.downMs} ms down`).join(", ")})` : ""}.`,
			"",
			"| figure | value |",
			"|---|---:|",
			`| paid donations lost | ${f.paidDonationsLost} |`,
			`| donations paid twice | ${f.donationsPaidTwice} |`,
			`| ledger credits − paid donations | ${f.ledgerCreditsMinusPaid} |`,
			`| paid donations never alerted on the connected overlay | ${f.paidNeverAlerted} |`,
			`| alerts shown twice after client dedupe | ${f.alertsShownTwiceAfterDedupe} |`,
			`| balances ≠ ${pf ? "paid donations − payouts not given back" : "sum of paid donations"} | ${chaos.balanceMismatches} |`,
			...(f.sandbox202NotSettled !== undefined
				? [
						`| sandbox \`/complete\` 202s whose payment did not end paid (${chaos.killsDuringComplete} payments-node kills during deliveries) | ${f.sandbox202NotSettled} |`,
					]
				: []),
			...(pf
				? [
						`| payouts stuck: not final, not legitimately pending (of ${chaos.payouts.requested} requested: ${Object.entries(
							chaos.payouts.statuses as Record<string, number>,
						)
							.map(([k, n]) => `${n} ${k}`)
							.join(", ")}; ${chaos.killsAfterPayout202} payouts-node kills right after a payout 202) | ${pf.payoutsStuck} |`,
						`| ledger payout entries − (payouts requested − reversed), count / amount | ${pf.payoutDebitsMinusNetRequested} / ${pf.payoutDebitAmountMinusNetRequested} |`,
						`| payouts paid twice / paid by the sandbox yet reversed | ${pf.payoutsPaidTwice} / ${pf.sandboxPaidButReversed ?? 0} |`,
						`| balances below zero / ≠ sum of the ledger | ${pf.balancesBelowZero} / ${pf.balanceNotLedgerSum} |`,
						`| reversal credits written twice for one payout | ${pf.reversalsWrittenTwice} |`,
						`| a cancel and an approval of one payout both answered success | ${pf.cancelAndApprovalBothWon} |`,
					]
				: []),
			`| duplicate alert deliveries the server sent (same id; the overlay drops them) | ${chaos.duplicateAlertDeliveriesSent} |`,
			`| client retries (same Idempotency-Key / same payment) | ${chaos.clientRetries} |`,
			"",
			`Result: **${chaos.pass ? "pass" : "fail"}**.`,
			"",
		);
	}
	const fuzz = read("fuzz");
	if (fuzz?.rest) {
		out.push(
			"### Fuzzing",
			"",
			`\`npm run fuzz\` of ${fuzz.at.slice(0, 16).replace("T", " ")} UTC (seed ${fuzz.seed}): **${fuzz.rest.requests.toLocaleString("en")}** hostile REST requests over ${fuzz.rest.operations} operations and **${fuzz.socket.events.toLocaleString("en")}** hostile Socket.IO events (+ ${fuzz.socket.handshakes} hostile handshakes) in ${fuzz.durationSec} s.`,
			"",
			`Responses ≥ 500: **${fuzz.rest.responses5xxOrNone}**; error-shape violations: **${fuzz.rest.errorShapeViolations}**; socket problems: **${fuzz.socket.problems}**; crashes: **${fuzz.crashes}**; \`/health\` afterwards: ${fuzz.healthAfter}.`,
			"",
			`Statuses: ${Object.entries(fuzz.rest.byStatus)
				.map(([k, n]) => `${k}: ${n}`)
				.join(", ")}. Request kinds: ${Object.entries(fuzz.rest.byKind)
				.map(([k, n]) => `${k}: ${n}`)
				.join(", ")}. Socket acks: ${Object.entries(fuzz.socket.acks)
				.map(([k, n]) => `${k}: ${n}`)
				.join(", ")}.`,
			"",
		);
	}
	return out.join("\n");
}

/** One row per target for the README: the figure, what it is compared with, and the verdict. */
export function renderSummary(): string {
	const rows: string[] = [];
	const rest = read("rest");
	if (rest?.mediashar && rest.trivial) {
		rows.push(
			`| REST: authenticated cached \`GET /api/users/:username\` ≥ 75% of moleculer-web's trivial route, p99 ≤ 1.5×, ≥ an Express peer | ${v(rest.mediashar.rps)} req/s = **${pct(rest.ratio)}**, p99 **${v(rest.p99Ratio)}×**, **${v(rest.vsExpress)}×** Express | moleculer-web + trivial action ${v(rest.trivial.rps)} req/s (p99 ${v(rest.trivial.latencyMs.p99)} ms); Express + jsonwebtoken + express-rate-limit + lru-cache ${v(rest.express.rps)} req/s; bare \`node:http\` ${v(rest.baseline.rps)} req/s | ${ok(rest.pass)} | ${day(rest)} |`,
		);
	}
	const p = read("pipeline");
	if (p?.mediashar) {
		rows.push(
			`| Donation pipeline, embedded: ≥ 300 donations/s; settled → alert p99 ≤ 50 ms at 100/s | **${v(p.mediashar.throughput.donationsPerSec)}/s**; p99 **${v(p.mediashar.latency.settledToAlertMs.p99)} ms** | bare http + Socket.IO ${v(p.baseline.throughput.donationsPerSec)}/s, p99 ${v(p.baseline.latency.settledToAlertMs.p99)} ms | ${ok(p.pass)} | ${day(p)} |`,
		);
	}
	for (const [name, where] of [
		["pipeline-cluster", "NeDB files"],
		["pipeline-cluster-pg", "PostgreSQL"],
	] as const) {
		const pc = read(name);
		if (!pc?.latency) continue;
		rows.push(
			`| Donation pipeline, 3-process NATS cluster (${where}): p99 ≤ 100 ms at 100/s | p99 **${v(pc.latency.settledToAlertMs.p99)} ms** (p50 ${v(pc.latency.settledToAlertMs.p50)} ms), ${v(pc.throughput.donationsPerSec)} donations/s closed loop | — | ${ok(pc.pass)} | ${day(pc)} |`,
		);
	}
	const c = read("chat");
	if (c?.mediashar) {
		rows.push(
			`| Chat fan-out to ${v(c.setup.listeners)} sockets: ≥ 70% of bare Socket.IO msg/s, p99 ≤ 1.5× | **${pct(c.throughputRatio)}**, p99 **${v(c.p99Ratio)}×** (${v(c.mediashar.msgsPerSec)} msg/s, p99 ${v(c.mediashar.latencyMs.p99)} ms) | bare Socket.IO ${v(c.baseline.msgsPerSec)} msg/s, p99 ${v(c.baseline.latencyMs.p99)} ms | ${ok(c.pass)} | ${day(c)} |`,
		);
	}
	const mem = read("memory");
	if (mem?.mediashar)
		rows.push(
			`| Gateway heap per idle socket at ${v(mem.mediashar.sockets)} sockets ≤ 20 KB | **${v(mem.kbPerSocket)} KB** | bare Socket.IO ${v(mem.baselineKbPerSocket)} KB | ${ok(mem.pass)} | ${day(mem)} |`,
		);
	for (const [name, where] of [
		["growth", ""],
		["growth-pg", " on PostgreSQL"],
	] as const) {
		const g = read(name);
		if (!g?.rows) continue;
		const judged = g.rows.filter((r: any) => !r.informative);
		const worst = judged.reduce((a: any, b: any) => (b.ratioP50 > a.ratioP50 ? b : a), judged[0]);
		rows.push(
			`| Reads at ${g.sizes.large.donations.toLocaleString("en")} rows${where} within 2× of ${g.sizes.small.donations.toLocaleString("en")} | worst **${v(worst?.ratioP50)}×** (${v(worst?.read)}) | the same reads at ${g.sizes.small.donations.toLocaleString("en")} rows | ${ok(g.pass)} | ${day(g)} |`,
		);
	}
	const sr = read("search");
	if (sr?.large)
		rows.push(
			`| Creator search p99 at ${sr.sizes.large.creators.toLocaleString("en")} creators < 20 ms and ≤ 2× of ${sr.sizes.small.creators.toLocaleString("en")} | p99 **${v(sr.large.latencyMs.p99)} ms** (**${v(sr.ratioP99)}×**); ${v(sr.sizes.large.indexBytesPerCreator)} B per creator; rebuild ${v(sr.sizes.large.rebuildSec)} s | p99 ${v(sr.small.latencyMs.p99)} ms at ${sr.sizes.small.creators.toLocaleString("en")} | ${ok(sr.pass)} | ${day(sr)} |`,
		);
	const chaos = read("chaos");
	if (chaos?.figures) {
		const f = chaos.figures;
		const pf = chaos.payoutFigures;
		const payoutPart = pf
			? `; ${v(chaos.payouts.requested)} payouts: stuck ${pf.payoutsStuck}, ledger − (requested − reversed) ${pf.payoutDebitsMinusNetRequested}, paid twice ${pf.payoutsPaidTwice}, below zero ${pf.balancesBelowZero}, reversed twice ${pf.reversalsWrittenTwice}`
			: "";
		rows.push(
			`| Chaos: ${v(chaos.created)} donations${pf ? ` and ${v(chaos.payouts.requested)} payouts` : ""}, ${v(chaos.kills)} SIGKILLs${chaos.postgresRestarts?.length ? `, ${chaos.postgresRestarts.length} PostgreSQL restart` : ""}: nothing lost, paid twice or alerted twice | lost ${f.paidDonationsLost}, paid twice ${f.donationsPaidTwice}, ledger − paid ${f.ledgerCreditsMinusPaid}, never alerted ${f.paidNeverAlerted}, shown twice ${f.alertsShownTwiceAfterDedupe}${payoutPart} | all must be 0 | ${chaos.pass ? "**met**" : "**missed**"} | ${day(chaos)} |`,
		);
	}
	const fuzz = read("fuzz");
	if (fuzz?.rest) {
		rows.push(
			`| Fuzzing: ${fuzz.rest.requests.toLocaleString("en")} hostile REST requests and ${fuzz.socket.events.toLocaleString("en")} socket events | responses ≥ 500: **${fuzz.rest.responses5xxOrNone}**, shape violations ${fuzz.rest.errorShapeViolations}, crashes ${fuzz.crashes} | all must be 0 | ${fuzz.rest.responses5xxOrNone === 0 && fuzz.rest.errorShapeViolations === 0 && fuzz.crashes === 0 && fuzz.socket.problems === 0 ? "**met**" : "**missed**"} | ${day(fuzz)} |`,
		);
	}
	const machine = (rest ?? p ?? c)?.machine;
	return [
		"| target | MediaShar | compared with (same run) | result | measured |",
		"|---|---|---|---|---|",
		...rows,
		"",
		machine
			? `Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memoryGb} GB RAM, Node ${machine.node}, ${machine.platform}; load generator on the same machine, loopback only.`
			: "",
	].join("\n");
}

function replaceBetween(file: string, name: string, content: string) {
	const doc = fs.readFileSync(file, "utf8");
	const start = `<!-- ${name}:start -->`;
	const end = `<!-- ${name}:end -->`;
	const i = doc.indexOf(start);
	const j = doc.indexOf(end);
	if (i < 0 || j < i) throw new Error(`${file} lacks the ${start} / ${end} markers`);
	fs.writeFileSync(file, `${doc.slice(0, i + start.length)}\n\n${content}\n${doc.slice(j)}`);
}

export function writeReport() {
	replaceBetween(DOC, "figures", renderFigures());
	replaceBetween(README, "figures", renderSummary());
}

if (require.main === module) writeReport();
