import fs from "node:fs";
import path from "node:path";
import type { Context, ServiceBroker, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { serviceFiles } from "../../lib/ops/service-files";
import { circuitEntries, probe, readyReport, requiredServices, servicesReport, type Check, type ServiceEntry } from "../../lib/ops/health";
import { escapeLabelValue, renderPrometheus, type NodeMetrics } from "../../lib/ops/prometheus";
import { buildOpenApi, type RouteInfo, type ServiceInfo } from "../../lib/ops/openapi";
import { PROVIDER_NAMES } from "../../lib/payments/types";
import { dbConfig } from "../../lib/db/config";
import { pingPostgres } from "../../lib/db/postgres";
import { ROOT } from "../../lib/tools/paths";
import { notFound } from "../../lib/tools/errors";
import { storageError, storageFailure, storageWorked } from "../../lib/db/storage-health";
import { loadConfig } from "../../lib/config";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Operators' endpoints: cluster health (`/health/services`, `/health/ready`), Prometheus metrics
 * of every node (`/metrics`), and the OpenAPI document generated from the registry
 * (`/api/openapi.json`, rendered at `/api/docs` with swagger-ui served from node_modules).
 */

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta & { $responseType?: string; $responseHeaders?: Record<string, string> }>;

interface Local {
	version: string;
	assetCache: Map<string, Buffer>;
	/** HEALTH_REQUIRED_SERVICES as set (lib/config/ops.ts). */
	requiredSetting?: string;
}
interface Methods {
	servicesReport(): ReturnType<typeof servicesReport>;
	readinessChecks(): Promise<Check[]>;
	probeStorage(): string;
	probeDatabase(): Promise<string>;
	scrape(ctx: Ctx): Promise<string>;
	openApiDocument(): ReturnType<typeof buildOpenApi>;
	swaggerFile(file: string): Buffer;
}
type Settings = ServiceSettingSchema & { rest: string };

/** The broker internals the probes read (transit, channels adapter, circuit breakers): untyped in moleculer's API. */
interface BrokerInternals {
	started?: boolean;
	transit?: {
		connected: boolean;
		disconnecting: boolean;
		tx?: { constructor?: { name: string }; client?: { flush?: () => Promise<unknown>; isClosed?: () => boolean } };
	};
	channelAdapter?: { connected: boolean; constructor?: { name: string } };
	CircuitBreakerStore?: Parameters<typeof circuitEntries>[0];
	services: { store?: { count?: (q: Record<string, unknown>) => Promise<number> } }[];
}
const internals = (broker: ServiceBroker) => broker as unknown as BrokerInternals;

const SWAGGER_DIR = path.dirname(require.resolve("swagger-ui-dist/package.json"));
const SWAGGER_FILES: Record<string, string> = {
	"swagger-ui.css": "text/css; charset=utf-8",
	"swagger-ui-bundle.js": "application/javascript; charset=utf-8",
	"swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
	"favicon-32x32.png": "image/png",
	"favicon-16x16.png": "image/png",
};

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MediaShar API</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
</script>
</body>
</html>
`;

function packageVersion(): string {
	try {
		return JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version ?? "0.0.0";
	} catch {
		return "0.0.0";
	}
}

/** Service names whose code exists in this checkout (services/NAME.service.ts or dist). */
function existingServiceNames(): string[] {
	// services/<context>/NAME.service.{ts,js}: this file's folder is one context, its parent holds them all.
	const dir = path.join(__dirname, "..");
	try {
		const ext = __filename.endsWith(".js") ? ".service.js" : ".service.ts";
		return [...serviceFiles(dir, ext).keys()];
	} catch {
		return [];
	}
}

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "ops",
	settings: { rest: "/" },

	// services/ready/metrics have no `rest`: the gateway routes them at /health/* and /metrics (explicit
	// aliases need published actions, the default visibility).
	actions: {
		/** Every service with its nodes, availability and open circuits; 503 when a required one has no live node. */
		services: {
			handler(ctx: Ctx) {
				const report = this.servicesReport();
				if (report.status !== "ok") ctx.meta.$statusCode = 503;
				return report;
			},
		},

		/** Readiness: transporter connected, channels adapter connected, database reachable, storage taking writes. */
		ready: {
			async handler(ctx: Ctx) {
				const report = readyReport(this.broker.nodeID, await this.readinessChecks());
				if (report.status !== "ready") ctx.meta.$statusCode = 503;
				return report;
			},
		},

		/** Prometheus text of every live node's metrics registry. */
		metrics: {
			async handler(ctx: Ctx) {
				ctx.meta.$responseType = "text/plain; version=0.0.4; charset=utf-8";
				return this.scrape(ctx);
			},
		},

		/** OpenAPI 3.1 document of every REST endpoint, generated from the running actions. */
		openapi: {
			rest: "GET /openapi.json",
			handler() {
				return this.openApiDocument();
			},
		},

		/** Swagger UI page rendering /api/openapi.json. */
		docs: {
			rest: "GET /docs",
			handler(ctx: Ctx) {
				ctx.meta.$responseType = "text/html; charset=utf-8";
				return DOCS_HTML;
			},
		},

		/** Swagger UI's static files, served from swagger-ui-dist (no CDN). */
		docsAsset: {
			rest: "GET /docs/:file",
			params: { file: { type: "string", max: 64 } },
			handler(ctx: Ctx<{ file: string }>) {
				const type = Object.hasOwn(SWAGGER_FILES, ctx.params.file) ? SWAGGER_FILES[ctx.params.file] : undefined;
				if (!type) throw notFound("File");
				ctx.meta.$responseType = type;
				ctx.meta.$responseHeaders = { "Cache-Control": "public, max-age=86400" };
				return this.swaggerFile(ctx.params.file);
			},
		},
	},

	methods: {
		servicesReport() {
			const list = this.broker.registry.getServiceList({ onlyLocal: false, onlyAvailable: false, skipInternal: true, withActions: false }) as {
				name: string;
				fullName?: string;
				nodeID: string;
				available?: boolean;
			}[];
			const entries: ServiceEntry[] = list.map((s) => ({ name: s.fullName ?? s.name, nodeID: s.nodeID, available: !!s.available }));
			// Channel handler services ("$channel:..." style names) are internal plumbing.
			const visible = entries.filter((e) => !e.name.includes(":"));
			const required = requiredServices(this.requiredSetting, existingServiceNames());
			return servicesReport(this.broker.nodeID, visible, circuitEntries(internals(this.broker).CircuitBreakerStore), required);
		},

		async readinessChecks(): Promise<Check[]> {
			const broker = internals(this.broker);
			const checks: Promise<Check>[] = [];
			// Ready only once every local service has started (the gateway listens before the others
			// are up, and builds its REST routes when the broker has started).
			checks.push(
				probe("broker", () => {
					if (!broker.started) throw new Error("starting");
					return "started";
				}),
			);
			checks.push(
				probe(
					"transporter",
					async () => {
						if (!broker.transit) return "embedded (no transporter)";
						if (!broker.transit.connected || broker.transit.disconnecting) throw new Error("not connected");
						// NATS: Moleculer keeps "connected" while its client is reconnecting to a server
						// that is gone; a PING/PONG round trip tells (it waits until the server answers).
						const client = broker.transit.tx?.client;
						if (client && typeof client.flush === "function" && typeof client.isClosed === "function") {
							if (client.isClosed()) throw new Error("not connected");
							await client.flush().catch(() => {
								throw new Error("not connected");
							});
						}
						return broker.transit.tx?.constructor?.name ?? "connected";
					},
					1500,
				),
			);
			checks.push(
				probe("channels", () => {
					const adapter = broker.channelAdapter;
					if (!adapter) return "no channels adapter";
					if (!adapter.connected) throw new Error("adapter not connected");
					return adapter.constructor?.name ?? "connected";
				}),
			);
			checks.push(probe("database", () => this.probeDatabase(), 3000));
			checks.push(probe("storage", () => this.probeStorage(), 3000));
			return Promise.all(checks);
		},

		/**
		 * Fails while the storage refuses writes (lib/db/storage-health.ts: the last write failed on
		 * storage). On NeDB files a 4 KB probe written to DATA_DIR tells when space is back; other
		 * stores count as recovered 10 s after their last failed write (the next writes tell).
		 */
		probeStorage(): string {
			const failure = storageFailure();
			if (!failure) return "writable";
			const cfg = dbConfig();
			if (cfg.kind === "nedb") {
				const file = path.join(cfg.dataDir, ".storage-probe");
				try {
					fs.writeFileSync(file, Buffer.alloc(4096));
					storageWorked();
					return "writable again";
				} catch (err) {
					storageError(err, "readiness probe");
				} finally {
					fs.rmSync(file, { force: true });
				}
			} else if (Date.now() - failure.last > 10_000) return `last write failed ${Math.round((Date.now() - failure.last) / 1000)} s ago`;
			throw new Error(`writes fail: ${storageFailure()?.reason ?? failure.reason} in ${failure.where}`);
		},

		/** Reaches the database through a collection a local service uses (a count on `_id`). */
		async probeDatabase(): Promise<string> {
			const kind = dbConfig().kind;
			const stores = internals(this.broker)
				.services.map((s) => s.store)
				.filter((s) => s && typeof s.count === "function");
			if (stores.length === 0) {
				if (kind === "postgres") await pingPostgres(dbConfig().postgres!);
				if (kind === "nedb") {
					await fs.promises.access(dbConfig().dataDir, fs.constants.W_OK).catch(() => {
						throw new Error(`DATA_DIR ${dbConfig().dataDir} is not writable`);
					});
				}
				return `${kind} (no local collections)`;
			}
			await stores[0]!.count!({ _id: "__ready__" });
			return kind;
		},

		async scrape(ctx: Ctx): Promise<string> {
			const nodes = (this.broker.registry.getNodeList({ onlyAvailable: true, withServices: false }) as { id: string }[]).map((n) => n.id);
			const results = await Promise.all(
				nodes.map(async (nodeID: string) => {
					try {
						const metrics = await ctx.call("$node.metrics", {}, { nodeID, timeout: 3000, retries: 0 });
						return { nodeID, metrics, ok: true };
					} catch (err) {
						this.logger.warn(`Metrics of node ${nodeID} unavailable`, (err as Error).message);
						return { nodeID, metrics: [], ok: false };
					}
				}),
			);
			const body = renderPrometheus(results as NodeMetrics[], { namespace: this.broker.namespace || "" });
			const up = results.map((r) => `mediashar_node_scrape_up{nodeID="${escapeLabelValue(r.nodeID)}"} ${r.ok ? 1 : 0}`);
			return `${body}# HELP mediashar_node_scrape_up 1 when the node's metrics were read\n# TYPE mediashar_node_scrape_up gauge\n${up.join("\n")}\n`;
		},

		openApiDocument() {
			const services = this.broker.registry.getServiceList({ withActions: true, grouping: true, onlyAvailable: false }) as ServiceInfo[];
			const gateway = services.find((s) => s.name === "api");
			const routes: RouteInfo[] = gateway?.settings?.routes ?? [];
			return buildOpenApi(routes, services, { version: this.version, pathValues: { provider: PROVIDER_NAMES } });
		},

		swaggerFile(file: string): Buffer {
			let buf = this.assetCache.get(file);
			if (!buf) {
				buf = fs.readFileSync(path.join(SWAGGER_DIR, file));
				this.assetCache.set(file, buf);
			}
			return buf;
		},
	},

	created() {
		this.requiredSetting = loadConfig().ops.healthRequiredServices;
		this.version = packageVersion();
		this.assetCache = new Map<string, Buffer>();
	},
};

export default schema;
