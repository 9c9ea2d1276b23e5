import type { ServiceSchema } from "moleculer";
import { RealtimeMixin, type RealtimeMethods } from "../../mixins/realtime.mixin";
import { newId, isId } from "../../lib/tools/ids";
import { invalid, notFound } from "../../lib/tools/errors";
import { loaded } from "../../lib/domain/permissions";
import { countChatMessage } from "../../lib/tools/metrics";
import { rooms } from "../../lib/domain/rooms";
import { TypingThrottle } from "../../lib/domain/chat/typing";
import { conversationPair, dmRoom, nonceKey as makeNonceKey, otherParticipant } from "../../lib/domain/chat/keys";
import { dmView, identity } from "../../lib/domain/chat/views";
import type { ConversationDoc, MessageDoc, Owner } from "../../lib/domain/chat/docs";
import { OUTBOX_MARK } from "../../lib/db/outbox";
import {
	ChatCommonMixin,
	ChatStoresBorrower,
	CURSOR,
	HISTORY_ON_JOIN,
	ID,
	LIMIT,
	NONCE,
	TEXT,
	USERNAME,
	checkNonce,
	requireUser,
	textOrThrow,
	type ChatCommonMethods,
	type ChatLocal,
	type ChatSettings,
	type Ctx,
} from "./chat-common";

/**
 * Direct conversations between two users: one conversation per pair (`pairKey`), messages in
 * `chat_messages` under `dm:<conversationId>`, per-participant read marks and unread counts.
 * Only participants see a conversation (to anyone else it does not exist: 404; the actions name the
 * permission "conversation.participant" of lib/domain/permissions.ts). Messages are
 * pushed to both participants' user rooms; the recipient is notified through `chat.dm`.
 * The rows live in the chat service's collections (services/chat/chat-common.ts).
 *
 * Crash recovery: a message carries its notification mark (`effectsDue`) from the insert; the
 * chat service re-drives marks left behind. `activity` and read marks only move forward, so a
 * late or repeated update never undoes a newer one.
 */

type ConversationView = {
	id: string;
	participants: Array<{ id: string; username: string | null; displayName: string | null }>;
	with: { id: string; username: string | null; displayName: string | null };
	lastMessage: ReturnType<typeof dmView> | null;
	unread: number;
	lastReadId: string | null;
	createdAt: string;
};

interface Local extends ChatLocal {
	typing: TypingThrottle;
}
interface Methods extends ChatCommonMethods, RealtimeMethods {
	/**
	 * The conversation if the user takes part in it; otherwise 404 (its existence stays private).
	 * The one "conversation.participant" loaded, else read here.
	 */
	requireConversation(ctx: Ctx, id: string, userId: string): Promise<ConversationDoc>;
	conversationViews(ctx: Ctx, convs: ConversationDoc[], me: string): Promise<ConversationView[]>;
	unreadCount(c: ConversationDoc, me: string): Promise<number>;
	sendDm(ctx: Ctx, conversationId: string, rawText: string, nonce?: string): Promise<{ message: ReturnType<typeof dmView>; duplicate: boolean }>;
	/** Moves a reader's mark forward only (a late, older mark never undoes a newer one). */
	advanceRead(conversationId: string, userId: string, messageId: string): Promise<boolean>;
	markRead(ctx: Ctx, conversationId: string): Promise<{ conversationId: string; lastReadId: string | null; unread: number }>;
}

const schema: ServiceSchema<ChatSettings, Methods, Local> = {
	name: "dm",
	mixins: [ChatStoresBorrower, RealtimeMixin, ChatCommonMixin],
	settings: { rest: "/" },

	actions: {
		// ---- over REST ----

		/** The one conversation between the caller and `with`: 201 when new, 200 when it existed. */
		openConversation: {
			rest: "POST /conversations",
			status: [200, 201],
			auth: "required",
			params: { with: USERNAME },
			async handler(ctx: Ctx<{ with: string }>) {
				const me = requireUser(ctx, "send messages");
				const other = (await ctx.call("users.get", { username: ctx.params.with.toLowerCase() })) as Owner | null;
				if (!other) throw notFound("User", "USER_NOT_FOUND");
				if (other.id === me.id) throw invalid("with", "You cannot start a conversation with yourself");
				const { participants, pairKey } = conversationPair(me.id, other.id);
				let conv = await this.stores.chat_conversations.findOne({ pairKey });
				let created = false;
				if (!conv) {
					const id = newId();
					const doc: ConversationDoc = {
						_id: id,
						pairKey,
						participants,
						createdAt: new Date().toISOString(),
						activity: id,
						lastMessageId: null,
						reads: {},
					};
					({ doc: conv, created } = await this.stores.chat_conversations.insertOrGet(doc, { pairKey }));
				}
				ctx.meta.$statusCode = created ? 201 : 200;
				return (await this.conversationViews(ctx, [conv], me.id))[0];
			},
		},

		/** The caller's conversations, most recent activity first. */
		listConversations: {
			rest: "GET /conversations",
			auth: "required",
			params: { limit: LIMIT, cursor: CURSOR },
			async handler(ctx: Ctx<{ limit?: number; cursor?: string }>) {
				const me = requireUser(ctx, "read messages");
				const limit = ctx.params.limit ?? 20;
				const query: Record<string, unknown> = { participants: me.id };
				if (ctx.params.cursor) {
					if (!isId(ctx.params.cursor)) throw invalid("cursor", "cursor is not valid");
					query.activity = { $lt: ctx.params.cursor };
				}
				const rows = await this.stores.chat_conversations.find({ query, sort: ["-activity"], limit: limit + 1 });
				const items = rows.slice(0, limit);
				return { items: await this.conversationViews(ctx, items, me.id), nextCursor: rows.length > limit ? items[items.length - 1].activity : null };
			},
		},

		/** One conversation (participants only). */
		getConversation: {
			rest: "GET /conversations/:id",
			auth: "required",
			permissions: ["conversation.participant"],
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const me = requireUser(ctx, "read messages");
				const conv = await this.requireConversation(ctx, ctx.params.id, me.id);
				return (await this.conversationViews(ctx, [conv], me.id))[0];
			},
		},

		/** A conversation's messages, newest first (participants only). */
		conversationMessages: {
			rest: "GET /conversations/:id/messages",
			auth: "required",
			permissions: ["conversation.participant"],
			params: { id: ID, limit: LIMIT, cursor: CURSOR },
			async handler(ctx: Ctx<{ id: string; limit?: number; cursor?: string }>) {
				const me = requireUser(ctx, "read messages");
				const conv = await this.requireConversation(ctx, ctx.params.id, me.id);
				const page = await this.store.page({ room: dmRoom(conv._id), deletedAt: null }, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: page.items.map(dmView), nextCursor: page.nextCursor };
			},
		},

		/** Send a direct message: 201 new, 200 when the nonce was already used. */
		sendConversationMessage: {
			rest: "POST /conversations/:id/messages",
			status: [201, 200],
			// Never retried by the broker: a second run would make a second message (unless it has a nonce).
			retryPolicy: { enabled: false },
			auth: "required",
			permissions: ["conversation.participant"],
			params: { id: ID, text: TEXT, nonce: NONCE },
			async handler(ctx: Ctx<{ id: string; text: string; nonce?: string }>) {
				const result = await this.sendDm(ctx, ctx.params.id, ctx.params.text, ctx.params.nonce);
				ctx.meta.$statusCode = result.duplicate ? 200 : 201;
				return result.message;
			},
		},

		/** Mark a conversation read up to its newest message. */
		readConversation: {
			rest: "POST /conversations/:id/read",
			auth: "required",
			permissions: ["conversation.participant"],
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				return this.markRead(ctx, ctx.params.id);
			},
		},

		// ---- over sockets ----

		/** Open a conversation view (participants only) with recent history. */
		dmJoin: {
			socket: "dm:join",
			permissions: ["conversation.participant"],
			params: { conversationId: ID },
			async handler(ctx: Ctx<{ conversationId: string }>) {
				const me = requireUser(ctx, "read messages");
				const conv = await this.requireConversation(ctx, ctx.params.conversationId, me.id);
				const page = await this.store.page({ room: dmRoom(conv._id), deletedAt: null }, { limit: HISTORY_ON_JOIN });
				const [view] = await this.conversationViews(ctx, [conv], me.id);
				return { conversation: view, history: page.items.reverse().map(dmView) };
			},
		},

		/** Send a direct message. */
		dmSend: {
			socket: "dm:send",
			permissions: ["conversation.participant"],
			// Never retried by the broker: a second run would make a second message (unless it has a nonce).
			retryPolicy: { enabled: false },
			params: { conversationId: ID, text: TEXT, nonce: NONCE },
			async handler(ctx: Ctx<{ conversationId: string; text: string; nonce?: string }>) {
				return this.sendDm(ctx, ctx.params.conversationId, ctx.params.text, ctx.params.nonce);
			},
		},

		/** Mark a conversation read. */
		dmRead: {
			socket: "dm:read",
			permissions: ["conversation.participant"],
			params: { conversationId: ID },
			async handler(ctx: Ctx<{ conversationId: string }>) {
				return this.markRead(ctx, ctx.params.conversationId);
			},
		},

		/** "Typing" to the other participant (throttled). */
		dmTyping: {
			socket: "dm:typing",
			permissions: ["conversation.participant"],
			params: { conversationId: ID },
			async handler(ctx: Ctx<{ conversationId: string }>) {
				const me = requireUser(ctx, "send messages");
				const conv = await this.requireConversation(ctx, ctx.params.conversationId, me.id);
				if (!this.typing.allow(`${dmRoom(conv._id)}:${me.id}`)) return { conversationId: conv._id, throttled: true };
				const other = otherParticipant(conv.participants, me.id)!;
				this.push([rooms.user(other)], "dm:typing", { conversationId: conv._id, user: identity(me) }, ctx);
				return { conversationId: conv._id };
			},
		},

		// ---- internal ----

		/** The conversation document, or null (the "conversation.participant" rule reads it). */
		conversation: {
			visibility: "public",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>): Promise<ConversationDoc | null> {
				return isId(ctx.params.id) ? this.stores.chat_conversations.findById(ctx.params.id) : null;
			},
		},
	},

	methods: {
		async requireConversation(ctx: Ctx, id: string, userId: string) {
			const checked = loaded(ctx, "conversation", id)?.doc;
			if (checked) return checked;
			const conv = isId(id) ? await this.stores.chat_conversations.findById(id) : null;
			if (!conv || !conv.participants.includes(userId)) throw notFound("Conversation", "CONVERSATION_NOT_FOUND");
			return conv;
		},

		async conversationViews(ctx: Ctx, convs: ConversationDoc[], me: string) {
			if (convs.length === 0) return [];
			const ids = [...new Set(convs.flatMap((c) => c.participants))];
			const people = (await ctx.call("users.identities", { ids })) as Owner[];
			const byId = new Map(people.map((p) => [p.id, { id: p.id, username: p.username, displayName: p.displayName }]));
			const lastIds = convs.map((c) => c.lastMessageId).filter((x): x is string => !!x);
			const lasts = await this.store.findByIds(lastIds);
			const lastById = new Map(lasts.map((m) => [m._id, m]));
			const unknown = (id: string) => ({ id, username: null, displayName: null });
			return Promise.all(
				convs.map(async (c) => {
					const last = c.lastMessageId ? lastById.get(c.lastMessageId) : undefined;
					const otherId = otherParticipant(c.participants, me) ?? me;
					return {
						id: c._id,
						participants: c.participants.map((p) => byId.get(p) ?? unknown(p)),
						with: byId.get(otherId) ?? unknown(otherId),
						lastMessage: last && !last.deletedAt ? dmView(last) : null,
						unread: await this.unreadCount(c, me),
						lastReadId: c.reads?.[me] ?? null,
						createdAt: c.createdAt,
					};
				}),
			);
		},

		unreadCount(c: ConversationDoc, me: string) {
			if (!c.lastMessageId) return Promise.resolve(0);
			const query: Record<string, unknown> = { room: dmRoom(c._id), userId: { $ne: me }, deletedAt: null };
			const lastRead = c.reads?.[me];
			if (lastRead) query._id = { $gt: lastRead };
			return this.store.count(query);
		},

		async sendDm(ctx: Ctx, conversationId: string, rawText: string, nonce?: string) {
			const me = requireUser(ctx, "send messages");
			const text = textOrThrow(rawText);
			checkNonce(nonce);
			const conv = await this.requireConversation(ctx, conversationId, me.id);
			const room = dmRoom(conv._id);
			const nonceKey = nonce ? makeNonceKey(room, me.id, nonce) : undefined;
			if (nonceKey) {
				const first = await this.store.findOne({ nonceKey });
				if (first) return { message: dmView(first), duplicate: true };
			}
			await this.checkRate(me.id);
			const doc: MessageDoc = {
				_id: newId(),
				room,
				kind: "dm",
				conversationId: conv._id,
				to: otherParticipant(conv.participants, me.id)!,
				userId: me.id,
				username: me.username,
				displayName: me.displayName || me.username,
				text,
				createdAt: new Date().toISOString(),
				deletedAt: null,
				[OUTBOX_MARK]: true,
				...(nonceKey ? { nonceKey } : {}),
			};
			const stored = await this.insertMessage(doc);
			if (stored.duplicate) return { message: dmView(stored.doc), duplicate: true };
			// Ids are time-ordered: only move `activity` forward, and the sender has read what they wrote.
			await this.stores.chat_conversations.updateMany(
				{ _id: conv._id, activity: { $lt: doc._id } },
				{ $set: { activity: doc._id, lastMessageId: doc._id } },
			);
			await this.advanceRead(conv._id, me.id, doc._id);
			const message = dmView(doc);
			countChatMessage(this.broker, "dm");
			this.push(conv.participants.map(rooms.user), "dm:message", message, ctx);
			await this.notify(doc);
			return { message, duplicate: false };
		},

		async advanceRead(conversationId: string, userId: string, messageId: string) {
			const field = `reads.${userId}`;
			return this.stores.chat_conversations.updateIf(
				{ _id: conversationId, $or: [{ [field]: { $exists: false } }, { [field]: { $lt: messageId } }] },
				{ $set: { [field]: messageId } },
			);
		},

		async markRead(ctx: Ctx, conversationId: string) {
			const me = requireUser(ctx, "read messages");
			const conv = await this.requireConversation(ctx, conversationId, me.id);
			const upTo = conv.lastMessageId;
			if (upTo && (await this.advanceRead(conv._id, me.id, upTo))) {
				const data = { conversationId: conv._id, userId: me.id, lastReadId: upTo, readAt: new Date().toISOString() };
				this.push(conv.participants.map(rooms.user), "dm:read", data, ctx);
			}
			return { conversationId: conv._id, lastReadId: upTo ?? null, unread: 0 };
		},
	},

	created() {
		this.typing = new TypingThrottle();
	},
};

export default schema;
