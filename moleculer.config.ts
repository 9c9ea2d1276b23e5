import os from "node:os";
import path from "node:path";
import type { BrokerOptions, Errors, LogLevels, ServiceBroker } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { InProcessAdapter } from "./lib/channels/in-process-adapter";
import { NatsChannelsAdapter } from "./lib/channels/nats-adapter";
import { dbConfig } from "./lib/db/config";
import { ProductMetricsMiddleware } from "./lib/tools/metrics";
import { BuiltinMiddlewares, BulkheadMiddleware, RequestMetricsMiddleware } from "./middlewares/request-metrics";
import { RequestContextMiddleware } from "./middlewares/request-context";
import { StrictParamsMiddleware, ValidationDetailsMiddleware } from "./middlewares/strict-params";
import { IdempotencyMiddleware } from "./middlewares/idempotency";
import { PermissionsMiddleware } from "./middlewares/permissions";
import { logFormatter } from "./lib/ops/log-format";
import { replCommands } from "./lib/ops/repl-commands";
import { DataDirMiddleware } from "./lib/ops/data-dir";

/**
 * Broker options, all from env. Embedded default: no transporter, in-memory cache, the channels
 * Fake adapter. Distributed: TRANSPORTER=nats://..., CACHER=redis://..., CHANNELS_URL=nats://...
 * (JetStream) or redis://... (Redis Streams). Every fault-tolerance value is deliberate; the
 * comments say why.
 */
const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);

/**
 * "nats://h:4222" → JetStream; "redis://h:6379" → Redis Streams; empty → the in-process adapter
 * (lib/channels/in-process-adapter.ts: the Fake adapter's local events, with the same retries and
 * dead-lettering as the others). A fresh adapter per call: every broker needs its own.
 */
export function channelsAdapter(url = env.CHANNELS_URL || ""): Record<string, unknown> | InProcessAdapter | NatsChannelsAdapter {
	const common = {
		// Three redeliveries cover a node crash or a brief database hiccup; after that a message is
		// parked in the dead-letter queue for an operator (REPL `dlq`) instead of blocking the stream.
		maxRetries: num("CHANNELS_MAX_RETRIES", 3),
		maxInFlight: num("CHANNELS_MAX_IN_FLIGHT", 20),
		deadLettering: { enabled: true, queueName: "DEAD_LETTER" },
	};
	if (url.startsWith("nats://")) {
		// The NATS adapter ignores a bare URL string: it wants { nats: { url } }.
		// ack_wait: how long JetStream waits for a consumer that took a message and died (SIGKILL,
		// OOM) before handing the message to another instance. 30 s is JetStream's default; an
		// alert delayed that long after a crash is the worst case, so 10 s by default.
		const ackWaitNs = num("CHANNELS_ACK_WAIT_MS", 10_000) * 1_000_000;
		// The stock adapter, except that two instances starting at once no longer race each other out
		// of creating their group's consumer (lib/channels/nats-adapter.ts).
		return new NatsChannelsAdapter({ ...common, nats: { url, connectionOptions: {}, consumerOptions: { config: { ack_wait: ackWaitNs } } } });
	}
	if (url.startsWith("redis://") || url.startsWith("rediss://")) {
		return { type: "Redis", options: { ...common, redis: url } };
	}
	// Embedded default (one process, NeDB files): messages are journaled next to the data files, so
	// a restart delivers what was still queued. Not with a transporter: there another node may
	// consume them, and only CHANNELS_URL gives durable delivery across nodes.
	const db = dbConfig();
	const journal = !env.TRANSPORTER && db.kind === "nedb" ? path.join(db.dataDir, "channels.journal") : null;
	return new InProcessAdapter({ ...common, journal });
}

function cacher(): BrokerOptions["cacher"] {
	const url = env.CACHER || "";
	if (url.startsWith("redis")) {
		return {
			type: "Redis",
			options: {
				prefix: `${env.NAMESPACE || "mediashar"}-cache`,
				ttl: num("CACHE_TTL_SEC", 60),
				redis: url as unknown as Record<string, unknown>,
				maxParamsLength: 100,
			},
		};
	}
	// Bounded LRU so a long-running embedded node cannot grow without limit. Entries are cleaned
	// when their data changes; the TTL bounds what a missed clean could leave stale.
	return { type: "MemoryLRU", options: { ttl: num("CACHE_TTL_SEC", 60), max: num("CACHE_MAX_ENTRIES", 10_000), clone: false } };
}

/**
 * TRACING_EXPORTER=console|zipkin|jaeger|event|none (`npm run dev` defaults to console, every other
 * start to none). Jaeger is fed through its Zipkin-compatible
 * collector (Jaeger's COLLECTOR_ZIPKIN_HOST_PORT, default :9411), so no Jaeger client library is
 * needed; moleculer's own Jaeger exporter would require the unmaintained jaeger-client package.
 * Spans are flushed every TRACING_FLUSH_SEC (default 5) seconds.
 */
export function tracingExporter(e: NodeJS.ProcessEnv = env) {
	const kind = (e.TRACING_EXPORTER || "").toLowerCase();
	if (!kind || kind === "none") return undefined;
	const interval = e.TRACING_FLUSH_SEC ? Number(e.TRACING_FLUSH_SEC) : 5;
	if (kind === "console") return [{ type: "Console", options: { width: 100, gaugeWidth: 30, logger: console.log } }];
	if (kind === "zipkin") return [{ type: "Zipkin", options: { baseURL: e.ZIPKIN_URL || "http://127.0.0.1:9411", interval } }];
	if (kind === "jaeger") return [{ type: "Zipkin", options: { baseURL: e.JAEGER_ZIPKIN_URL || "http://127.0.0.1:9411", interval } }];
	if (kind === "event") return [{ type: "Event", options: { eventName: "$tracing.spans", interval } }];
	throw new Error(`TRACING_EXPORTER must be console, zipkin, jaeger, event or none (got "${kind}").`);
}

const production = env.NODE_ENV === "production";

/**
 * Fresh middleware instances for one broker. The channels middleware keeps per-broker state, so
 * every broker in a process (tests start several) needs its own.
 */
/** One entry of `middlewares`: a middleware object or factory, or the name of a Moleculer built-in one. */
type BrokerMiddleware = NonNullable<BrokerOptions["middlewares"]>[number] | ((broker: ServiceBroker) => unknown);

export function createMiddlewares(): NonNullable<BrokerOptions["middlewares"]> {
	const list: BrokerMiddleware[] = [
		// First: one process per DATA_DIR, and a directory that cannot be written stops the start
		// with a sentence naming it (lib/ops/data-dir.ts), before anything opens a file there.
		// The Middleware type of moleculer's typings is narrower than what the broker takes (hooks answering void, factories).
		DataDirMiddleware() as unknown as BrokerMiddleware,
		ChannelsMiddleware({ adapter: channelsAdapter(), sendMethodName: "sendToChannel", channelHandlerTrigger: "emitLocalChannelHandler" } as Parameters<
			typeof ChannelsMiddleware
		>[0]) as BrokerMiddleware,
		// Request id in log lines, channel messages and calls made outside a Context.
		RequestContextMiddleware() as unknown as BrokerMiddleware,
		ProductMetricsMiddleware as unknown as BrokerMiddleware,
		// Idempotency-Key replay for actions declaring `idempotency`, next to the handler (middlewares/idempotency.ts).
		IdempotencyMiddleware() as unknown as BrokerMiddleware,
		// Moleculer's internal middlewares (`internalMiddlewares: false` below), listed from the
		// innermost (next to the handler) out. Metrics and Bulkhead keep Moleculer's behaviour and
		// metrics but update those metrics far more cheaply on every call (middlewares/request-metrics.ts).
		"ActionHook",
		BulkheadMiddleware,
		"ContextTracker",
		"CircuitBreaker",
		// The cache is looked up outside the bulkhead, breaker and tracking (a hit takes no slot and
		// cannot fail the endpoint) but inside the timeout and retries (a slow Redis still times out)...
		"Cacher",
		"Timeout",
		"Retry",
		"Fallback",
		// ...and after validation: Moleculer's own order looks the cache up first, so a cached read
		// answered a request with an unknown field 200 where a cold one answered 422. Client-facing
		// actions refuse unknown params (middlewares/strict-params.ts), around the Validator.
		StrictParamsMiddleware,
		"Validator",
		ValidationDetailsMiddleware,
		// Who may call (an action's `auth`, `roles` and `permissions`), for every caller: outside the
		// Validator and the Cacher, so a refusal comes before a 422 and a cached answer is never
		// served to a caller who may not have it (middlewares/permissions.ts).
		PermissionsMiddleware(),
		"ErrorHandler",
		"Tracing",
		RequestMetricsMiddleware,
		"Debounce",
		"Throttle",
		(broker: ServiceBroker) => (broker.options.hotReload ? BuiltinMiddlewares.HotReload(broker) : null),
	];
	// The broker takes factories (broker) => middleware too; its typings do not say so.
	return list as NonNullable<BrokerOptions["middlewares"]>;
}

const config: BrokerOptions = {
	namespace: env.NAMESPACE || "mediashar",
	nodeID: env.NODE_ID || `${os.hostname()}-${process.pid}`,
	metadata: { db: dbConfig().kind },

	logger:
		env.LOGGER === "false"
			? false
			: {
					type: "Console",
					options: {
						level: (env.LOG_LEVEL as LogLevels | undefined) || (env.NODE_ENV === "test" ? "warn" : "info"),
						// JSON lines for log shippers in production, readable lines in development.
						// Both formats print the request id of the call being served (lib/ops/log-format.ts).
						// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: moleculer types the formatter as a string enum; it also takes a function
						formatter: logFormatter(env.LOG_FORMAT || (production ? "json" : "short")) as any,
						colors: !production,
						objectPrinter: undefined,
					},
				},

	// No transporter: every service in one process. NATS for clusters.
	transporter: (env.TRANSPORTER as BrokerOptions["transporter"]) || null,
	cacher: cacher(),
	// JSON: readable on the wire and by every Moleculer implementation; SERIALIZER may pick another
	// built-in one (all nodes of a cluster must agree).
	serializer: (env.SERIALIZER as BrokerOptions["serializer"]) || "JSON",

	// 10 s is longer than any provider API call we make (8 s client timeout) and short enough
	// that a stuck node is noticed before a user gives up.
	requestTimeout: num("REQUEST_TIMEOUT_MS", 10_000),

	// Retry only what is safe to retry: moleculer marks "no live node" and timeouts retryable,
	// and mutating actions are idempotent (unique keys, conditional updates), so a retry that lands
	// on another node after a crash cannot double anything. The few that create something without
	// such a key (a donation without Idempotency-Key, a chat message without nonce, a post, a
	// sign-in, a token refresh) set `retryPolicy: { enabled: false }` (test/unit/retry-policy).
	retryPolicy: {
		enabled: env.RETRY_ENABLED !== "false",
		retries: num("RETRY_COUNT", 3),
		// 100 ms, 200 ms, 400 ms: inside the heartbeat timeout, so a retry after a crash usually
		// finds the dead node already removed and lands on a live one.
		delay: num("RETRY_DELAY_MS", 100),
		maxDelay: num("RETRY_MAX_DELAY_MS", 1_000),
		factor: num("RETRY_FACTOR", 2),
		check: (err: Error) => !!(err as Errors.MoleculerRetryableError).retryable,
	},

	// Open a circuit for an action endpoint when half of at least 20 calls in 60 s fail with a
	// server error (4xx is the caller's fault and never trips it); try again after 10 s.
	circuitBreaker: {
		enabled: env.CB_ENABLED !== "false",
		threshold: Number(env.CB_THRESHOLD || 0.5),
		minRequestCount: num("CB_MIN_REQUESTS", 20),
		windowTime: num("CB_WINDOW_SEC", 60),
		halfOpenTime: num("CB_HALF_OPEN_MS", 10_000),
		check: (err: Error) => {
			const code = (err as Errors.MoleculerError).code;
			return typeof code !== "number" || code >= 500;
		},
	},

	// Per action: 50 concurrent executions per node, 500 queued behind them; beyond that callers
	// get a fast QueueIsFullError (503-ish) instead of piling up memory during a spike.
	bulkhead: {
		enabled: env.BULKHEAD_ENABLED !== "false",
		concurrency: num("BULKHEAD_CONCURRENCY", 50),
		maxQueueSize: num("BULKHEAD_QUEUE", 500),
	},

	registry: {
		// Round robin spreads stateless calls evenly; preferLocal skips the network hop when a
		// service group is co-located (and is what makes the embedded default free of hops).
		strategy: env.LB_STRATEGY || "RoundRobin",
		preferLocal: env.PREFER_LOCAL !== "false",
	},

	// Graceful shutdown: on SIGTERM wait up to 10 s for in-flight requests and channel messages.
	tracking: { enabled: true, shutdownTimeout: num("SHUTDOWN_TIMEOUT_MS", 10_000) },

	heartbeatInterval: num("HEARTBEAT_INTERVAL_SEC", 5),
	heartbeatTimeout: num("HEARTBEAT_TIMEOUT_SEC", 15),

	// Requests waiting for a reply from another node; beyond it new requests fail fast.
	transit: { maxQueueSize: num("TRANSIT_MAX_QUEUE", 50_000), disableReconnect: false },

	validator: true,

	metrics: { enabled: env.METRICS !== "false", reporter: [] },
	tracing: {
		enabled: !!env.TRACING_EXPORTER,
		// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: moleculer's exporter option type does not list our plain {type, options} literals' union
		exporter: tracingExporter() as any,
		events: true,
		stackTrace: !production,
	},

	internalMiddlewares: false,
	middlewares: createMiddlewares(),

	// Which runtime a node really runs on, in its log (README "Runtime": a checkout carries Node 24).
	started(broker: ServiceBroker) {
		broker.logger.info(`Runtime: Node.js ${process.version} (${process.platform}-${process.arch})`);
	},

	// `npm run repl` / `npm run dev`: operator commands (lib/ops/repl-commands.ts, docs/operations.md).
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: BrokerOptions does not declare moleculer-repl's replOptions
	replOptions: { delimiter: "mediashar $", customCommands: replCommands() } as any,
};

export default config;
