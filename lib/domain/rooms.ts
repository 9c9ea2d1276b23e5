/**
 * Socket.IO namespaces and rooms: every room name is built here, so a service pushing to a room
 * and the gateway joining sockets to it cannot disagree.
 *
 *  - namespace "/":        `user:<userId>` (every socket of a signed-in user), `chat:<username>`
 *                          (a channel's chat room), `dm:<conversationId>` is not a room: direct
 *                          messages go to both participants' user rooms.
 *  - namespace "/overlay": `overlay:<userId>` (every overlay of a streamer) and
 *                          `overlaytoken:<tokenId>` (the overlays opened with one token, ended
 *                          when it is rotated).
 *  - namespace "/events":  `events:<userId>` (a channel's integration feed) and `pat:<tokenId>`
 *                          (also on "/": the sockets opened with one personal access token).
 */
export const NAMESPACE = { main: "/", overlay: "/overlay", events: "/events" } as const;
export type Namespace = (typeof NAMESPACE)[keyof typeof NAMESPACE];

/** Every chat room's name starts with it (the rooms whose viewers are counted). */
export const CHAT_PREFIX = "chat:";

export const rooms = {
	user: (userId: string) => `user:${userId}`,
	chat: (username: string) => `${CHAT_PREFIX}${username}`,
	overlay: (userId: string) => `overlay:${userId}`,
	overlayToken: (tokenId: string) => `overlaytoken:${tokenId}`,
	/** namespace "/events": every integration socket of a channel owner. */
	events: (userId: string) => `events:${userId}`,
	/** "/" and "/events": the sockets opened with one personal access token (ended when it is revoked). */
	personalToken: (tokenId: string) => `pat:${tokenId}`,
	/** "/": every socket opened with one of a user's personal access tokens (they are not in `user:<id>`). */
	personalTokensOf: (userId: string) => `pats:${userId}`,
};

/** The channel (username) of a chat room name, or null for any other room. */
export function chatRoomChannel(room: string): string | null {
	return room.startsWith(CHAT_PREFIX) ? room.slice(CHAT_PREFIX.length) : null;
}

export function isChatRoom(room: string): boolean {
	return room.startsWith(CHAT_PREFIX);
}

/**
 * The `ws.emit` broadcast: any service pushes `event` with `data` to the sockets in `rooms` of
 * `namespace` ("/" when absent); every gateway node delivers it to its own sockets
 * (services/gateway/socket-hub.ts). Built by mixins/realtime.mixin.ts.
 */
export interface WsEmit {
	namespace?: Namespace;
	rooms: string[];
	event: string;
	data: unknown;
	/** Leave these sockets out (a typing indicator is not echoed to its sender). */
	except?: string[];
}

/** The `ws.disconnect` broadcast: every gateway node disconnects its sockets in these rooms (token rotation, bans). */
export interface WsDisconnect {
	namespace: Namespace;
	rooms: string[];
}

/**
 * `ws.roomSizes`, broadcast by every gateway node: its own socket count of each changed counted
 * room (chat rooms), coalesced; `full: true` means rooms it does not list are empty on that node.
 */
export interface RoomSizesPacket {
	namespace: string;
	nodeID: string;
	sizes: Record<string, number>;
	full: boolean;
}
