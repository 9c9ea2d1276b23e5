import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Shared helpers of the benchmark, chaos and fuzz runners: processes, load, statistics, output. */

export const ROOT = path.resolve(__dirname, "..");
export const RESULTS = path.join(ROOT, "bench", "results");
export const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";

export function machine() {
	const cpus = os.cpus();
	return {
		nproc: Number(execFileSync("nproc").toString().trim()),
		cpuModel: cpus[0]?.model ?? "unknown",
		memoryGb: Math.round(os.totalmem() / 2 ** 30),
		node: process.version,
		platform: `${os.type()} ${os.release()}`,
	};
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(sorted: number[], p: number): number {
	if (sorted.length === 0) return NaN;
	const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[i];
}

export function summarize(samples: number[]) {
	const s = Float64Array.from(samples).sort();
	const arr = Array.from(s);
	const mean = arr.reduce((a, b) => a + b, 0) / (arr.length || 1);
	return {
		count: arr.length,
		mean: round(mean),
		p50: round(percentile(arr, 50)),
		p90: round(percentile(arr, 90)),
		p99: round(percentile(arr, 99)),
		max: round(arr[arr.length - 1] ?? NaN),
	};
}

export const round = (n: number, d = 2) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : n);

// ---------- child processes ----------

export interface Child {
	proc: ChildProcess;
	info: any;
	/** Sends a command over IPC and resolves with the reply. */
	ask<T = any>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
	stop(): Promise<void>;
	output(): string;
}

/**
 * Starts `bench/<script>` under tsx as its own process (its own core and heap, like a real
 * deployment) and resolves with the JSON it sends as its first IPC message ({ready: ...}).
 */
export function startChild(script: string, env: Record<string, string | undefined> = {}, nodeArgs: string[] = []): Promise<Child> {
	// BENCH_PROFILE_DIR=dir: every MediaShar server process writes a V8 CPU profile there when it stops.
	const profile =
		process.env.BENCH_PROFILE_DIR && script.includes("mediashar") ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(process.env.BENCH_PROFILE_DIR)}`] : [];
	const proc = spawn(process.execPath, [...nodeArgs, ...profile, "--import", "tsx", path.join(ROOT, "bench", script)], {
		cwd: ROOT,
		env: { ...process.env, LOG_LEVEL: "warn", ...env },
		stdio: ["ignore", "pipe", "pipe", "ipc"],
	});
	let out = "";
	proc.stdout!.on("data", (c) => (out = (out + c).slice(-20_000)));
	proc.stderr!.on("data", (c) => (out = (out + c).slice(-20_000)));
	let seq = 0;
	const waiting = new Map<number, (v: any) => void>();
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			proc.kill("SIGKILL");
			reject(new Error(`${script} did not start:\n${out}`));
		}, 120_000);
		proc.once("exit", (code) => {
			clearTimeout(timer);
			for (const w of waiting.values()) w({ error: `exited ${code}` });
			reject(new Error(`${script} exited with ${code}:\n${out}`));
		});
		proc.on("message", (msg: any) => {
			if (msg?.ready !== undefined) {
				clearTimeout(timer);
				resolve(child(msg.ready));
			} else if (msg?.reply !== undefined) {
				waiting.get(msg.reply)?.(msg.value);
				waiting.delete(msg.reply);
			}
		});
	});
	function child(info: any): Child {
		return {
			proc,
			info,
			ask(cmd, args, timeoutMs = 600_000) {
				const id = ++seq;
				return new Promise((res, rej) => {
					const t = setTimeout(() => rej(new Error(`${script}: ${cmd} timed out`)), timeoutMs);
					waiting.set(id, (v) => {
						clearTimeout(t);
						if (v && typeof v === "object" && "error" in v && Object.keys(v).length === 1) rej(new Error(`${script}: ${cmd}: ${v.error}`));
						else res(v);
					});
					proc.send({ cmd, args, id });
				});
			},
			async stop() {
				if (proc.exitCode !== null || proc.signalCode !== null) return;
				const gone = new Promise((r) => proc.once("exit", r));
				proc.kill("SIGTERM");
				await Promise.race([gone, sleep(8000)]);
				if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
			},
			output: () => out,
		};
	}
}

/** Inside a child: answer IPC commands with the given handlers, after sending {ready}. */
export function serveChild(ready: unknown, handlers: Record<string, (args: any) => unknown>) {
	process.on("message", async (msg: any) => {
		if (!msg || typeof msg.cmd !== "string") return;
		let value: unknown;
		try {
			const h = handlers[msg.cmd];
			if (!h) throw new Error(`unknown command ${msg.cmd}`);
			value = await h(msg.args);
		} catch (err) {
			value = { error: (err as Error).message };
		}
		process.send!({ reply: msg.id, value: value ?? null });
	});
	process.send!({ ready });
}

/** Heap in use after a full collection (needs --expose-gc). */
export function settledHeap(): number {
	const gc = (globalThis as any).gc as (() => void) | undefined;
	if (gc) {
		gc();
		gc();
	}
	return process.memoryUsage().heapUsed;
}

// ---------- HTTP load with wrk ----------

export interface WrkResult {
	rps: number;
	requests: number;
	errors: number;
	non2xx: number;
	latencyMs: { p50: number; p90: number; p99: number };
}

function toMs(v: string): number {
	const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
	if (!m) return NaN;
	const n = Number(m[1]);
	return m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : m[2] === "s" ? n * 1000 : n * 60_000;
}

/** Runs wrk (Debian package) against a loopback URL; one thread, `connections` keep-alive connections. */
export function wrk(url: string, opts: { connections: number; seconds: number; headers?: Record<string, string> }): Promise<WrkResult> {
	const args = ["-t1", `-c${opts.connections}`, `-d${opts.seconds}s`, "--latency", "--timeout", "5s"];
	for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
	args.push(url);
	return new Promise((resolve, reject) => {
		const p = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
		let out = "";
		p.stdout.on("data", (c) => (out += c));
		p.stderr.on("data", (c) => (out += c));
		p.once("error", reject);
		p.once("exit", (code) => {
			if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
			const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
			const lat = (pct: string) => toMs(new RegExp(`^\\s+${pct}%\\s+(\\S+)`, "m").exec(out)?.[1] ?? "NaN");
			const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
			resolve({
				rps: num(/Requests\/sec:\s+([\d.]+)/),
				requests: num(/(\d+) requests in/),
				errors: errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
				non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
				latencyMs: { p50: lat("50"), p90: lat("90"), p99: lat("99") },
			});
		});
	});
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
export function cpuTimeMs(pid: number): number {
	const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
	const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
	// fields[11], fields[12]: utime, stime in clock ticks (the 14th and 15th fields of the line)
	return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = (() => {
	try {
		return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
	} catch {
		return 100;
	}
})();

/**
 * wrk against one server, plus the server's CPU time per answered request (µs): less sensitive
 * than req/s to what else runs on a shared machine, so small differences stay visible.
 */
export async function wrkWithCpu(
	pid: number,
	url: string,
	opts: { connections: number; seconds: number; headers?: Record<string, string> },
): Promise<WrkResult & { cpuUsPerRequest: number }> {
	const before = cpuTimeMs(pid);
	const w = await wrk(url, opts);
	const cpu = cpuTimeMs(pid) - before;
	return { ...w, cpuUsPerRequest: w.requests > 0 ? round((cpu * 1000) / w.requests, 1) : NaN };
}

// ---------- output ----------

export interface Bar {
	label: string;
	value: number;
	/** The baseline bar is drawn grey. */
	baseline?: boolean;
}

/** A small horizontal bar chart as standalone SVG (no dependencies). */
export function barChart(title: string, unit: string, groups: { name: string; bars: Bar[] }[]): string {
	const rowH = 26;
	const left = 250;
	const width = 760;
	const rows = groups.reduce((n, g) => n + g.bars.length + 1, 0);
	const height = 50 + rows * rowH;
	const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
	const parts: string[] = [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
		`<rect width="100%" height="100%" fill="#fff"/>`,
		`<text x="12" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
	];
	let y = 44;
	for (const g of groups) {
		const max = Math.max(...g.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)), 1e-9);
		parts.push(`<text x="12" y="${y + 14}" font-weight="bold">${esc(g.name)}</text>`);
		y += rowH;
		for (const b of g.bars) {
			const w = Number.isFinite(b.value) ? Math.max(1, ((width - left - 110) * b.value) / max) : 0;
			parts.push(`<text x="24" y="${y + 14}">${esc(b.label)}</text>`);
			parts.push(`<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${b.baseline ? "#9aa0a6" : "#e8590c"}"/>`);
			parts.push(`<text x="${left + w + 6}" y="${y + 14}">${esc(`${round(b.value)} ${unit}`)}</text>`);
			y += rowH;
		}
	}
	parts.push("</svg>");
	return parts.join("\n");
}

/**
 * Writes bench/results/<name>.json (and .svg when a chart is given); returns the JSON path.
 * Quick runs write under bench/results/quick/ so they never stand in for full figures.
 */
export function writeResult(name: string, data: unknown, svg?: string): string {
	const dir = QUICK ? path.join(RESULTS, "quick") : RESULTS;
	fs.mkdirSync(dir, { recursive: true });
	const file = path.join(dir, `${name}.json`);
	// Each scenario's file says when and where it was measured: runs of some scenarios only
	// (BENCH_ONLY) leave the others' figures from earlier runs.
	const stamped = data && typeof data === "object" && !Array.isArray(data) ? { measuredAt: new Date().toISOString(), machine: machine(), ...data } : data;
	fs.writeFileSync(file, JSON.stringify(stamped, null, 2) + "\n");
	if (svg) fs.writeFileSync(path.join(dir, `${name}.svg`), svg + "\n");
	return file;
}

export function verdict(ok: boolean) {
	return ok ? "PASS" : "MISS";
}

// ---------- MediaShar under load ----------

/** What the REST cost table switches off, one at a time (bench/servers/trivial-web.ts TRIVIAL_OFF). */
export const REST_PIECES = {
	metrics: "Moleculer metrics (request counters, time histograms, levels)",
	productMetrics: "product metrics middleware (rate-limit refusals, gauges)",
	requestContext: "request context (request id in log lines, AsyncLocalStorage)",
	strictParams: "strict params (unknown fields refused, per-field details)",
	validator: "params validation (fastest-validator)",
	circuitBreaker: "circuit breaker",
	retry: "retry policy",
	timeout: "request timeout",
	bulkhead: "bulkhead",
	tracking: "context tracking (graceful shutdown)",
	tracing: "tracing middleware (exporter off by default)",
	channels: "channels middleware",
	hooks: "gateway hooks (request id, meta, status, error shape)",
} as const;
export type RestPiece = keyof typeof REST_PIECES;

export interface ScenarioResult {
	scenario: string;
	target: string;
	pass: boolean | null;
	[k: string]: unknown;
}

export function tmpDataDir(tag: string): string {
	return fs.mkdtempSync(path.join(os.tmpdir(), `mediashar-bench-${tag}-`));
}

/** Env for a MediaShar process under load: limits that would throttle the load generator are lifted. */
export function benchEnv(tag: string, extra: Record<string, string> = {}): Record<string, string> {
	return {
		NODE_ENV: "development",
		DATA_DIR: tmpDataDir(tag),
		LOG_LEVEL: "warn",
		RATE_LIMIT_IP_PER_MIN: "1000000000",
		RATE_LIMIT_USER_PER_MIN: "1000000000",
		// Every load-generator socket comes from 127.0.0.1.
		SOCKET_MAX_PER_IP: "1000000000",
		SOCKET_HANDSHAKES_PER_IP_PER_MIN: "1000000000",
		SCRYPT_COST: "1024",
		...extra,
	};
}

export async function registerAndSignIn(base: string, username: string) {
	const res = await fetch(`${base}/api/auth/register`, {
		method: "POST",
		headers: { "Content-Type": "application/json" },
		body: JSON.stringify({ username, email: `${username}@example.test`, password: "correct horse battery", displayName: username }),
	});
	const body: any = await res.json();
	if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(body)}`);
	return { id: body.user.id as string, username, token: body.accessToken as string };
}
