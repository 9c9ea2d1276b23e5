import path from "node:path";
import { ServiceBroker, type Service } from "moleculer";
import config from "../../moleculer.config";
import { creator, queries } from "../creators";
import { serveChild, settledHeap, summarize } from "../lib";
import { serviceFile } from "../../lib/ops/service-files";

/**
 * Creator search as the store grows. One broker (no gateway, cache off) with the users service on
 * the in-memory NeDB adapter and the search service; the users collection is seeded directly
 * (bench/creators.ts: synthetic Indonesian and English names and bios), then the search service
 * rebuilds its index from it through `users.directoryPage` exactly as at start, and
 * `search.creators` is timed through broker.call with viewer-like queries (a name's first
 * letters, a display name, a name one or two letters off, a bio word).
 */

const ROOT = path.resolve(__dirname, "../..");
const BATCH = 5_000;

const broker = new ServiceBroker({
	...config,
	nodeID: `search-bench-${process.pid}`,
	transporter: null,
	cacher: null,
	logger: { type: "Console", options: { level: "warn" } },
	metrics: false,
	middlewares: config.middlewares,
});
type SearchSvc = Service & { rebuild(): Promise<void>; index: { size: number }; rebuildMs: number | null };
let users: Service & { store: { adapter: { insertMany(docs: unknown[]): Promise<unknown> } } };
let search: SearchSvc;
let seeded = 0;

function userDoc(i: number) {
	const c = creator(i);
	const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
	return {
		_id: c.id,
		username: c.username,
		email: `${c.username}@example.test`,
		passwordHash: "scrypt$bench",
		displayName: c.displayName,
		bio: c.bio,
		avatarUrl: null,
		roles: ["user"],
		settings: {},
		overlayToken: `tok_${c.id}`,
		followerCount: c.followerCount,
		createdAt: at,
		updatedAt: at,
	};
}

/** Brings the users store to `size` accounts, rebuilds the index from it, and reports. */
async function seed(size: number) {
	for (let i = seeded; i < size; i += BATCH) {
		const n = Math.min(BATCH, size - i);
		await users.store.adapter.insertMany(Array.from({ length: n }, (_, k) => userDoc(i + k)));
	}
	seeded = Math.max(seeded, size);
	// The index of the smaller size is dropped first, so the heap difference is this index alone.
	(search as unknown as { index: unknown }).index = null;
	const before = settledHeap();
	const t = performance.now();
	await search.rebuild();
	const rebuildMs = performance.now() - t;
	const after = settledHeap();
	return {
		creators: search.index.size,
		rebuildSec: Math.round(rebuildMs / 100) / 10,
		indexBytesPerCreator: Math.round((after - before) / search.index.size),
		heapMb: Math.round(after / 2 ** 20),
	};
}

async function measure(iterations: number) {
	const qs = queries(seeded, iterations);
	const call = (q: string) => broker.call<{ items: { username: string }[] }, { q: string; limit: number }>("search.creators", { q, limit: 20 });
	// Warm-up: the same number of queries, not timed (the JIT and the caches of a running node).
	for (const q of queries(seeded, iterations, 7)) await call(q.q);
	const byKind: Record<string, number[]> = {};
	const all: number[] = [];
	// CPU time of each query too: on a shared machine the wall time also holds the moments the
	// process waited for a core, the CPU time only the work.
	const cpu: number[] = [];
	let typos = 0;
	let typoFound = 0;
	for (const q of qs) {
		const c0 = process.cpuUsage();
		const t = performance.now();
		const res = await call(q.q);
		const ms = performance.now() - t;
		const c = process.cpuUsage(c0);
		cpu.push((c.user + c.system) / 1000);
		all.push(ms);
		(byKind[q.kind] ??= []).push(ms);
		if (q.expect) {
			typos++;
			if (res.items.some((i) => i.username === q.expect)) typoFound++;
		}
	}
	return {
		latencyMs: summarize(all),
		cpuMs: summarize(cpu),
		byKind: Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, summarize(v)])),
		typoFoundShare: Math.round((typoFound / Math.max(1, typos)) * 1000) / 1000,
	};
}

async function main() {
	users = broker.createService((await import(serviceFile(path.join(ROOT, "services"), "users"))).default) as typeof users;
	search = broker.createService((await import(serviceFile(path.join(ROOT, "services"), "search"))).default) as unknown as SearchSvc;
	await broker.start();
	serveChild({ pid: process.pid }, { seed: (a: { size: number }) => seed(a.size), measure: (a: { iterations: number }) => measure(a.iterations) });
}

process.once("disconnect", () => process.exit(0));
main().catch((err) => {
	console.error(err);
	process.exit(1);
});
