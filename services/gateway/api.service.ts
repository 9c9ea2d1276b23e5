import { PUBLIC_DIR } from "../../lib/tools/paths";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket as NetSocket } from "node:net";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, ServiceBroker, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import ApiGateway from "moleculer-web";
import { loadConfig } from "../../lib/config";
import { bearerToken, verifyAccessToken } from "../../lib/tools/tokens";
import {
	MemoryConnectionTally,
	MemoryCounterStore,
	RedisConnectionTally,
	RedisCounterStore,
	checkLimits,
	retryAfterSec,
	windowStart,
	type CounterStore,
} from "../../lib/tools/rate-limit";
import { RoleChanges } from "../../lib/tools/role-changes";
import { createRedis, redisUrl } from "../../lib/db/redis";
import { newId } from "../../lib/tools/ids";
import { RevokedUsers } from "../../lib/tools/revoked-users";
import { countRateLimited } from "../../lib/tools/metrics";
import { readyReport } from "../../lib/ops/health";
import { SocketHub, type EmitPacket } from "./socket-hub";
import { pageRoutes } from "./pages";
import type { AuthUser, GatewayMeta } from "../../types/moleculer";

type Req = IncomingMessage & { $action?: any; $route?: any; $ctx?: Context<any, GatewayMeta>; body?: unknown; $params?: any };
type Res = ServerResponse;

const intEnv = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const IP_LIMIT = { limit: intEnv("RATE_LIMIT_IP_PER_MIN", 600), windowMs: 60_000 };
const USER_LIMIT = { limit: intEnv("RATE_LIMIT_USER_PER_MIN", 300), windowMs: 60_000 };

/** moleculer-web rate-limit store backed by the gateway's shared counters (memory or Redis). */
class GatewayRateStore {
	constructor(
		private readonly windowMs: number,
		_opts: unknown,
		private readonly broker: ServiceBroker,
	) {}
	get resetTime() {
		return windowStart(Date.now(), this.windowMs) + this.windowMs;
	}
	inc(key: string) {
		const counters = (this.broker.getLocalService("api") as unknown as { counters: CounterStore }).counters;
		return counters.hit(`ip:${key}`, this.windowMs);
	}
}

/**
 * Behind the compose load balancer the first X-Forwarded-For hop is the client; TRUST_PROXY must
 * be set for that header to count, or anyone could spoof their way past rate limits. Set when
 * the gateway service is created (not read per request: `process.env` is slow to read).
 */
let trustProxy = false;

function clientIp(req: IncomingMessage): string {
	if (trustProxy) {
		const fwd = req.headers["x-forwarded-for"];
		const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(",")[0]?.trim();
		if (first) return first;
	}
	return req.socket.remoteAddress || "unknown";
}

/** Normalizes any error into the contract's JSON shape; never leaks server internals. */
function toClientError(err: any): { code: number; body: Record<string, unknown> } {
	if (err && typeof err.type === "string" && err.type.startsWith("entity.")) {
		// body-parser errors
		if (err.type === "entity.too.large")
			return { code: 413, body: { name: "PayloadTooLarge", message: "Request body is too large", code: 413, type: "PAYLOAD_TOO_LARGE" } };
		if (err.type === "entity.parse.failed")
			return { code: 400, body: { name: "BadRequest", message: "Malformed JSON body", code: 400, type: "INVALID_JSON" } };
		return { code: 400, body: { name: "BadRequest", message: err.message || "Bad request body", code: 400, type: "INVALID_BODY" } };
	}
	const name = err?.name;
	if (
		name === "QueueIsFullError" ||
		name === "RequestTimeoutError" ||
		name === "BrokerDisconnectedError" ||
		name === "ServiceNotAvailableError" ||
		name === "ServiceUnavailableError" ||
		err?.type === "CIRCUIT_OPEN"
	) {
		return { code: 503, body: { name: "ServiceUnavailableError", message: "Service unavailable, retry shortly", code: 503, type: "SERVICE_UNAVAILABLE" } };
	}
	let code = typeof err?.code === "number" ? err.code : typeof err?.status === "number" ? err.status : 500;
	if (code < 400 || code > 599) code = 500;
	if (code >= 500 && code !== 503) {
		return { code, body: { name: "ServerError", message: "Something went wrong on our side", code, type: "SERVER_ERROR" } };
	}
	return {
		code,
		body: { name: err?.name || "Error", message: err?.message || "Error", code, type: err?.type || DEFAULT_TYPES[code] || "CLIENT_ERROR", data: err?.data },
	};
}

/**
 * A body that says it is compressed and is not: zlib's error reaches us with its own code
 * (Z_DATA_ERROR, ERR_BROTLI_…, moleculer-web keeps that instead of body-parser's 400), an
 * unknown Content-Encoding as body-parser's `encoding.unsupported`.
 */
function bodyEncodingError(req: IncomingMessage, err: any): Errors.MoleculerClientError | null {
	if (err?.type === "encoding.unsupported")
		return new Errors.MoleculerClientError("Content-Encoding must be gzip, deflate or br (or none)", 415, "UNSUPPORTED_ENCODING");
	if (err?.type === "charset.unsupported") return new Errors.MoleculerClientError(err.message || "Unsupported charset", 415, "UNSUPPORTED_CHARSET");
	const encoding = req.headers["content-encoding"];
	if (encoding && encoding !== "identity" && typeof err?.code === "string") {
		return new Errors.MoleculerClientError(`The body is not valid ${encoding} data`, 400, "INVALID_BODY_ENCODING");
	}
	return null;
}

/**
 * Requests Node's HTTP parser refuses before any route runs (headers over the size limit, a
 * malformed request line) still get the contract's JSON error instead of an empty body.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: NetSocket) {
	if (err.code === "ECONNRESET" || !socket.writable) return socket.destroy();
	const code = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
	const type = code === 431 ? "HEADERS_TOO_LARGE" : code === 408 ? "REQUEST_TIMEOUT" : "BAD_REQUEST";
	const message = code === 431 ? "Request headers or URL are too large" : code === 408 ? "Request took too long to arrive" : "Malformed HTTP request";
	const body = JSON.stringify({ name: STATUS_CODES[code]?.replace(/\s+/g, "") ?? "BadRequest", message, code, type });
	socket.end(
		`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
	);
}

/** A stable `type` for errors raised without one (moleculer-web's own rate-limit and routing errors). */
const DEFAULT_TYPES: Record<number, string> = {
	400: "BAD_REQUEST",
	401: "UNAUTHORIZED",
	403: "FORBIDDEN",
	404: "NOT_FOUND",
	405: "METHOD_NOT_ALLOWED",
	409: "CONFLICT",
	413: "PAYLOAD_TOO_LARGE",
	415: "UNSUPPORTED_MEDIA_TYPE",
	422: "VALIDATION_ERROR",
	429: "RATE_LIMITED",
	503: "SERVICE_UNAVAILABLE",
};

/**
 * The whole body must arrive within `ms` (BODY_TIMEOUT_MS): a client trickling one byte every
 * few seconds would otherwise hold a connection and a parser for minutes. After it: 408 in the
 * contract's shape, and the connection is closed (the rest of the body is not wanted).
 */
function capBodyTime(req: IncomingMessage, res: ServerResponse, ms: number) {
	const length = req.headers["content-length"];
	if ((!length || length === "0") && !req.headers["transfer-encoding"]) return;
	const timer = setTimeout(() => {
		if (req.complete || res.writableEnded) return;
		if (res.headersSent) return void req.socket.destroy();
		const body = JSON.stringify({ name: "RequestTimeout", message: `The request body did not arrive within ${ms} ms`, code: 408, type: "REQUEST_TIMEOUT" });
		res.writeHead(408, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), Connection: "close" });
		res.end(body, () => req.socket.destroy());
	}, ms);
	timer.unref();
	const done = () => clearTimeout(timer);
	req.once("end", done);
	req.once("close", done);
	res.once("close", done);
}

/** Constant-time comparison of a presented token with the configured one. */
function sameSecret(presented: string | null | undefined, expected: string): boolean {
	if (!presented) return false;
	const digest = (v: string) => createHash("sha256").update(v).digest();
	return timingSafeEqual(digest(presented), digest(expected));
}

/** Where this gateway node is in its life. Only "ready" routes requests (API.md, Operations). */
export type GatewayPhase = "starting" | "ready" | "stopping";

/** A node that is not serving answers every request itself: /health and /health/ready with their report, the rest 503. */
function answerNotServing(req: IncomingMessage, res: ServerResponse, phase: Exclude<GatewayPhase, "ready">, nodeID: string) {
	const path = (req.url ?? "/").split("?")[0].replace(/\/+$/, "") || "/";
	let body: unknown;
	if (path === "/health") body = { status: phase, nodeID };
	else if (path === "/health/ready") body = readyReport(nodeID, [{ name: "broker", ok: false, detail: phase }]);
	else if (phase === "starting") body = { name: "ServiceUnavailableError", message: "The server is starting, retry shortly", code: 503, type: "STARTING" };
	else body = { name: "ServiceUnavailableError", message: "The server is shutting down, retry shortly", code: 503, type: "SHUTTING_DOWN" };
	res.setHeader("Retry-After", "1");
	res.setHeader("Content-Type", "application/json; charset=utf-8");
	res.setHeader("Cache-Control", "no-store");
	// A draining node wants its keep-alive clients to reconnect elsewhere.
	if (phase === "stopping") res.setHeader("Connection", "close");
	res.writeHead(503);
	res.end(JSON.stringify(body));
}

const schema: ServiceSchema<any> = {
	name: "api",
	mixins: [ApiGateway as unknown as Partial<ServiceSchema>],

	settings: {
		port: intEnv("PORT", 3000),
		ip: process.env.HOST || "0.0.0.0",
		use: [],
		httpServerTimeout: 30_000,
		// Routes are rebuilt on every service change: one info line per alias each time is noise.
		logRouteRegistration: "debug",
		/** How long a Socket.IO handshake made during start-up waits for the node before STARTING. */
		socketReadyWaitMs: 5_000,
		log4XXResponses: false,
		logRequest: null,
		logResponse: null,
		logRequestParams: null,
		logResponseData: null,
		rootCallOptions(this: any, options: Record<string, unknown>, req: Req) {
			// Carry the caller's request id (or a fresh one) through every call, channel message and log line.
			const incoming = req.headers["x-request-id"];
			const id = typeof incoming === "string" && /^[\w.-]{1,64}$/.test(incoming) ? incoming : newId();
			options.requestID = id;
		},
		routes: [
			{
				// Provider webhooks: the raw body is what gets verified, so no JSON parsing here.
				path: "/api/payments/webhooks",
				mappingPolicy: "restrict",
				mergeParams: false,
				authentication: false,
				authorization: false,
				bodyParsers: { json: false, urlencoded: false, text: { type: () => true, limit: "256kb" } },
				aliases: { "POST /:provider": "payments.webhook" },
				onBeforeCall(this: any, ctx: Context<any, any>, _route: unknown, req: Req) {
					const h = req.headers;
					ctx.meta.webhook = {
						headers: {
							"stripe-signature": h["stripe-signature"],
							"x-sandbox-signature": h["x-sandbox-signature"],
							"paypal-transmission-id": h["paypal-transmission-id"],
							"paypal-transmission-time": h["paypal-transmission-time"],
							"paypal-transmission-sig": h["paypal-transmission-sig"],
							"paypal-cert-url": h["paypal-cert-url"],
							"paypal-auth-algo": h["paypal-auth-algo"],
							"content-type": h["content-type"],
						},
					};
					const p = req.$params;
					if (p && typeof p.body !== "string") p.body = "";
				},
			},
			{
				path: "/api",
				autoAliases: true,
				mappingPolicy: "restrict",
				authentication: true,
				authorization: true,
				bodyParsers: { json: { strict: true, limit: process.env.MAX_BODY || "64kb" }, urlencoded: false },
				rateLimit: {
					window: IP_LIMIT.windowMs,
					limit: IP_LIMIT.limit,
					headers: true,
					key: (req: Req) => clientIp(req),
					StoreFactory: GatewayRateStore,
				},
				callOptions: {},
				onBeforeCall(this: any, ctx: Context<any, GatewayMeta>, _route: unknown, req: Req) {
					ctx.meta.ip = clientIp(req);
					if (typeof req.headers["user-agent"] === "string") ctx.meta.userAgent = req.headers["user-agent"].slice(0, 300);
					const key = req.headers["idempotency-key"];
					if (typeof key === "string") ctx.meta.idempotencyKey = key;
					ctx.meta.selfUrl = this.selfUrl();
				},
				/** The action's declared success status (`status: 201`) unless its handler chose one. */
				onAfterCall(this: any, ctx: Context<any, GatewayMeta>, _route: unknown, req: Req, _res: Res, data: unknown) {
					const status = req.$action?.status;
					if ((ctx.meta as any).$statusCode === undefined && typeof status === "number") (ctx.meta as any).$statusCode = status;
					return data;
				},
			},
			{
				path: "/health",
				mappingPolicy: "restrict",
				authentication: false,
				authorization: false,
				aliases: { "GET /": "api.health", "GET /services": "ops.services", "GET /ready": "ops.ready" },
			},
			{
				// Prometheus scrape endpoint (services/ops/ops.service.ts renders every node's registry).
				path: "/metrics",
				mappingPolicy: "restrict",
				authentication: false,
				authorization: false,
				aliases: { "GET /": "ops.metrics" },
				onBeforeCall(this: any, _ctx: Context, _route: unknown, req: Req) {
					const expected = this.appConfig.metricsToken as string | undefined;
					if (expected && !sameSecret(bearerToken(req.headers.authorization), expected)) {
						throw new Errors.MoleculerClientError("/metrics needs 'Authorization: Bearer <METRICS_TOKEN>'", 401, "UNAUTHORIZED");
					}
				},
			},
			// HTML pages: /overlay/*, /u/:username, /pay/sandbox/:id, /chat/:username, /dashboard.
			...pageRoutes(),
		],
		assets: { folder: PUBLIC_DIR, options: { index: false } },
		onError(this: any, req: Req, res: Res, err: any) {
			// Already answered (the body timed out, the client went away): nothing left to say.
			if (res.headersSent || res.writableEnded) return;
			const { code, body } = toClientError(bodyEncodingError(req, err) ?? err);
			if (code >= 500 && code !== 503) this.logger.error("Request failed", req.method, req.url, err);
			if (code === 429) {
				countRateLimited(this.broker, "http");
				const retry = err?.data?.retryAfterSec ?? retryAfterSec(Date.now(), IP_LIMIT.windowMs);
				res.setHeader("Retry-After", String(retry));
			}
			if (code === 503) res.setHeader("Retry-After", "5");
			const ctxHeaders = req.$ctx?.meta?.$responseHeaders;
			if (ctxHeaders) for (const [k, v] of Object.entries(ctxHeaders)) if (k.toLowerCase() !== "content-type") res.setHeader(k, v);
			res.setHeader("Content-Type", "application/json; charset=utf-8");
			res.writeHead(code);
			res.end(JSON.stringify(body));
		},
	},

	actions: {
		/**
		 * moleculer-web's HTTP entry point. Never retried as a whole: it rewrites req.url while
		 * routing, so a second pass answers 404. The calls it makes are retried (and moved to
		 * another node) by the retry policy on their own.
		 *
		 * No bulkhead or circuit breaker here either: both belong to the actions that do the work,
		 * per action and per node, where they already apply. A bulkhead on the entry queued every
		 * request of the gateway (health probes included) behind its 50 slowest ones, whatever
		 * their route; a breaker on it never sees a failure (moleculer-web answers errors itself).
		 */
		rest: { retryPolicy: { enabled: false }, bulkhead: { enabled: false }, circuitBreaker: { enabled: false } },

		/**
		 * moleculer-web's route list (every alias with its action schema) is for operators on the
		 * cluster (REPL `call api.listAliases`), not for anonymous callers: public, so neither
		 * /api/api/list-aliases nor the OpenAPI document has it.
		 */
		listAliases: { visibility: "public" },

		/** Liveness: 200 while this node can serve. */
		health: {
			// Published (the default): moleculer-web refuses to route aliases to non-published actions.
			handler(this: any) {
				return { status: "ok", nodeID: this.broker.nodeID, uptime: Math.round(process.uptime()) };
			},
		},
	},

	events: {
		/** Server → client delivery: every gateway node emits to its own sockets in the rooms. */
		"ws.emit": {
			params: { rooms: { type: "array", items: "string" }, event: "string", namespace: { type: "string", optional: true } },
			handler(this: any, ctx: Context<EmitPacket>) {
				this.hub?.deliver(ctx.params);
			},
		},
		"ws.disconnect": {
			handler(this: any, ctx: Context<{ namespace: string; rooms: string[] }>) {
				this.hub?.disconnectRooms(ctx.params.namespace, ctx.params.rooms);
			},
		},
		/**
		 * A service appeared or left: rebuild the REST routes at once (moleculer-web waits half a
		 * second, and a gateway that already said it can serve answered 404 for the new service's
		 * routes until then) and the socket event table.
		 */
		"$services.changed"(this: any) {
			if (this.routesReady) for (const route of this.routes ?? []) if (route.opts?.autoAliases) this.regenerateAutoAliases(route);
			this.hub?.refreshRoutes();
		},
		/**
		 * Every local service has started: build the REST routes now. moleculer-web otherwise does it
		 * half a second after the last service change, and /api answered 404 until then while
		 * /health already said the node was up.
		 */
		"$broker.started"(this: any) {
			for (const route of this.routes ?? []) if (route.opts?.autoAliases) this.regenerateAutoAliases(route);
			this.hub?.refreshRoutes();
			this.routesReady = true;
			this.openReadyGate();
		},
		/** New roles: tokens issued before the change and this node's open sockets use them from now on. */
		"users.rolesChanged": {
			params: { userId: "string", roles: { type: "array", items: "string" }, at: "number" },
			handler(this: any, ctx: Context<{ userId: string; roles: string[]; at: number }>) {
				this.roleChanges.set(ctx.params.userId, ctx.params.roles, ctx.params.at);
				this.hub?.updateRoles(ctx.params.userId, ctx.params.roles);
			},
		},
		/** A ban (or its lifting): access tokens already issued to that user stop (or start) working. */
		"users.banned": {
			params: { userId: "string", banned: "boolean", at: "number" },
			handler(this: any, ctx: Context<{ userId: string; banned: boolean; at: number }>) {
				if (ctx.params.banned) this.revoked.revoke(ctx.params.userId, ctx.params.at);
				else this.revoked.restore(ctx.params.userId);
			},
		},
		/** Sessions ended (password change or reset, or ended by their owner): their access tokens stop working. */
		"users.sessionsEnded": {
			params: { sessions: { type: "array", items: "string" }, at: "number" },
			handler(this: any, ctx: Context<{ sessions: string[]; at: number }>) {
				this.revoked.endSessions(ctx.params.sessions, ctx.params.at);
			},
		},
	},

	methods: {
		/**
		 * Every HTTP request enters here (Socket.IO's handshakes do not: it takes /socket.io first).
		 * Until the routes are built the node answers 503 STARTING; from SIGTERM on, 503
		 * SHUTTING_DOWN, while the requests already inside finish.
		 */
		httpHandler(this: any, req: Req, res: Res, next?: unknown) {
			res.setHeader("X-Content-Type-Options", "nosniff");
			const phase = this.phase() as GatewayPhase;
			if (phase !== "ready") return answerNotServing(req, res, phase, this.broker.nodeID);
			capBodyTime(req, res, this.appConfig.bodyTimeoutMs);
			return (ApiGateway as any).methods.httpHandler.call(this, req, res, next);
		},

		phase(this: any): GatewayPhase {
			if (this.broker.stopping || (this.routesReady && !this.broker.started)) return "stopping";
			return this.routesReady ? "ready" : "starting";
		},

		async authenticate(this: any, ctx: Context<any, GatewayMeta>, _route: unknown, req: Req): Promise<AuthUser | null> {
			const token = bearerToken(req.headers.authorization);
			if (!token) {
				if (req.headers.authorization) throw new Errors.MoleculerClientError("Authorization header must be 'Bearer <token>'", 401, "INVALID_TOKEN");
				return null;
			}
			const v = verifyAccessToken(token, this.appConfig.jwtSecret);
			if (!v.ok) {
				throw new Errors.MoleculerClientError(
					v.reason === "expired" ? "Access token expired" : "Invalid access token",
					401,
					v.reason === "expired" ? "TOKEN_EXPIRED" : "INVALID_TOKEN",
				);
			}
			if (this.revoked.has(v.user.id, v.user.sid)) throw new Errors.MoleculerClientError("This account is suspended", 401, "TOKEN_REVOKED");
			return this.roleChanges.apply(v.user);
		},

		async authorize(this: any, ctx: Context<any, GatewayMeta>, _route: unknown, req: Req) {
			const action = req.$action ?? {};
			const user = ctx.meta.user;
			if (action.auth === "required" && !user) {
				throw new Errors.MoleculerClientError("Sign in to do this", 401, "UNAUTHORIZED");
			}
			if (Array.isArray(action.roles) && action.roles.length > 0) {
				const roles = user?.roles ?? [];
				if (!roles.includes("admin") && !action.roles.some((r: string) => roles.includes(r))) {
					throw new Errors.MoleculerClientError("You are not allowed to do this", 403, "FORBIDDEN");
				}
			}
			if (user) {
				const verdict = await checkLimits(this.counters, `user:${user.id}`, [USER_LIMIT]);
				if (!verdict.allowed) {
					throw new Errors.MoleculerClientError("Too many requests", 429, "RATE_LIMITED", { retryAfterSec: verdict.retryAfterSec });
				}
			}
		},

		selfUrl(this: any): string {
			// Asked on every request; the port is fixed once the server listens.
			if (this.cachedSelfUrl) return this.cachedSelfUrl;
			const addr = this.server?.address();
			const port = addr && typeof addr === "object" ? addr.port : this.settings.port;
			const url = `http://127.0.0.1:${port}`;
			if (addr) this.cachedSelfUrl = url;
			return url;
		},
	},

	created(this: any) {
		trustProxy = process.env.TRUST_PROXY === "true";
		// Opened when every local service has started and the routes are built ($broker.started).
		this.readyGate = new Promise<void>((resolve) => (this.openReadyGate = resolve));
		this.appConfig = loadConfig();
		this.revoked = new RevokedUsers(this.appConfig.accessTokenTtlSec * 1000);
		this.roleChanges = new RoleChanges(this.appConfig.accessTokenTtlSec * 1000);
		const url = redisUrl();
		if (url) {
			this.redis = createRedis(url, "ratelimit");
			const prefix = `${process.env.NAMESPACE || "mediashar"}:rl`;
			this.counters = new RedisCounterStore(this.redis, prefix);
			// This process's share of the open sockets per IP; shares of processes gone are not counted.
			const isLive = (member: string) => {
				const [nodeID, instanceID] = member.split("|");
				const node = this.broker.registry.nodes.get(nodeID);
				return !!node?.available && node.instanceID === instanceID;
			};
			this.connections = new RedisConnectionTally(this.redis, prefix, `${this.broker.nodeID}|${this.broker.instanceID}`, isLive);
		} else {
			this.counters = new MemoryCounterStore();
			this.connections = new MemoryConnectionTally();
		}
	},

	started(this: any) {
		this.hub = new SocketHub(this.broker, this.logger, this.server, {
			jwtSecret: this.appConfig.jwtSecret,
			isRevoked: (userId: string, sid?: string) => this.revoked.has(userId, sid),
			resolveOverlayToken: (token: string) => this.broker.call("users.resolveOverlayToken", { token }),
			whenReady: () => (this.routesReady ? null : this.readyGate),
			readyWaitMs: this.settings.socketReadyWaitMs,
			clientIp,
			limits: { ...this.appConfig.socketLimits, counters: this.counters, connections: this.connections },
			currentUser: (user: AuthUser) => this.roleChanges.apply(user),
		});
		this.hub.refreshRoutes();
		this.server.on("clientError", answerClientError);
		// Bans from before this gateway started, within one access-token lifetime.
		const since = Date.now() - this.appConfig.accessTokenTtlSec * 1000;
		this.broker
			.waitForServices("users")
			.then(() => this.broker.call("users.bannedSince", { since }))
			.then((rows: Array<{ userId: string; at: number }>) => rows.forEach((r) => this.revoked.revoke(r.userId, r.at)))
			.catch((err: Error) => this.logger.warn("Could not load recent bans", err.message));
		// Likewise sessions ended within one access-token lifetime.
		this.broker
			.waitForServices("users")
			.then(() => this.broker.call("users.sessionsEndedSince", { since }))
			.then((rows: Array<{ sessions: string[]; at: number }>) => rows.forEach((r) => this.revoked.endSessions(r.sessions, r.at)))
			.catch((err: Error) => this.logger.warn("Could not load recently ended sessions", err.message));
		// Likewise role changes the tokens in use may predate.
		this.broker
			.waitForServices("users")
			.then(() => this.broker.call("users.rolesChangedSince", { since }))
			.then((rows: Array<{ userId: string; roles: string[]; at: number }>) => rows.forEach((r) => this.roleChanges.set(r.userId, r.roles, r.at)))
			.catch((err: Error) => this.logger.warn("Could not load recent role changes", err.message));
	},

	async stopped(this: any) {
		if (this.hub) await this.hub.close();
		this.counters?.close?.();
		if (this.redis) this.redis.disconnect();
	},
};

export default schema;
