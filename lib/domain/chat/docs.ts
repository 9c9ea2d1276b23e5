/**
 * The stored shapes of chat (collections `chat_messages`, `chat_rooms`, `chat_bans`, `chat_slow`,
 * `chat_conversations`). Rows written before a field existed keep working: readers default it.
 */

export interface MessageDoc {
	_id: string;
	/** `chat:<username>` for a channel message (its socket room), `dm:<conversationId>` for a direct one. */
	room: string;
	kind: "channel" | "dm";
	channel?: string;
	channelId?: string;
	conversationId?: string;
	to?: string;
	userId: string;
	username: string;
	displayName: string;
	text: string;
	createdAt: string;
	deletedAt: string | null;
	deletedBy?: string | null;
	nonceKey?: string;
	/** Set while the chat.mentioned / chat.dm notification is not yet handed to the channel (lib/db/outbox.ts). */
	effectsDue?: true;
	mentionIds?: string[];
}

/** A channel's chat settings and moderators; `_id` is the owner's user id. */
export interface RoomDoc {
	_id: string;
	channel: string;
	slowModeSec: number;
	followersOnly: boolean;
	blockedTerms: string[];
	moderators: string[];
	updatedAt: string;
}

/** A ban (`until: null`) or timeout; one row per channel and user (`key`, lib/domain/chat/keys.ts). */
export interface BanDoc {
	_id: string;
	key: string;
	channelId: string;
	userId: string;
	/** Epoch ms, or null for a ban without end. */
	until: number | null;
	reason: string | null;
	by: string;
	createdAt: string;
}

/** A user's last accepted send in a slow-mode channel; `_id` is `slowKey(channelId, userId)`. */
export interface SlowDoc {
	_id: string;
	lastAt: number;
}

export interface ConversationDoc {
	_id: string;
	/** The two participant ids, sorted and joined: one conversation per pair. */
	pairKey: string;
	participants: string[];
	createdAt: string;
	/** Newest message id, or the conversation id before the first message: lists sort on it. */
	activity: string;
	lastMessageId: string | null;
	/** Per participant, the newest message id they have read. */
	reads: Record<string, string>;
}

/** A channel: its owner. */
export interface Owner {
	id: string;
	username: string;
	displayName: string;
}

/** The settings a channel has before anyone changed them. */
export function defaultRoom(owner: Owner, updatedAt = ""): RoomDoc {
	return { _id: owner.id, channel: owner.username, slowModeSec: 0, followersOnly: false, blockedTerms: [], moderators: [], updatedAt };
}
