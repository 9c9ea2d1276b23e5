import type { IncomingMessage, Server as HttpServer } from "node:http";
import { Server, type Namespace, type Socket } from "socket.io";
import type { ActionSchema, ServiceBroker } from "moleculer";
import { verifyAccessToken } from "../../lib/tools/tokens";
import { checkLimits, type ConnectionTally, type CounterStore } from "../../lib/tools/rate-limit";
import { CHAT_PREFIX, NAMESPACE, rooms as roomNames, type Namespace as RoomNamespace, type RoomSizesPacket, type WsEmit } from "../../lib/domain/rooms";
import { PERSONAL_TOKEN_PREFIX } from "../../lib/domain/accounts/personal-tokens";
import type { AuthUser, GatewayMeta } from "../../types/moleculer";
import { setupEventsNamespace } from "./events-namespace";

type LoggerInstance = ServiceBroker["logger"];

/**
 * Socket.IO on the gateway's HTTP server. Three namespaces:
 *  - "/"        viewers and users (access token optional), rooms `user:<id>` plus whatever
 *               actions ask for (chat rooms);
 *  - "/overlay" OBS overlays (overlay token required), rooms `overlay:<userId>` and
 *               `overlaytoken:<tokenId>`;
 *  - "/events"  integrations (access token, or personal access token with `events:read`): the
 *               channel's events, replayed from `auth.since` (events-namespace.ts).
 * A personal access token (`msp_…`) also opens "/" (its scopes then decide which events it may send).
 *
 * Client → server: an action declares `socket: "chat:send"` (or "/overlay alert:done") and the
 * hub routes that event to it with `ctx.meta.user` and `ctx.meta.socket`, answering the ack with
 * `{ok: true, ...result}` or `{ok: false, error: {type, message, retryAfterSec?}}`.
 * Server → client: any service broadcasts `ws.emit` {namespace, rooms, event, data}; every
 * gateway node delivers to its own sockets in those rooms, so several gateways need no sticky
 * routing between them.
 */

/** The `ws.emit` packet (one definition, lib/domain/rooms.ts; built by mixins/realtime.mixin.ts). */
export type EmitPacket = WsEmit;

interface Route {
	action: string;
}

export interface HubOptions {
	jwtSecret: string;
	/** A user whose access tokens were revoked (banned) may not connect with one. */
	isRevoked?(userId: string, sid?: string): boolean;
	/** Called before a socket may use /overlay; returns the overlay's owner or null. */
	resolveOverlayToken(token: string): Promise<{ user: AuthUser; tokenId: string } | null>;
	maxPayloadBytes?: number;
	corsOrigin?: string | string[] | boolean;
	/** Rooms (by prefix) whose local sizes this node reports in `ws.roomSizes` (default chat rooms). */
	countedRoomPrefixes?: string[];
	/** Trailing window that coalesces room size reports, ms (default 250). */
	roomSizeWindowMs?: number;
	/** Every this many ms a full snapshot is reported, so a new listener converges (default 15 s). */
	roomSizeSnapshotMs?: number;
	/**
	 * While the node is starting: a promise that resolves once it can serve (null once it can).
	 * Handshakes wait for it instead of being refused: socket.io-client does not retry a refused one.
	 */
	whenReady?(): Promise<void> | null;
	/** Longest a handshake waits for the node to be ready before a STARTING connect error, ms (default 5 s). */
	readyWaitMs?: number;
	/** The client's address (X-Forwarded-For when the gateway trusts its proxy). */
	clientIp?(req: IncomingMessage): string;
	/**
	 * Per-IP limits: open sockets (`perIp`, counted in `connections`) and handshakes per minute
	 * (`handshakesPerMin`, counted in `counters`); both shared by every gateway when Redis is.
	 */
	limits?: { perIp: number; handshakesPerMin: number; counters: CounterStore; connections: ConnectionTally };
	/** The user with roles changed since their token was issued (lib/tools/role-changes.ts). */
	currentUser?(user: AuthUser): AuthUser;
	/** The user (with scopes) of a live personal access token, or null (none: tokens are refused). */
	resolvePersonalToken?(token: string): Promise<AuthUser | null>;
}

/**
 * `ws.roomSizes` (broadcast): this gateway node's local socket count per counted room. Absolute
 * numbers; `full: true` means rooms not listed are empty on this node.
 */

export const NAMESPACES = [NAMESPACE.main, NAMESPACE.overlay, NAMESPACE.events] as const;

const MAX_EVENT_ARGS = 3;

export class SocketHub {
	readonly io: Server;
	private routes = new Map<string, Route>();
	/** Counted by connect/disconnect, read by metrics. */
	readonly connected: Record<string, number> = { "/": 0, "/overlay": 0, "/events": 0 };
	/** Handshakes waiting for the node to be ready. */
	holding = 0;
	/** Socket id → who it counts as in viewer counts (`user:<id>` or `ip:<address>`). */
	private readonly viewerKeys = new Map<string, string>();
	/** Counted room → viewer key → that viewer's sockets in the room on this node. */
	private readonly viewers = new Map<string, Map<string, number>>();
	private readonly dirtyRooms = new Set<string>();
	private roomSizeTimer: NodeJS.Timeout | null = null;
	private readonly snapshotTimer: NodeJS.Timeout;
	private readonly onServicesChanged = () => this.reportRoomSizes(true);
	private closed = false;

	constructor(
		private readonly broker: ServiceBroker,
		private readonly logger: LoggerInstance,
		server: HttpServer,
		private readonly opts: HubOptions,
	) {
		this.io = new Server(server, {
			serveClient: false,
			maxHttpBufferSize: opts.maxPayloadBytes ?? 64 * 1024,
			cors: { origin: opts.corsOrigin ?? true, credentials: false },
			pingInterval: 20_000,
			pingTimeout: 20_000,
		});
		// Before any namespace's own checks: per-IP limits, then a handshake during start-up waits for the node.
		for (const ns of NAMESPACES) {
			this.io.of(ns).use((socket, next) => void this.checkIpLimits(socket, next));
			this.io.of(ns).use((_socket, next) => this.holdUntilReady(next));
		}
		this.setupMain(this.io.of("/"));
		this.setupOverlay(this.io.of("/overlay"));
		setupEventsNamespace(this.io.of(NAMESPACE.events), {
			broker,
			logger,
			accessTokenUser: (token) => this.accessTokenUser(token),
			personalTokenUser: (token) => this.personalTokenUser(token),
			attach: (socket) => this.attach(socket, NAMESPACE.events),
			connectError,
		});
		this.watchRoomSizes(this.io.of("/"));
		this.snapshotTimer = setInterval(() => this.reportRoomSizes(true), opts.roomSizeSnapshotMs ?? 15_000);
		this.snapshotTimer.unref();
		// A listener that just started (e.g. a new chat node) gets this node's counts at once.
		this.broker.localBus.on("$services.changed", this.onServicesChanged);
	}

	/** The address a socket's limits and anonymous viewer count are keyed by. */
	ipOf(socket: Socket): string {
		return this.opts.clientIp?.(socket.request) ?? socket.handshake.address;
	}

	private async checkIpLimits(socket: Socket, next: (err?: Error) => void) {
		const limits = this.opts.limits;
		if (!limits) return next();
		const ip = this.ipOf(socket);
		socket.data.ip = ip;
		try {
			const verdict = await checkLimits(limits.counters, `ws:${ip}`, [{ limit: limits.handshakesPerMin, windowMs: 60_000 }]);
			if (!verdict.allowed)
				return next(connectError("Too many connection attempts, retry later", "RATE_LIMITED", { retryAfterSec: verdict.retryAfterSec }));
			if ((await limits.connections.count(ip)) >= limits.perIp) {
				return next(connectError("Too many open connections from this address", "TOO_MANY_CONNECTIONS", { retryAfterSec: 60 }));
			}
		} catch (err) {
			// The shared counters are down: let the socket in rather than lock every viewer out.
			this.logger.warn("Socket limits unavailable", (err as Error).message);
		}
		next();
	}

	private holdUntilReady(next: (err?: Error) => void) {
		const ready = this.opts.whenReady?.();
		if (!ready) return next();
		let settled = false;
		this.holding++;
		const settle = (err?: Error) => {
			if (settled) return;
			settled = true;
			this.holding--;
			next(err);
		};
		const timer = setTimeout(() => settle(connectError("The server is starting, retry shortly", "STARTING")), this.opts.readyWaitMs ?? 5_000);
		void ready.then(() => {
			clearTimeout(timer);
			settle();
		});
	}

	/** Rebuilds the event → action table from every action that declares `socket`. */
	refreshRoutes() {
		const routes = new Map<string, Route>();
		const list = this.broker.registry.getActionList({ onlyAvailable: false, skipInternal: true, withEndpoints: false }) as Array<
			ActionSchema & { action?: ActionSchema }
		>;
		for (const item of list) {
			const def = item.action ?? item;
			const spec: unknown = def.socket;
			if (typeof spec !== "string" || !def.name) continue;
			const [ns, event] = spec.includes(" ") ? spec.split(" ", 2) : ["/", spec];
			routes.set(`${ns} ${event}`, { action: def.name });
		}
		this.routes = routes;
	}

	/** Delivers a broadcast packet to this node's sockets. */
	deliver(packet: EmitPacket) {
		const nsp = this.io.of(packet.namespace || "/");
		if (!packet.rooms || packet.rooms.length === 0) return;
		let target = nsp.to(packet.rooms);
		if (packet.except && packet.except.length > 0) target = target.except(packet.except);
		target.emit(packet.event, packet.data);
	}

	/** A user's roles changed: this node's open sockets of that user act with the new ones from now on. */
	updateRoles(userId: string, roles: string[]) {
		for (const [ns, room] of [
			[NAMESPACE.main, roomNames.user(userId)],
			[NAMESPACE.overlay, roomNames.overlay(userId)],
		]) {
			const ids = this.io.of(ns).adapter.rooms.get(room);
			for (const id of ids ?? []) {
				const socket = this.io.of(ns).sockets.get(id);
				if (socket?.data.user) socket.data.user = { ...socket.data.user, roles: [...roles] };
			}
		}
	}

	/** Disconnects this node's sockets in the given rooms (token rotation, bans). */
	disconnectRooms(namespace: RoomNamespace | string, rooms: string[]) {
		this.io.of(namespace).in(rooms).disconnectSockets(true);
	}

	/**
	 * Local size of a room: for counted rooms of the main namespace the number of distinct viewers
	 * (signed-in users, and anonymous sockets per address), so one client opening a thousand
	 * sockets is one viewer; otherwise the socket count (O(1): socket.io keeps the sets).
	 */
	localRoomSize(namespace: string, room: string): number {
		if (namespace === "/" && this.isCounted(room)) return this.viewers.get(room)?.size ?? 0;
		return this.io.of(namespace).adapter.rooms.get(room)?.size ?? 0;
	}

	private countViewer(room: string, socketId: string, delta: 1 | -1) {
		const key = this.viewerKeys.get(socketId) ?? `socket:${socketId}`;
		let inRoom = this.viewers.get(room);
		if (!inRoom) {
			if (delta < 0) return;
			inRoom = new Map();
			this.viewers.set(room, inRoom);
		}
		const n = (inRoom.get(key) ?? 0) + delta;
		if (n > 0) inRoom.set(key, n);
		else inRoom.delete(key);
		if (inRoom.size === 0) this.viewers.delete(room);
	}

	/**
	 * Reports the local size of counted rooms in the main namespace: the rooms that changed since
	 * the last report, or every counted room (`full`). Sizes come from socket.io's own room sets.
	 */
	reportRoomSizes(full = false) {
		if (this.closed) return;
		const nsp = this.io.of("/");
		const rooms = full ? [...nsp.adapter.rooms.keys()].filter((r) => this.isCounted(r)) : [...this.dirtyRooms];
		this.dirtyRooms.clear();
		if (rooms.length === 0 && !full) return;
		const sizes: Record<string, number> = {};
		for (const room of rooms) sizes[room] = this.localRoomSize("/", room);
		const packet: RoomSizesPacket = { namespace: "/", nodeID: this.broker.nodeID, sizes, full };
		this.broker.broadcast("ws.roomSizes", packet).catch((err: Error) => this.logger.warn("ws.roomSizes broadcast failed", err.message));
	}

	private isCounted(room: string): boolean {
		return (this.opts.countedRoomPrefixes ?? [CHAT_PREFIX]).some((p) => room.startsWith(p));
	}

	private watchRoomSizes(nsp: Namespace) {
		const touch = (room: string) => {
			this.dirtyRooms.add(room);
			if (this.roomSizeTimer) return;
			this.roomSizeTimer = setTimeout(() => {
				this.roomSizeTimer = null;
				this.reportRoomSizes(false);
			}, this.opts.roomSizeWindowMs ?? 250);
			this.roomSizeTimer.unref();
		};
		nsp.adapter.on("join-room", (room: string, id: string) => {
			if (!this.isCounted(room)) return;
			this.countViewer(room, id, 1);
			touch(room);
		});
		nsp.adapter.on("leave-room", (room: string, id: string) => {
			if (!this.isCounted(room)) return;
			this.countViewer(room, id, -1);
			touch(room);
		});
	}

	async close() {
		this.closed = true;
		clearInterval(this.snapshotTimer);
		if (this.roomSizeTimer) clearTimeout(this.roomSizeTimer);
		this.broker.localBus.off("$services.changed", this.onServicesChanged);
		await new Promise<void>((resolve) => this.io.close(() => resolve()));
	}

	/** The user of an access token (bans and ended sessions applied, roles as changed), or the connect error to answer. */
	accessTokenUser(token: string): AuthUser | Error {
		const v = verifyAccessToken(token, this.opts.jwtSecret);
		if (!v.ok) return connectError(v.reason === "expired" ? "Token expired" : "Invalid token", v.reason === "expired" ? "TOKEN_EXPIRED" : "INVALID_TOKEN");
		if (this.opts.isRevoked?.(v.user.id, v.user.sid)) return connectError("This account is suspended", "TOKEN_REVOKED");
		return this.opts.currentUser ? this.opts.currentUser(v.user) : v.user;
	}

	/** The user (with scopes) of a live personal access token, or null. */
	async personalTokenUser(token: string): Promise<AuthUser | null> {
		return this.opts.resolvePersonalToken ? this.opts.resolvePersonalToken(token) : null;
	}

	private setupMain(nsp: Namespace) {
		nsp.use((socket, next) => {
			const token = (socket.handshake.auth as Record<string, unknown> | undefined)?.token;
			if (token === undefined || token === null || token === "") {
				socket.data.user = null;
				return next();
			}
			if (typeof token !== "string") return next(connectError("Token must be a string", "INVALID_TOKEN"));
			if (token.startsWith(PERSONAL_TOKEN_PREFIX)) {
				this.personalTokenUser(token).then(
					(user) =>
						user ? ((socket.data.user = user), next()) : next(connectError("Invalid, expired or revoked personal access token", "INVALID_TOKEN")),
					(err: Error) => {
						this.logger.warn("Personal token check failed", err.message);
						next(connectError("Service unavailable, retry shortly", "SERVICE_UNAVAILABLE"));
					},
				);
				return;
			}
			const user = this.accessTokenUser(token);
			if (user instanceof Error) return next(user);
			socket.data.user = user;
			next();
		});
		nsp.on("connection", (socket) => {
			const user = socket.data.user as AuthUser | null;
			// A personal token's socket is not in the user's room (direct messages, notifications): only what its scopes open.
			if (user) socket.join(user.tokenId ? [roomNames.personalToken(user.tokenId), roomNames.personalTokensOf(user.id)] : roomNames.user(user.id));
			this.attach(socket, "/");
		});
	}

	private setupOverlay(nsp: Namespace) {
		nsp.use(async (socket, next) => {
			const token = (socket.handshake.auth as Record<string, unknown> | undefined)?.token ?? socket.handshake.query?.token;
			if (typeof token !== "string" || token.length === 0 || token.length > 200) return next(connectError("Overlay token required", "INVALID_TOKEN"));
			try {
				const owner = await this.opts.resolveOverlayToken(token);
				if (!owner) return next(connectError("Invalid overlay token", "INVALID_TOKEN"));
				socket.data.user = owner.user;
				socket.data.tokenId = owner.tokenId;
				next();
			} catch (err) {
				this.logger.warn("Overlay token check failed", (err as Error).message);
				next(connectError("Service unavailable, retry shortly", "SERVICE_UNAVAILABLE"));
			}
		});
		nsp.on("connection", (socket) => {
			const user = socket.data.user as AuthUser;
			socket.join([roomNames.overlay(user.id), roomNames.overlayToken(socket.data.tokenId)]);
			this.attach(socket, "/overlay");
			// Tell the alerts service an overlay is listening, so the current alert is (re)sent.
			this.broker.call("alerts.overlayConnected", { userId: user.id }, { meta: { user } }).catch((err: Error) => {
				this.logger.warn("alerts.overlayConnected failed", err.message);
			});
		});
	}

	private attach(socket: Socket, namespace: string) {
		this.connected[namespace] = (this.connected[namespace] ?? 0) + 1;
		const ip: string = socket.data.ip ?? this.ipOf(socket);
		const user = socket.data.user as AuthUser | null;
		// One viewer per signed-in user, or per address for anonymous sockets.
		this.viewerKeys.set(socket.id, user ? `user:${user.id}` : `ip:${ip}`);
		const connections = this.opts.limits?.connections;
		if (connections) {
			connections.add(ip).catch((err: Error) => this.logger.warn("Socket connection count unavailable", err.message));
			socket.on("disconnect", () => {
				connections.remove(ip).catch((err: Error) => this.logger.warn("Socket connection count unavailable", err.message));
			});
		}
		socket.onAny((event: unknown, ...args: unknown[]) => {
			void this.dispatch(socket, namespace, event, args);
		});
		socket.on("disconnecting", () => {
			const rooms = [...socket.rooms].filter((r) => r !== socket.id);
			this.broker.emit("socket.disconnected", { namespace, socketId: socket.id, user: socket.data.user ?? null, rooms });
		});
		socket.on("disconnect", () => {
			this.connected[namespace] = Math.max(0, (this.connected[namespace] ?? 1) - 1);
			this.viewerKeys.delete(socket.id);
		});
	}

	private async dispatch(socket: Socket, namespace: string, event: unknown, args: unknown[]) {
		const last = args[args.length - 1];
		const ack = typeof last === "function" ? (last as (res: unknown) => void) : null;
		const reply = (res: unknown) => {
			if (ack) ack(res);
		};
		if (typeof event !== "string" || args.length > MAX_EVENT_ARGS) {
			return reply({ ok: false, error: { type: "BAD_EVENT", message: "Unknown event" } });
		}
		const route = this.routes.get(`${namespace} ${event}`);
		if (!route) return reply({ ok: false, error: { type: "UNKNOWN_EVENT", message: `Unknown event "${event}"` } });
		const payload = ack ? args.slice(0, -1)[0] : args[0];
		if (payload !== undefined && (payload === null || typeof payload !== "object" || Array.isArray(payload))) {
			return reply({ ok: false, error: { type: "VALIDATION_ERROR", message: "Payload must be an object" } });
		}
		const user = socket.data.user as AuthUser | null;
		// `via: "socket"`: middlewares/permissions.ts checks the action's auth, roles and permissions.
		const meta: GatewayMeta = {
			via: "socket",
			user: user && this.opts.currentUser ? this.opts.currentUser(user) : user,
			ip: socket.data.ip ?? this.ipOf(socket),
			socket: { id: socket.id, namespace, rooms: [...socket.rooms].filter((r) => r !== socket.id) },
		};
		try {
			const ctxMeta = meta as Record<string, unknown>;
			const result = await this.broker.call(route.action, (payload ?? {}) as Record<string, unknown>, { meta: ctxMeta });
			if (Array.isArray(ctxMeta.$join)) socket.join(ctxMeta.$join as string[]);
			if (Array.isArray(ctxMeta.$leave)) for (const r of ctxMeta.$leave as string[]) socket.leave(r);
			reply({ ok: true, ...(result && typeof result === "object" ? (result as object) : {}) });
		} catch (err) {
			reply({ ok: false, error: socketError(err) });
		}
	}
}

function connectError(message: string, type: string, extra: Record<string, unknown> = {}): Error {
	const err = new Error(message) as Error & { data: unknown };
	err.data = { type, message, ...extra };
	return err;
}

/** Maps a Moleculer error to the contract's ack error shape; never leaks a server stack. */
export function socketError(err: unknown): { type: string; message: string; retryAfterSec?: number; data?: unknown } {
	const e = err as { code?: number; type?: string; message?: string; data?: { retryAfterSec?: unknown } | unknown[] };
	const code = typeof e.code === "number" ? e.code : 500;
	if (code >= 500) {
		return {
			type: e.type && code === 503 ? e.type : "SERVER_ERROR",
			message: code === 503 ? "Service unavailable, retry shortly" : "Something went wrong",
		};
	}
	const out: { type: string; message: string; retryAfterSec?: number; data?: unknown } = {
		type: e.type || "BAD_REQUEST",
		message: e.message || "Request refused",
	};
	const retry = e.data && !Array.isArray(e.data) ? e.data.retryAfterSec : undefined;
	if (typeof retry === "number") out.retryAfterSec = retry;
	if (Array.isArray(e.data)) out.data = e.data;
	return out;
}
