import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import config from "../../moleculer.config";
import { serveChild, settledHeap } from "../lib";
import { serviceFiles } from "../../lib/ops/service-files";
import { costMiddleware, startCost, stopCost } from "../cost-sheet";

/**
 * MediaShar as `npm start` runs it (embedded default: one process, no transporter, NeDB files
 * under DATA_DIR, the configured cacher, metrics on), on an ephemeral loopback port.
 * BENCH_SERVICES=users,chat limits the services (the gateway is always loaded). BENCH_COST=1 adds
 * the cost sheet's counters and profiler (bench/cost-sheet.ts; commands costStart / costStop).
 */

const ROOT = path.resolve(__dirname, "../..");

async function main() {
	const names = (process.env.BENCH_SERVICES || "")
		.split(",")
		.map((s) => s.trim())
		.filter(Boolean);
	const files = serviceFiles(path.join(ROOT, "services"));
	const all = [...files.keys()].filter((n) => n !== "api");
	const cost = process.env.BENCH_COST === "1";
	const broker = new ServiceBroker({
		...config,
		nodeID: `bench-${process.pid}`,
		...(cost ? { middlewares: [...(config.middlewares ?? []), costMiddleware()] } : {}),
	});
	for (const name of names.length ? names.filter((n) => n !== "api") : all) {
		broker.createService((await import(files.get(name)!)).default);
	}
	const api = (await import(files.get("api")!)).default as ServiceSchema;
	broker.createService({ mixins: [api], name: "api", settings: { port: 0, ip: "127.0.0.1" } } as ServiceSchema);
	await broker.start();
	const svc = broker.getLocalService("api") as any;
	for (const route of svc.routes) if (route.opts.autoAliases) svc.regenerateAutoAliases(route);
	const port = svc.server.address().port;
	const stop = async () => {
		await broker.stop().catch(() => undefined);
		process.exit(0);
	};
	process.once("SIGTERM", stop);
	process.once("disconnect", stop);
	// Event-loop delay since the last `loopDelay` question (ms), for scenarios that load the node with other work.
	const loop = monitorEventLoopDelay({ resolution: 5 });
	loop.enable();
	serveChild(
		{ port, url: `http://127.0.0.1:${port}`, pid: process.pid },
		{
			heap: () => ({ heapUsed: settledHeap(), sockets: svc.hub?.io?.engine?.clientsCount ?? null }),
			loopDelay: () => {
				const out = { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 };
				loop.reset();
				return out;
			},
			...(cost ? { costStart: () => startCost(), costStop: () => stopCost() } : {}),
		},
	);
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
