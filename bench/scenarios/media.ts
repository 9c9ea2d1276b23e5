import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import {
	QUICK,
	barChart,
	benchEnv,
	registerAndSignIn,
	round,
	sleep,
	startChild,
	summarize,
	verdict,
	wrk,
	writeResult,
	type Child,
	type ScenarioResult,
} from "../lib";
import { FsMediaStore, type MediaStore } from "../../lib/media/store";
import { NatsMediaStore } from "../../lib/media/nats-store";
import { startNatsServer, type NatsServer } from "../../test/support/nats";
import { bigPng } from "../../test/support/media-files";

/**
 * The media library (issue 14's bench rows):
 * - Upload: 5 MB images POSTed one after another through the gateway (multipart, as a browser
 *   sends them): MB/s, and how far the gateway's resident memory rises above where it started
 *   (target: ≥ 50 MB/s, and less than 2× the file size).
 * - Uploads beside reads: the p99 of authenticated cached REST reads (GET /api/users/:username) at
 *   a steady 200/s, alone, then while 20 uploads run at once without pause (target: at most 2×).
 * - Serving: one cached 1 MB file with `Range` requests (target: ≥ 500 req/s), from the files
 *   store (the embedded default) and from the NATS Object Store.
 * - Stores side by side (no gateway): 1 MB put and get through the MediaStore interface, a plain
 *   folder (what a shared volume is to each node) against the JetStream Object Store.
 */

const MB = 1024 * 1024;

/** One multipart POST /api/media, written as a single body (the client's cost kept low): its status and JSON answer. */
export function uploadFile(base: string, token: string, data: Buffer, name: string, agent: http.Agent): Promise<{ status: number; body: string }> {
	const boundary = `----mediashar${Math.random().toString(16).slice(2)}`;
	const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: image/png\r\n\r\n`);
	const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
	return new Promise((resolve, reject) => {
		const req = http.request(
			new URL("/api/media", base),
			{
				method: "POST",
				agent,
				headers: {
					Authorization: `Bearer ${token}`,
					"Content-Type": `multipart/form-data; boundary=${boundary}`,
					"Content-Length": head.length + data.length + tail.length,
				},
			},
			(res) => {
				let body = "";
				res.on("data", (c) => (body += c));
				res.once("end", () => resolve({ status: res.statusCode ?? 0, body }));
			},
		);
		req.once("error", reject);
		req.write(head);
		req.write(data);
		req.end(tail);
	});
}

/** The status of one upload. */
export async function upload(base: string, token: string, data: Buffer, name: string, agent: http.Agent): Promise<number> {
	return (await uploadFile(base, token, data, name, agent)).status;
}

/** Resident memory of a process (Linux /proc), bytes. */
function rss(pid: number): number {
	const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
	return m ? Number(m[1]) * 1024 : NaN;
}

/** Distinct images of about `bytes` each (distinct bytes: content addressing would store one copy only). */
export function images(n: number, bytes: number, seed: number): Buffer[] {
	return Array.from({ length: n }, (_, i) => bigPng(bytes, seed + i));
}

async function uploadThroughput(ms: Child, token: string) {
	const count = QUICK ? 6 : 20;
	const files = images(count, 5 * MB, 1000);
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	// Warm-up to a steady state: first use of the upload path (JIT, the store's folders, V8's young
	// generation grown to its working size), with two uploads of the same size.
	for (const [i, warm] of images(2, 5 * MB, 900).entries()) {
		if ((await upload(ms.info.url, token, warm, `warm${i}.png`, agent)) !== 201) throw new Error("warm-up upload refused");
	}
	await sleep(300);
	const before = rss(ms.proc.pid!);
	let peak = before;
	const sampler = setInterval(() => (peak = Math.max(peak, rss(ms.proc.pid!))), 10);
	const t0 = performance.now();
	let bytes = 0;
	for (let i = 0; i < count; i++) {
		const status = await upload(ms.info.url, token, files[i], `big${i}.png`, agent);
		if (status !== 201) throw new Error(`upload ${i} answered ${status}`);
		bytes += files[i].length;
	}
	const sec = (performance.now() - t0) / 1000;
	clearInterval(sampler);
	peak = Math.max(peak, rss(ms.proc.pid!));
	agent.destroy();
	const fileMb = files[0].length / MB;
	return {
		uploads: count,
		fileMb: round(fileMb, 2),
		mbPerSec: round(bytes / MB / sec, 1),
		rssBeforeMb: round(before / MB, 1),
		rssPeakMb: round(peak / MB, 1),
		rssGrowthMb: round((peak - before) / MB, 1),
		rssGrowthPerFile: round((peak - before) / files[0].length, 2),
	};
}

/**
 * Reads at a steady rate (an open loop, as viewers arrive: a slow answer does not slow the next
 * request down), each one's latency recorded. A closed loop (wrk) would measure a saturated
 * node instead, where any other work at all raises every latency.
 */
async function pacedReads(url: string, headers: Record<string, string>, rps: number, seconds: number) {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
	const latencies: number[] = [];
	let failed = 0;
	const pending: Promise<void>[] = [];
	const t0 = performance.now();
	for (let i = 0; i < rps * seconds; i++) {
		const due = t0 + (i * 1000) / rps;
		const wait = due - performance.now();
		if (wait > 1) await sleep(wait);
		pending.push(
			new Promise<void>((resolve) => {
				const s = performance.now();
				const req = http.get(url, { agent, headers }, (res) => {
					res.resume();
					res.once("end", () => {
						if (res.statusCode === 200) latencies.push(performance.now() - s);
						else failed++;
						resolve();
					});
				});
				req.once("error", () => {
					failed++;
					resolve();
				});
			}),
		);
	}
	await Promise.all(pending);
	agent.destroy();
	return { ...summarize(latencies), failed };
}

export async function readsBesideUploads(ms: Child, token: string, username: string) {
	const seconds = QUICK ? 5 : 15;
	const rps = 200;
	const url = `${ms.info.url}/api/users/${username}`;
	const headers = { Authorization: `Bearer ${token}` };
	await pacedReads(url, headers, rps, 1);
	await ms.ask("loopDelay");
	const alone = await pacedReads(url, headers, rps, seconds);
	const loopAlone = (await ms.ask("loopDelay")) as { p50Ms: number; p99Ms: number; maxMs: number };
	// The uploads come from a process of their own, so the reader's timings are not its event loop's.
	const uploader = await startChild("servers/media-uploader.ts");
	let busy: Awaited<ReturnType<typeof pacedReads>>;
	let done: { uploads: number; bytes: number };
	let loopBusy: { p50Ms: number; p99Ms: number; maxMs: number };
	try {
		const running = uploader.ask("upload", { url: ms.info.url, token, concurrency: 20, bytes: MB, seconds: seconds + 1 });
		await sleep(1000);
		await ms.ask("loopDelay");
		busy = await pacedReads(url, headers, rps, seconds);
		loopBusy = (await ms.ask("loopDelay")) as { p50Ms: number; p99Ms: number; maxMs: number };
		done = (await running) as { uploads: number; bytes: number };
	} finally {
		await uploader.stop();
	}
	const { uploads, bytes } = done;
	return {
		readsPerSec: rps,
		aloneP50Ms: alone.p50,
		aloneP99Ms: alone.p99,
		withUploadsP50Ms: busy.p50,
		withUploadsP99Ms: busy.p99,
		p99Ratio: round(busy.p99 / alone.p99, 2),
		uploadsDone: uploads,
		uploadMbPerSec: round(bytes / MB / (seconds + 1), 1),
		failedReads: alone.failed + busy.failed,
		eventLoopDelayAlone: loopAlone,
		eventLoopDelayWithUploads: loopBusy,
	};
}

async function serving(ms: Child, token: string) {
	const seconds = QUICK ? 3 : 10;
	const agent = new http.Agent({ keepAlive: true });
	const file = bigPng(MB, 9000);
	const answer = await uploadFile(ms.info.url, token, file, "serve.png", agent);
	if (answer.status !== 201) throw new Error(`serve upload ${answer.status} ${answer.body}`);
	const form = JSON.parse(answer.body).url as string;
	agent.destroy();
	const url = ms.info.url + form;
	const headers = { Range: "bytes=0-1048575" };
	await wrk(url, { connections: 8, seconds: 1, headers });
	const full = await wrk(url, { connections: 8, seconds, headers });
	const part = await wrk(url, { connections: 8, seconds, headers: { Range: "bytes=65536-131071" } });
	if (full.non2xx || part.non2xx) throw new Error(`serving answered non-2xx: ${full.non2xx + part.non2xx}`);
	return {
		fileBytes: file.length,
		range1MbRps: Math.round(full.rps),
		range1MbP99Ms: full.latencyMs.p99,
		range64KbRps: Math.round(part.rps),
		range64KbP99Ms: part.latencyMs.p99,
	};
}

/** put and get of 1 MB objects straight through a MediaStore. */
async function storeRound(store: MediaStore) {
	const n = QUICK ? 20 : 100;
	const blobs = images(n, MB, 20000);
	const t0 = performance.now();
	const keys: string[] = [];
	for (const b of blobs) keys.push((await store.putBytes(b, (h) => `${h}.png`)).key);
	const putMs = performance.now() - t0;
	const gets: number[] = [];
	for (let round_ = 0; round_ < 3; round_++) {
		for (const k of keys) {
			const s = performance.now();
			const body = await store.get(k);
			for await (const _chunk of body!) void _chunk;
			gets.push(performance.now() - s);
		}
	}
	const range: number[] = [];
	for (const k of keys) {
		const s = performance.now();
		const body = await store.get(k, { start: 512 * 1024, end: 512 * 1024 + 65535 });
		for await (const _chunk of body!) void _chunk;
		range.push(performance.now() - s);
	}
	for (const k of keys) await store.delete(k);
	const g = summarize(gets);
	const r = summarize(range);
	return {
		objects: n,
		putMbPerSec: round(n / (putMs / 1000), 1),
		getP50Ms: round(g.p50, 2),
		getP99Ms: round(g.p99, 2),
		getMbPerSec: round(1000 / g.mean, 1),
		range64KbAtMiddleP50Ms: round(r.p50, 2),
	};
}

export async function mediaScenario(): Promise<ScenarioResult> {
	let nats: NatsServer | undefined;
	const children: Child[] = [];
	const dirs: string[] = [];
	try {
		nats = await startNatsServer({ jetstream: true });
		const env = (store: "fs" | "nats") =>
			benchEnv(`media-${store}`, {
				MEDIA_STORE: store,
				MEDIA_NATS_URL: nats!.url,
				MEDIA_BUCKET: "bench-media",
				MEDIA_QUOTA_BYTES: String(100_000 * MB),
				BENCH_SERVICES: "users,stats,media",
			});

		// The baseline: the same uploads into a bare node:http server that only streams them to a file.
		const base = await startChild("servers/baseline-upload.ts");
		children.push(base);
		const upBase = await uploadThroughput(base, "");
		await base.stop();
		console.log(
			`BASELINE bare node:http streaming to a file: ${upBase.mbPerSec} MB/s, RSS +${upBase.rssGrowthMb} MB = ${upBase.rssGrowthPerFile}× the file`,
		);

		// The embedded default: files under DATA_DIR/media.
		const ms = await startChild("servers/mediashar.ts", env("fs"));
		children.push(ms);
		const user = await registerAndSignIn(ms.info.url, "bench_media");
		const up = await uploadThroughput(ms, user.token);
		console.log(
			`UPLOAD   ${up.uploads} × ${up.fileMb} MB: ${up.mbPerSec} MB/s (target ≥ 50)  ${verdict(up.mbPerSec >= 50)}; gateway RSS +${up.rssGrowthMb} MB = ${up.rssGrowthPerFile}× the file (target < 2×)  ${verdict(up.rssGrowthPerFile < 2)}`,
		);
		const mixed = await readsBesideUploads(ms, user.token, user.username);
		console.log(
			`MIXED    REST reads at ${mixed.readsPerSec}/s: p99 ${mixed.aloneP99Ms} ms alone, ${mixed.withUploadsP99Ms} ms beside 20 concurrent uploads (${mixed.uploadMbPerSec} MB/s): ${mixed.p99Ratio}× (target ≤ 2×)  ${verdict(mixed.p99Ratio <= 2)}; event-loop delay p99 ${round(mixed.eventLoopDelayAlone.p99Ms, 1)} → ${round(mixed.eventLoopDelayWithUploads.p99Ms, 1)} ms`,
		);
		const serveFs = await serving(ms, user.token);
		console.log(
			`SERVE    files store: 1 MB Range ${serveFs.range1MbRps} req/s (target ≥ 500)  ${verdict(serveFs.range1MbRps >= 500)}; 64 KB Range ${serveFs.range64KbRps} req/s`,
		);
		await ms.stop();

		const msNats = await startChild("servers/mediashar.ts", env("nats"));
		children.push(msNats);
		const user2 = await registerAndSignIn(msNats.info.url, "bench_media_nats");
		const upNats = await uploadThroughput(msNats, user2.token);
		const serveNats = await serving(msNats, user2.token);
		console.log(
			`NATS     Object Store: upload ${upNats.mbPerSec} MB/s, RSS +${upNats.rssGrowthMb} MB; 1 MB Range ${serveNats.range1MbRps} req/s, 64 KB Range ${serveNats.range64KbRps} req/s`,
		);
		await msNats.stop();

		const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-bench-store-"));
		dirs.push(dir);
		const folder = await new FsMediaStore(dir).init();
		const folderStore = await storeRound(folder);
		await folder.close();
		const objectStore = await new NatsMediaStore({ url: nats.url, bucket: "bench-store", replicas: 1, spoolDir: path.join(dir, "spool") }).init();
		const natsStore = await storeRound(objectStore);
		await objectStore.close();
		console.log(
			`STORES   1 MB objects: folder put ${folderStore.putMbPerSec} MB/s, get p50 ${folderStore.getP50Ms} ms; Object Store put ${natsStore.putMbPerSec} MB/s, get p50 ${natsStore.getP50Ms} ms`,
		);

		const pass = up.mbPerSec >= 50 && up.rssGrowthPerFile < 2 && mixed.p99Ratio <= 2 && serveFs.range1MbRps >= 500;
		const result: ScenarioResult = {
			scenario: "media",
			target: "5 MB upload ≥ 50 MB/s with gateway RSS growth < 2× the file; REST p99 beside 20 uploads ≤ 2× alone; 1 MB file with Range ≥ 500 req/s",
			pass: QUICK ? null : pass,
			upload: up,
			uploadBaseline: upBase,
			readsBesideUploads: mixed,
			serving: { fs: serveFs, nats: serveNats },
			uploadNats: upNats,
			stores: { folder: folderStore, natsObjectStore: natsStore },
		};
		writeResult(
			"media",
			result,
			barChart("Media library (higher is better)", "", [
				{
					name: "upload MB/s (5 MB images; target ≥ 50)",
					bars: [
						{ label: "bare node:http to a file", value: upBase.mbPerSec, baseline: true },
						{ label: "files store", value: up.mbPerSec },
						{ label: "NATS Object Store", value: upNats.mbPerSec },
					],
				},
				{
					name: "1 MB file with Range, req/s (target ≥ 500)",
					bars: [
						{ label: "target", value: 500, baseline: true },
						{ label: "files store", value: serveFs.range1MbRps },
						{ label: "NATS Object Store", value: serveNats.range1MbRps },
					],
				},
			]),
		);
		return result;
	} finally {
		for (const c of children) await c.stop();
		nats?.stop();
		for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
	}
}
