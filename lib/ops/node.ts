import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";

/**
 * Starting a MediaShar node from TypeScript sources (tsx): all services in one process (the
 * embedded default, as `npm start` runs them) or an empty node that joins a running cluster.
 * Used by scripts/repl.ts, scripts/dev.ts and scripts/demo.ts.
 */

export interface StartOptions {
	/** Directory holding NAME.service.ts files. */
	servicesDir: string;
	/** Load every service (embedded); false → join the cluster with no services of its own. */
	withServices: boolean;
	/** Reload a service when its file (or a file it imports) changes. */
	hotReload?: boolean;
	nodeID?: string;
	overrides?: Partial<BrokerOptions>;
}

export function serviceFiles(dir: string): string[] {
	return fs
		.readdirSync(dir)
		.filter((f) => /\.service\.(ts|js)$/.test(f))
		.sort()
		.map((f) => path.join(dir, f));
}

export async function startNode(config: BrokerOptions, opts: StartOptions): Promise<ServiceBroker> {
	const broker = new ServiceBroker({
		...config,
		...(opts.nodeID ? { nodeID: opts.nodeID } : {}),
		hotReload: !!opts.hotReload,
		...(opts.overrides ?? {}),
	});
	if (opts.withServices) {
		if (opts.hotReload) {
			// loadService keeps the file name, which hot reload needs to find what changed.
			for (const file of serviceFiles(opts.servicesDir)) broker.loadService(file);
		} else {
			for (const file of serviceFiles(opts.servicesDir)) {
				// eslint-disable-next-line @typescript-eslint/no-require-imports
				const mod = require(file);
				broker.createService((mod.default ?? mod) as ServiceSchema);
			}
		}
	}
	await broker.start();
	return broker;
}

/** A node id for an operator's REPL: recognisable in `nodes` and never clashing with a service node. */
export function replNodeId(): string {
	return `repl-${os.hostname()}-${process.pid}`;
}
