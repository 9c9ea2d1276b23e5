import { PUBLIC_DIR } from "../../lib/tools/paths";
import type { Server as HttpServer } from "node:http";
import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Errors } from "moleculer";
import ApiGateway, { type ApiRouteSchema } from "moleculer-web";
import { loadConfig, type AppConfig } from "../../lib/config";
import { gatewayConfig } from "../../lib/config/gateway";
import { bearerToken, verifyAccessToken } from "../../lib/tools/tokens";
import { MemoryConnectionTally, RedisConnectionTally, checkLimits, retryAfterSec, type ConnectionTally } from "../../lib/tools/rate-limit";
import { RoleChanges } from "../../lib/tools/role-changes";
import { counterNamespace, createCounters, type Counters } from "../../lib/db/counters";
import { newId } from "../../lib/tools/ids";
import { RevokedUsers } from "../../lib/tools/revoked-users";
import { PersonalTokenCache, type ResolvedToken } from "../../lib/tools/personal-tokens";
import { PERSONAL_TOKEN_PREFIX, hashPersonalToken, looksLikePersonalToken } from "../../lib/domain/accounts/personal-tokens";
import { countRateLimited } from "../../lib/tools/metrics";
import type { WsDisconnect, WsEmit } from "../../lib/domain/rooms";
import { SocketHub } from "./socket-hub";
import { closeMediaFiles } from "./media-files";
import { gatewayRoutes } from "./routes";
import {
	type AnyError,
	LIMIT_WINDOW_MS,
	answerClientError,
	answerNotServing,
	bodyEncodingError,
	capBodyTime,
	clientIp,
	toClientError,
	type Ctx,
	type GatewayPhase,
	type Req,
	type Res,
} from "./http";
import type { AuthUser } from "../../types/moleculer";

/** moleculer-web's own members the gateway uses (its mixin adds them to `this`). */
interface WebLocal {
	server: HttpServer;
	routes?: Array<{ opts?: { autoAliases?: boolean } }>;
	regenerateAutoAliases(route: { opts?: { autoAliases?: boolean } }): void;
}

interface Local extends WebLocal {
	appConfig: AppConfig;
	/** Opened when every local service has started and the routes are built ($broker.started). */
	readyGate: Promise<void>;
	openReadyGate: () => void;
	routesReady?: boolean;
	revoked: RevokedUsers;
	roleChanges: RoleChanges;
	/** Personal access tokens looked up lately (dropped at once on `users.tokenRevoked`). */
	personalTokens: PersonalTokenCache;
	/** HTTP and socket limits (Redis when REDIS_URL, shared by every gateway; else memory). */
	counters: Counters;
	/** Open sockets per IP (beside the counters in Redis, else memory). */
	connections: ConnectionTally;
	hub?: SocketHub;
	cachedSelfUrl?: string;
}

interface Methods {
	httpHandler(req: Req, res: Res, next?: unknown): unknown;
	phase(): GatewayPhase;
	authenticate(ctx: Ctx, route: unknown, req: Req): Promise<AuthUser | null>;
	authorize(ctx: Ctx, route: unknown, req: Req): Promise<void>;
	/** The user (with its scopes) of a live personal access token, or null. */
	personalTokenUser(token: string): Promise<AuthUser | null>;
	selfUrl(): string;
}

/** moleculer-web's settings this gateway sets (its own types allow any key, so they are listed here). */
type Settings = ServiceSettingSchema & {
	/** null: PORT / HOST from lib/config (a wrapping schema, e.g. the test harness, may set them). */
	port: number | null;
	ip: string | null;
	use: unknown[];
	httpServerTimeout: number;
	logRouteRegistration: string;
	/** How long a Socket.IO handshake made during start-up waits for the node before STARTING. */
	socketReadyWaitMs: number;
	log4XXResponses: boolean;
	logRequest: null;
	logResponse: null;
	logRequestParams: null;
	logResponseData: null;
	rootCallOptions(options: Record<string, unknown>, req: Req): void;
	/** Built from lib/config when the service is created (`merged`), so env is read then, not at import. */
	routes: ApiRouteSchema[];
	assets: { folder: string; options: Record<string, unknown> };
	onError(req: Req, res: Res, err: AnyError): void;
};

type This = Service<Settings> & Local & Methods;

/** How long a gateway trusts its look-up of a personal access token (a revocation drops it at once). */
const PERSONAL_TOKEN_CACHE_MS = 30_000;

/** moleculer-web's own request handler, which this gateway's `httpHandler` wraps. */
const webHttpHandler = (ApiGateway.methods as { httpHandler(this: This, req: Req, res: Res, next?: unknown): unknown }).httpHandler;

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "api",
	mixins: [ApiGateway as unknown as Partial<ServiceSchema>],

	settings: {
		port: null,
		ip: null,
		use: [],
		httpServerTimeout: 30_000,
		// Routes are rebuilt on every service change: one info line per alias each time is noise.
		logRouteRegistration: "debug",
		socketReadyWaitMs: 5_000,
		log4XXResponses: false,
		logRequest: null,
		logResponse: null,
		logRequestParams: null,
		logResponseData: null,
		rootCallOptions(options: Record<string, unknown>, req: Req) {
			// Carry the caller's request id (or a fresh one) through every call, channel message and log line.
			const incoming = req.headers["x-request-id"];
			const id = typeof incoming === "string" && /^[\w.-]{1,64}$/.test(incoming) ? incoming : newId();
			options.requestID = id;
		},
		// The defaults of lib/config/gateway.ts; `merged` builds them again from the environment.
		routes: gatewayRoutes(gatewayConfig({})),
		assets: { folder: PUBLIC_DIR, options: { index: false } },
		onError(this: This, req: Req, res: Res, err: AnyError) {
			// Already answered (the body timed out, the client went away): nothing left to say.
			if (res.headersSent || res.writableEnded) return;
			const { code, body } = toClientError(bodyEncodingError(req, err) ?? err);
			if (code >= 500 && code !== 503) this.logger.error("Request failed", req.method, req.url, err);
			if (code === 429) {
				countRateLimited(this.broker, "http");
				const data = err?.data as { retryAfterSec?: number } | undefined;
				const retry = data?.retryAfterSec ?? retryAfterSec(Date.now(), LIMIT_WINDOW_MS);
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

	/** Port, address and routes from lib/config (PORT, HOST, MAX_BODY, RATE_LIMIT_IP_PER_MIN, TRUST_PROXY). */
	merged(merged) {
		const cfg = loadConfig().gateway;
		const settings = merged.settings as Settings;
		settings.port ??= cfg.port;
		settings.ip ??= cfg.host;
		settings.routes = gatewayRoutes(cfg);
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
			handler() {
				return { status: "ok", nodeID: this.broker.nodeID, uptime: Math.round(process.uptime()) };
			},
		},
	},

	events: {
		/** Server → client delivery: every gateway node emits to its own sockets in the rooms. */
		"ws.emit": {
			params: { rooms: { type: "array", items: "string" }, event: "string", namespace: { type: "string", optional: true } },
			handler(ctx: Context<WsEmit>) {
				this.hub?.deliver(ctx.params);
			},
		},
		"ws.disconnect": {
			handler(ctx: Context<WsDisconnect>) {
				this.hub?.disconnectRooms(ctx.params.namespace, ctx.params.rooms);
			},
		},
		/**
		 * A service appeared or left: rebuild the REST routes at once (moleculer-web waits half a
		 * second, and a gateway that already said it can serve answered 404 for the new service's
		 * routes until then) and the socket event table.
		 */
		"$services.changed"() {
			if (this.routesReady) for (const route of this.routes ?? []) if (route.opts?.autoAliases) this.regenerateAutoAliases(route);
			this.hub?.refreshRoutes();
		},
		/**
		 * Every local service has started: build the REST routes now. moleculer-web otherwise does it
		 * half a second after the last service change, and /api answered 404 until then while
		 * /health already said the node was up.
		 */
		"$broker.started"() {
			for (const route of this.routes ?? []) if (route.opts?.autoAliases) this.regenerateAutoAliases(route);
			this.hub?.refreshRoutes();
			this.routesReady = true;
			this.openReadyGate();
		},
		/** New roles: tokens issued before the change and this node's open sockets use them from now on. */
		"users.rolesChanged": {
			params: { userId: "string", roles: { type: "array", items: "string" }, at: "number" },
			handler(ctx: Context<{ userId: string; roles: string[]; at: number }>) {
				this.roleChanges.set(ctx.params.userId, ctx.params.roles, ctx.params.at);
				this.hub?.updateRoles(ctx.params.userId, ctx.params.roles);
			},
		},
		/** A ban (or its lifting): access tokens already issued to that user stop (or start) working. */
		"users.banned": {
			params: { userId: "string", banned: "boolean", at: "number" },
			handler(ctx: Context<{ userId: string; banned: boolean; at: number }>) {
				if (ctx.params.banned) this.revoked.revoke(ctx.params.userId, ctx.params.at);
				else this.revoked.restore(ctx.params.userId);
			},
		},
		/** A personal access token revoked: refused on this gateway from now on. */
		"users.tokenRevoked": {
			params: { tokenId: "string", hash: "string" },
			handler(ctx: Context<{ tokenId: string; hash: string }>) {
				this.personalTokens.revoke(ctx.params.hash);
			},
		},
		/** Sessions ended (password change or reset, or ended by their owner): their access tokens stop working. */
		"users.sessionsEnded": {
			params: { sessions: { type: "array", items: "string" }, at: "number" },
			handler(ctx: Context<{ sessions: string[]; at: number }>) {
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
		httpHandler(req: Req, res: Res, next?: unknown) {
			res.setHeader("X-Content-Type-Options", "nosniff");
			const phase = this.phase();
			if (phase !== "ready") return answerNotServing(req, res, phase, this.broker.nodeID);
			capBodyTime(req, res, this.appConfig.bodyTimeoutMs);
			return webHttpHandler.call(this, req, res, next);
		},

		phase(): GatewayPhase {
			if (this.broker.stopping || (this.routesReady && !this.broker.started)) return "stopping";
			return this.routesReady ? "ready" : "starting";
		},

		/**
		 * Who is calling: the small user of a valid access token (roles as changed since it was
		 * issued), null when anonymous. What that user may call is middlewares/permissions.ts's job.
		 */
		async authenticate(_ctx: Ctx, _route: unknown, req: Req): Promise<AuthUser | null> {
			const token = bearerToken(req.headers.authorization);
			if (!token) {
				if (req.headers.authorization) throw new Errors.MoleculerClientError("Authorization header must be 'Bearer <token>'", 401, "INVALID_TOKEN");
				return null;
			}
			if (token.startsWith(PERSONAL_TOKEN_PREFIX)) {
				const user = await this.personalTokenUser(token).catch((err: Error) => {
					// The users service cannot answer: a fault to retry, not a refusal of the token.
					this.logger.warn("Personal token check failed", err.message);
					throw new Errors.MoleculerError("Service unavailable, retry shortly", 503, "SERVICE_UNAVAILABLE");
				});
				if (!user) throw new Errors.MoleculerClientError("Invalid, expired or revoked personal access token", 401, "INVALID_TOKEN");
				return user;
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

		/** The per-user rate limit (auth, roles and permissions are checked for every caller by middlewares/permissions.ts). */
		async authorize(ctx: Ctx) {
			const user = ctx.meta.user;
			if (!user) return;
			const verdict = await checkLimits(this.counters.store, `user:${user.id}`, [
				{ limit: this.appConfig.gateway.userPerMin, windowMs: LIMIT_WINDOW_MS },
			]);
			if (!verdict.allowed) {
				throw new Errors.MoleculerClientError("Too many requests", 429, "RATE_LIMITED", { retryAfterSec: verdict.retryAfterSec });
			}
		},

		async personalTokenUser(token: string): Promise<AuthUser | null> {
			if (!looksLikePersonalToken(token)) return null;
			const found = await this.personalTokens.get(hashPersonalToken(token), (hash) =>
				this.broker.call<ResolvedToken | null, { hash: string }>("users.resolvePersonalToken", { hash }),
			);
			if (!found || this.revoked.has(found.user.id)) return null;
			return this.roleChanges.apply(found.user);
		},

		selfUrl(): string {
			// Asked on every request; the port is fixed once the server listens.
			if (this.cachedSelfUrl) return this.cachedSelfUrl;
			const addr = this.server?.address();
			const port = addr && typeof addr === "object" ? addr.port : this.settings.port;
			const url = `http://127.0.0.1:${port}`;
			if (addr) this.cachedSelfUrl = url;
			return url;
		},
	},

	created() {
		this.readyGate = new Promise<void>((resolve) => (this.openReadyGate = resolve));
		this.appConfig = loadConfig();
		this.revoked = new RevokedUsers(this.appConfig.accessTokenTtlSec * 1000);
		this.roleChanges = new RoleChanges(this.appConfig.accessTokenTtlSec * 1000);
		this.personalTokens = new PersonalTokenCache(PERSONAL_TOKEN_CACHE_MS);
		this.counters = createCounters("ratelimit", "rl");
		const redis = this.counters.redis;
		if (redis) {
			// This process's share of the open sockets per IP; shares of processes gone are not counted.
			const isLive = (member: string) => {
				const [nodeID, instanceID] = member.split("|");
				const node = this.broker.registry.nodes.get(nodeID);
				return !!node?.available && node.instanceID === instanceID;
			};
			this.connections = new RedisConnectionTally(redis, `${counterNamespace()}:rl`, `${this.broker.nodeID}|${this.broker.instanceID}`, isLive);
		} else {
			this.connections = new MemoryConnectionTally();
		}
	},

	started() {
		const trustProxy = this.appConfig.gateway.trustProxy;
		this.hub = new SocketHub(this.broker, this.logger, this.server, {
			jwtSecret: this.appConfig.jwtSecret,
			isRevoked: (userId: string, sid?: string) => this.revoked.has(userId, sid),
			resolveOverlayToken: (token: string) => this.broker.call("users.resolveOverlayToken", { token }),
			whenReady: () => (this.routesReady ? null : this.readyGate),
			readyWaitMs: this.settings.socketReadyWaitMs,
			clientIp: (req) => clientIp(req, trustProxy),
			limits: { ...this.appConfig.socketLimits, counters: this.counters.store, connections: this.connections },
			currentUser: (user: AuthUser) => this.roleChanges.apply(user),
			resolvePersonalToken: (token: string) => this.personalTokenUser(token),
		});
		this.hub.refreshRoutes();
		this.server.on("clientError", answerClientError);
		// Bans from before this gateway started, within one access-token lifetime.
		const since = Date.now() - this.appConfig.accessTokenTtlSec * 1000;
		this.broker
			.waitForServices("users")
			.then(() => this.broker.call<Array<{ userId: string; at: number }>, { since: number }>("users.bannedSince", { since }))
			.then((rows) => rows.forEach((r) => this.revoked.revoke(r.userId, r.at)))
			.catch((err: Error) => this.logger.warn("Could not load recent bans", err.message));
		// Likewise sessions ended within one access-token lifetime.
		this.broker
			.waitForServices("users")
			.then(() => this.broker.call<Array<{ sessions: string[]; at: number }>, { since: number }>("users.sessionsEndedSince", { since }))
			.then((rows) => rows.forEach((r) => this.revoked.endSessions(r.sessions, r.at)))
			.catch((err: Error) => this.logger.warn("Could not load recently ended sessions", err.message));
		// Likewise role changes the tokens in use may predate.
		this.broker
			.waitForServices("users")
			.then(() => this.broker.call<Array<{ userId: string; roles: string[]; at: number }>, { since: number }>("users.rolesChangedSince", { since }))
			.then((rows) => rows.forEach((r) => this.roleChanges.set(r.userId, r.roles, r.at)))
			.catch((err: Error) => this.logger.warn("Could not load recent role changes", err.message));
	},

	async stopped() {
		if (this.hub) await this.hub.close();
		await closeMediaFiles(this);
		this.counters?.close();
	},
};

export default schema;
