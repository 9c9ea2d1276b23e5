import type { Namespace, Socket } from "socket.io";
import type { ServiceBroker } from "moleculer";
import { rooms } from "../../lib/domain/rooms";
import { PERSONAL_TOKEN_PREFIX } from "../../lib/domain/accounts/personal-tokens";
import type { FeedEventView } from "../../lib/domain/notify/feed";
import type { AuthUser } from "../../types/moleculer";

type LoggerInstance = ServiceBroker["logger"];

/**
 * The Socket.IO namespace `/events` for integrations (bots, tools): `auth: {token}` with an
 * access token or a personal access token with the scope `events:read`; the socket receives its
 * owner's channel events as `event` `{id, type, createdAt, data}` (services/notifications/
 * feed.service.ts stores and pushes them through `ws.emit` to the room `events:<userId>`, so any
 * gateway node serves it). With `auth.since = <the last id seen>` it is first sent what it missed
 * in the last hour (all of the last hour when the id is unknown), then `replayed {count}`, then
 * live events. The socket joins its room before asking for the missed ones, so nothing falls in
 * between; an event may then arrive twice (live and replayed): dedupe on `id`. Sockets opened
 * with a personal token are in `pat:<tokenId>` and disconnected when it is revoked. Client events
 * are not read here.
 */

export const EVENTS_SCOPE = "events:read";

export interface EventsNamespaceOptions {
	broker: ServiceBroker;
	logger: LoggerInstance;
	/** The user of an access token (signature, bans, ended sessions, roles as changed), or a connect error. */
	accessTokenUser(token: string): AuthUser | Error;
	/** The user (with scopes) of a live personal access token, or null. */
	personalTokenUser(token: string): Promise<AuthUser | null>;
	/** What the hub does for every socket of every namespace (counts, limits). */
	attach(socket: Socket): void;
	connectError(message: string, type: string): Error;
}

export function setupEventsNamespace(nsp: Namespace, opts: EventsNamespaceOptions): void {
	nsp.use(async (socket, next) => {
		const auth = socket.handshake.auth as Record<string, unknown> | undefined;
		const token = auth?.token;
		if (typeof token !== "string" || token.length === 0 || token.length > 2000) return next(opts.connectError("A token is required", "UNAUTHORIZED"));
		const since = auth?.since;
		if (since !== undefined && since !== null && (typeof since !== "string" || since.length > 64))
			return next(opts.connectError("since must be an event id", "VALIDATION_ERROR"));
		if (!token.startsWith(PERSONAL_TOKEN_PREFIX)) {
			const user = opts.accessTokenUser(token);
			if (user instanceof Error) return next(user);
			socket.data.user = user;
			return next();
		}
		try {
			const user = await opts.personalTokenUser(token);
			if (!user) return next(opts.connectError("Invalid, expired or revoked personal access token", "INVALID_TOKEN"));
			if (!user.scopes?.includes(EVENTS_SCOPE)) return next(opts.connectError(`This needs a token with the scope ${EVENTS_SCOPE}`, "INSUFFICIENT_SCOPE"));
			socket.data.user = user;
			next();
		} catch (err) {
			opts.logger.warn("Personal token check failed", (err as Error).message);
			next(opts.connectError("Service unavailable, retry shortly", "SERVICE_UNAVAILABLE"));
		}
	});
	nsp.on("connection", (socket) => {
		const user = socket.data.user as AuthUser;
		socket.join(user.tokenId ? [rooms.events(user.id), rooms.personalToken(user.tokenId)] : [rooms.events(user.id)]);
		opts.attach(socket);
		const since = (socket.handshake.auth as Record<string, unknown>).since;
		if (typeof since === "string" && since.length > 0) void replay(socket, user.id, since, opts);
	});
}

async function replay(socket: Socket, ownerId: string, since: string, opts: EventsNamespaceOptions) {
	try {
		const missed = await opts.broker.call<FeedEventView[], { ownerId: string; since: string }>("feed.since", { ownerId, since });
		for (const e of missed) socket.emit("event", e);
		socket.emit("replayed", { count: missed.length });
	} catch (err) {
		opts.logger.warn("Could not replay missed events", (err as Error).message);
		socket.emit("replayed", { count: 0, error: { type: "SERVICE_UNAVAILABLE", message: "Missed events could not be sent; reconnect to retry" } });
	}
}
