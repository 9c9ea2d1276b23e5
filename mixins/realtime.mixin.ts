import type { ServiceSchema, ServiceSettingSchema } from "moleculer";
import { NAMESPACE, type Namespace, type WsEmit } from "../lib/domain/rooms";

/**
 * Pushing to sockets from any service: one `ws.emit` broadcast that every gateway node receives
 * and hands to its Socket.IO server (services/gateway/socket-hub.ts), so a client gets the event
 * whichever gateway holds its socket. Room names and the packet type come from lib/domain/rooms.ts.
 */
export type { WsEmit };

/** Anything that broadcasts an event: a Context (keeps the request's tracing) or the broker. */
export interface Broadcaster {
	broadcast(event: string, data: WsEmit): unknown;
}

/** Broadcasts one push to every gateway node. */
export function pushToRooms(via: Broadcaster, rooms: string[], event: string, data: unknown, namespace: Namespace = NAMESPACE.main, except?: string[]): void {
	if (rooms.length === 0) return;
	const msg: WsEmit = { namespace, rooms, event, data };
	if (except?.length) msg.except = except;
	void via.broadcast("ws.emit", msg);
}

export interface RealtimeMethods {
	/** Pushes `event` to the rooms of the main namespace ("/"), through `ctx` when there is one. */
	push(rooms: string[], event: string, data: unknown, ctx?: Broadcaster): void;
	/** Pushes `event` to overlay rooms ("/overlay"). */
	pushOverlay(rooms: string[], event: string, data: unknown, ctx?: Broadcaster): void;
}

export const RealtimeMixin: Partial<ServiceSchema> = {
	methods: {
		push(rooms: string[], event: string, data: unknown, ctx?: Broadcaster) {
			pushToRooms(ctx ?? this.broker, rooms, event, data, NAMESPACE.main);
		},
		pushOverlay(rooms: string[], event: string, data: unknown, ctx?: Broadcaster) {
			pushToRooms(ctx ?? this.broker, rooms, event, data, NAMESPACE.overlay);
		},
	},
} satisfies Partial<ServiceSchema<ServiceSettingSchema, RealtimeMethods>>;
