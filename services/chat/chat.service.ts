import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { newId, isId, idFloor } from "../../lib/tools/ids";
import { intEnv } from "../../lib/config";
import { MemoryCounterStore, RedisCounterStore, checkLimits, type CounterStore, type Limit } from "../../lib/tools/rate-limit";
import { createRedis, redisUrl } from "../../lib/db/redis";
import { badRequest, forbidden, invalid, isDuplicateKey, notFound, unauthorized } from "../../lib/tools/errors";
import { normalizeChatText, isValidNonce } from "../../lib/domain/chat/text";
import { parseMentions } from "../../lib/domain/chat/mentions";
import { cleanBlockedTerms, findBlockedTerm, MAX_BLOCKED_TERMS, MAX_TERM_LENGTH } from "../../lib/domain/chat/blocked-terms";
import {
	banInForce,
	canManageModerators,
	canModerate,
	canSanction,
	channelRole,
	isExempt,
	refuseSend,
	slowModeRefusal,
	slowModeWait,
	type ChannelRole,
	type Refusal,
} from "../../lib/domain/chat/rules";
import { Coalescer, PresenceTally } from "../../lib/domain/chat/presence";
import type { RoomSizesPacket } from "../gateway/socket-hub";
import { countChatMessage } from "../../lib/tools/metrics";
import type { AuthUser, GatewayMeta } from "../../types/moleculer";

/**
 * Live chat: one room per channel (username) with history, moderation and viewer counts, and
 * direct conversations between two users with unread counts.
 *
 * Messages of both kinds live in `chat_messages` keyed by `room` ("chat:<username>" or
 * "dm:<conversationId>"). Unique keys make the promises hold under concurrency: `nonceKey` (one
 * message per sender nonce), `pairKey` (one conversation per pair), ban `key` (one ban row per
 * channel and user). Fan-out to sockets goes through `ws.emit`, so it reaches every gateway node.
 */

interface MessageDoc {
	_id: string;
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
	nonceKey?: string;
	/** Set while the chat.mentioned / chat.dm notification is not yet handed to the channel. */
	outbox?: boolean;
	mentionIds?: string[];
}

interface RoomDoc {
	_id: string; // the owner's user id
	channel: string;
	slowModeSec: number;
	followersOnly: boolean;
	blockedTerms: string[];
	moderators: string[];
	updatedAt: string;
}

interface BanDoc {
	_id: string;
	key: string;
	channelId: string;
	userId: string;
	until: number | null;
	reason: string | null;
	by: string;
	createdAt: string;
}

interface ConversationDoc {
	_id: string;
	pairKey: string;
	participants: string[];
	createdAt: string;
	/** Newest message id, or the conversation id before the first message: lists sort on it. */
	activity: string;
	lastMessageId: string | null;
	reads: Record<string, string>;
}

interface Owner {
	id: string;
	username: string;
	displayName: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

const USERNAME = { type: "string", min: 3, max: 25, pattern: /^[A-Za-z0-9_]+$/, messages: { stringPattern: "must be a username (a-z, 0-9, _)" } };
const ID = { type: "string", min: 1, max: 64 };
// A coarse bound on the raw string; the real limit is 500 characters after cleaning (lib/domain/chat/text.ts),
// and 500 emoji sequences can take several thousand UTF-16 units (a family emoji is 11).
const TEXT = { type: "string", min: 1, max: 8000 };
const NONCE = { type: "string", min: 1, max: 64, optional: true };
const LIMIT = { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true };
const CURSOR = { type: "string", max: 64, optional: true };

const HISTORY_ON_JOIN = 50;
const MAX_CHAT_ROOMS_PER_SOCKET = 20;
const TYPING_INTERVAL_MS = 2000;
const MAX_TIMEOUT_SEC = 14 * 24 * 3600;
const JOIN_LIMIT: Limit = { limit: 30, windowMs: 10_000 };

const channelRoom = (username: string) => `chat:${username}`;
const dmRoom = (conversationId: string) => `dm:${conversationId}`;
const userRoom = (userId: string) => `user:${userId}`;

function refusal(r: Refusal) {
	const code = r.type === "RATE_LIMITED" || r.type === "SLOW_MODE" ? 429 : 403;
	return new Errors.MoleculerClientError(r.message, code, r.type, r.retryAfterSec !== undefined ? { retryAfterSec: r.retryAfterSec } : undefined);
}

function requireUser(ctx: Ctx<any>, what = "chat"): AuthUser {
	const user = ctx.meta.user;
	if (!user) throw unauthorized(`Sign in to ${what}`, "UNAUTHORIZED");
	return user;
}

function textOrThrow(raw: string): string {
	const v = normalizeChatText(raw);
	if (!v.ok) throw invalid("text", v.message);
	return v.text;
}

const schema: ServiceSchema = {
	name: "chat",
	mixins: [
		DbMixin("chat_messages", [{ fields: ["room", "_id"] }, { fields: "nonceKey", unique: true, sparse: true }, { fields: "outbox", sparse: true }], {
			chat_rooms: [],
			chat_bans: [{ fields: "key", unique: true }, { fields: "channelId" }],
			chat_slow: [],
			chat_conversations: [{ fields: "pairKey", unique: true }, { fields: ["participants", "activity"] }],
		}),
	],
	settings: { rest: "/" },

	actions: {
		// ---- channel chat over sockets ----

		/** Join a channel's chat: the socket enters `chat:<username>` and gets recent history. */
		join: {
			socket: "chat:join",
			params: { channel: USERNAME },
			async handler(this: any, ctx: Ctx<{ channel: string }>) {
				await this.checkJoinRate(ctx);
				const owner: Owner = await this.resolveChannel(ctx, ctx.params.channel);
				const room = channelRoom(owner.username);
				const joined = ctx.meta.socket?.rooms ?? [];
				if (!joined.includes(room) && joined.filter((r) => r.startsWith("chat:")).length >= MAX_CHAT_ROOMS_PER_SOCKET) {
					throw badRequest(`A connection may be in at most ${MAX_CHAT_ROOMS_PER_SOCKET} chats`, "TOO_MANY_ROOMS");
				}
				const [roomDoc, page] = await Promise.all([this.loadRoom(owner), this.store.page({ room, deletedAt: null }, { limit: HISTORY_ON_JOIN })]);
				ctx.meta.$join = [room];
				const role: ChannelRole | null = channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: roomDoc.moderators });
				const viewers = this.tally.count(room) + (joined.includes(room) ? 0 : 1);
				return {
					channel: owner.username,
					history: (page.items as MessageDoc[]).reverse().map((m) => this.channelView(m)),
					viewers: Math.max(1, viewers),
					settings: { slowModeSec: roomDoc.slowModeSec, followersOnly: roomDoc.followersOnly },
					role,
				};
			},
		},

		/** Leave a channel's chat room. */
		leave: {
			socket: "chat:leave",
			params: { channel: USERNAME },
			async handler(this: any, ctx: Ctx<{ channel: string }>) {
				const channel = ctx.params.channel.toLowerCase();
				ctx.meta.$leave = [channelRoom(channel)];
				return { channel };
			},
		},

		/** Send a chat message; refusals ack `{ok:false, error:{type, message, retryAfterSec?}}`. */
		send: {
			socket: "chat:send",
			// Never retried by the broker: a second run would make a second message (unless it has a nonce).
			retryPolicy: { enabled: false },
			params: { channel: USERNAME, text: TEXT, nonce: NONCE },
			async handler(this: any, ctx: Ctx<{ channel: string; text: string; nonce?: string }>) {
				const user = requireUser(ctx);
				const text = textOrThrow(ctx.params.text);
				if (ctx.params.nonce !== undefined && !isValidNonce(ctx.params.nonce)) throw invalid("nonce", "nonce must be 1–64 visible ASCII characters");
				const owner: Owner = await this.resolveChannel(ctx, ctx.params.channel);
				const room = channelRoom(owner.username);
				const nonceKey = ctx.params.nonce ? `${room}:${user.id}:${ctx.params.nonce}` : undefined;
				if (nonceKey) {
					const first: MessageDoc | null = await this.store.findOne({ nonceKey });
					if (first) return { message: this.channelView(first), duplicate: true };
				}
				await this.checkRate(user.id);
				const roomDoc: RoomDoc = await this.loadRoom(owner);
				const role = channelRole({ user, ownerId: owner.id, moderators: roomDoc.moderators })!;
				const now = Date.now();
				const ban: BanDoc | null = await this.stores.chat_bans.findOne({ key: `${owner.id}:${user.id}` });
				const exempt = isExempt(role);
				const isFollower = roomDoc.followersOnly && !exempt && !banInForce(ban, now) ? await this.isFollowing(ctx, user.id, owner.id) : undefined;
				const refused = refuseSend({
					now,
					role,
					ban,
					followersOnly: roomDoc.followersOnly,
					isFollower,
					blockedTerm: exempt ? null : findBlockedTerm(text, roomDoc.blockedTerms),
				});
				if (refused) throw refusal(refused);
				if (!exempt && roomDoc.slowModeSec > 0) await this.takeSlowModeSlot(`${owner.id}:${user.id}`, roomDoc.slowModeSec, now);

				const mentionIds: string[] = await this.resolveMentions(ctx, text, user.id);
				const doc: MessageDoc = {
					_id: newId(),
					room,
					kind: "channel",
					channel: owner.username,
					channelId: owner.id,
					userId: user.id,
					username: user.username,
					displayName: user.displayName || user.username,
					text,
					// The time the send was accepted: slow mode counts from it too.
					createdAt: new Date(now).toISOString(),
					deletedAt: null,
					...(nonceKey ? { nonceKey } : {}),
					...(mentionIds.length ? { outbox: true, mentionIds } : {}),
				};
				const stored: { doc: MessageDoc; duplicate: boolean } = await this.insertOnce(doc);
				if (stored.duplicate) return { message: this.channelView(stored.doc), duplicate: true };
				const message = this.channelView(doc);
				countChatMessage(this.broker, "channel");
				ctx.broadcast("ws.emit", { namespace: "/", rooms: [room], event: "chat:message", data: message });
				if (doc.outbox) await this.drainOutbox(doc);
				return { message, duplicate: false };
			},
		},

		/** "Someone is typing" to the rest of the room (throttled per user). */
		typing: {
			socket: "chat:typing",
			params: { channel: USERNAME },
			async handler(this: any, ctx: Ctx<{ channel: string }>) {
				const user = requireUser(ctx);
				const room = channelRoom(ctx.params.channel.toLowerCase());
				if (!(ctx.meta.socket?.rooms ?? []).includes(room)) throw badRequest("Join the chat first", "NOT_JOINED");
				if (!this.typingAllowed(`${room}:${user.id}`)) return { channel: ctx.params.channel.toLowerCase(), throttled: true };
				const owner: Owner = await this.resolveChannel(ctx, ctx.params.channel);
				const ban: BanDoc | null = await this.stores.chat_bans.findOne({ key: `${owner.id}:${user.id}` });
				if (banInForce(ban, Date.now())) throw refusal(refuseSend({ now: Date.now(), role: "viewer", ban, followersOnly: false, blockedTerm: null })!);
				ctx.broadcast("ws.emit", {
					namespace: "/",
					rooms: [room],
					event: "chat:typing",
					data: { channel: owner.username, user: this.identity(user) },
					except: ctx.meta.socket ? [ctx.meta.socket.id] : [],
				});
				return { channel: owner.username };
			},
		},

		// ---- channel chat over REST ----

		/** Channel chat history, newest first. */
		history: {
			rest: "GET /channels/:username/messages",
			params: { username: USERNAME, limit: LIMIT, cursor: CURSOR },
			async handler(this: any, ctx: Ctx<{ username: string; limit?: number; cursor?: string }>) {
				const owner: Owner = await this.resolveChannel(ctx, ctx.params.username);
				const page = await this.store.page(
					{ room: channelRoom(owner.username), deletedAt: null },
					{ limit: ctx.params.limit, cursor: ctx.params.cursor },
				);
				return { items: (page.items as MessageDoc[]).map((m) => this.channelView(m)), nextCursor: page.nextCursor };
			},
		},

		/** Moderators delete a message; every viewer is told `chat:deleted`. */
		deleteMessage: {
			rest: "DELETE /channels/:username/messages/:id",
			status: 204,
			auth: "required",
			params: { username: USERNAME, id: ID },
			async handler(this: any, ctx: Ctx<{ username: string; id: string }>) {
				const { owner } = await this.requireModerator(ctx, ctx.params.username);
				const room = channelRoom(owner.username);
				const msg: MessageDoc | null = isId(ctx.params.id) ? await this.store.findOne({ _id: ctx.params.id, room }) : null;
				if (!msg || msg.deletedAt) throw notFound("Message", "MESSAGE_NOT_FOUND");
				const won = await this.store.updateIf(
					{ _id: msg._id, deletedAt: null },
					{ $set: { deletedAt: new Date().toISOString(), deletedBy: ctx.meta.user!.id } },
				);
				if (won) ctx.broadcast("ws.emit", { namespace: "/", rooms: [room], event: "chat:deleted", data: { channel: owner.username, id: msg._id } });
				return null;
			},
		},

		/** Ban (no duration) or time out (durationSec) a user; their messages are cleared. */
		ban: {
			rest: "POST /channels/:username/bans",
			status: 201,
			auth: "required",
			params: {
				username: USERNAME,
				userId: ID,
				durationSec: { type: "number", integer: true, min: 1, max: MAX_TIMEOUT_SEC, optional: true },
				reason: { type: "string", max: 300, optional: true, trim: true },
			},
			async handler(this: any, ctx: Ctx<{ username: string; userId: string; durationSec?: number; reason?: string }>) {
				const { owner, room: roomDoc, role } = await this.requireModerator(ctx, ctx.params.username);
				const target = (await ctx.call("users.get", { id: ctx.params.userId })) as (Owner & { roles: string[] }) | null;
				if (!target) throw notFound("User", "USER_NOT_FOUND");
				const targetRole = channelRole({ user: target, ownerId: owner.id, moderators: roomDoc.moderators })!;
				if (target.id === ctx.meta.user!.id) throw forbidden("You cannot ban yourself", "CANNOT_BAN_SELF");
				if (!canSanction(role, targetRole))
					throw forbidden(targetRole === "owner" ? "The channel owner cannot be banned" : "You cannot ban this user", "CANNOT_BAN");
				const now = Date.now();
				const key = `${owner.id}:${target.id}`;
				const until = ctx.params.durationSec ? now + ctx.params.durationSec * 1000 : null;
				const fields = {
					channelId: owner.id,
					userId: target.id,
					until,
					reason: ctx.params.reason || null,
					by: ctx.meta.user!.id,
					createdAt: new Date(now).toISOString(),
				};
				const updated = await this.stores.chat_bans.updateMany({ key }, { $set: fields });
				if (!updated) {
					try {
						await this.stores.chat_bans.insert({ _id: newId(), key, ...fields });
					} catch (err) {
						if (!isDuplicateKey(err)) throw err;
						await this.stores.chat_bans.updateMany({ key }, { $set: fields });
					}
				}
				await this.clearUserMessages(ctx, owner, target.id);
				return this.banView({ key, ...fields } as BanDoc, owner);
			},
		},

		/** Lift a ban or timeout (idempotent). */
		unban: {
			rest: "DELETE /channels/:username/bans/:userId",
			status: 204,
			auth: "required",
			params: { username: USERNAME, userId: ID },
			async handler(this: any, ctx: Ctx<{ username: string; userId: string }>) {
				const { owner } = await this.requireModerator(ctx, ctx.params.username);
				await this.stores.chat_bans.removeMany({ key: `${owner.id}:${ctx.params.userId}` });
				return null;
			},
		},

		/** Bans and timeouts in force, newest first (moderators). */
		listBans: {
			rest: "GET /channels/:username/bans",
			auth: "required",
			params: { username: USERNAME, limit: LIMIT, cursor: CURSOR },
			async handler(this: any, ctx: Ctx<{ username: string; limit?: number; cursor?: string }>) {
				const { owner } = await this.requireModerator(ctx, ctx.params.username);
				const now = Date.now();
				const page = await this.stores.chat_bans.page(
					{ channelId: owner.id, $or: [{ until: null }, { until: { $gt: now } }] },
					{ limit: ctx.params.limit, cursor: ctx.params.cursor },
				);
				return { items: (page.items as BanDoc[]).map((b) => this.banView(b, owner)), nextCursor: page.nextCursor };
			},
		},

		/** Appoint a moderator (owner or admin). */
		addModerator: {
			rest: "PUT /channels/:username/moderators/:userId",
			status: 204,
			auth: "required",
			params: { username: USERNAME, userId: ID },
			async handler(this: any, ctx: Ctx<{ username: string; userId: string }>) {
				const owner = await this.requireModeratorManager(ctx, ctx.params.username);
				const target = await ctx.call("users.get", { id: ctx.params.userId });
				if (!target) throw notFound("User", "USER_NOT_FOUND");
				if (ctx.params.userId === owner.id) throw badRequest("The owner already runs this channel", "OWNER_IS_NOT_A_MODERATOR");
				await this.ensureRoom(owner);
				await this.stores.chat_rooms.updateMany(
					{ _id: owner.id },
					{ $addToSet: { moderators: ctx.params.userId }, $set: { updatedAt: new Date().toISOString() } },
				);
				return null;
			},
		},

		/** Remove a moderator (owner or admin; idempotent). */
		removeModerator: {
			rest: "DELETE /channels/:username/moderators/:userId",
			status: 204,
			auth: "required",
			params: { username: USERNAME, userId: ID },
			async handler(this: any, ctx: Ctx<{ username: string; userId: string }>) {
				const owner = await this.requireModeratorManager(ctx, ctx.params.username);
				await this.stores.chat_rooms.updateMany(
					{ _id: owner.id },
					{ $pull: { moderators: ctx.params.userId }, $set: { updatedAt: new Date().toISOString() } },
				);
				return null;
			},
		},

		/** Internal: is this user the channel's owner or one of its moderators? (comments use it) */
		isModerator: {
			visibility: "public",
			params: { channel: { type: "string", min: 1, max: 25 }, userId: { type: "string", min: 1, max: 64 } },
			async handler(this: any, ctx: Ctx<{ channel: string; userId: string }>) {
				const user = (await ctx.call("users.get", { username: ctx.params.channel.toLowerCase() })) as Owner | null;
				if (!user) return false;
				if (user.id === ctx.params.userId) return true;
				const room: RoomDoc = await this.loadRoom({ id: user.id, username: user.username, displayName: user.displayName });
				return room.moderators.includes(ctx.params.userId);
			},
		},

		/** The channel's moderators. */
		listModerators: {
			rest: "GET /channels/:username/moderators",
			params: { username: USERNAME },
			async handler(this: any, ctx: Ctx<{ username: string }>) {
				const owner: Owner = await this.resolveChannel(ctx, ctx.params.username);
				const room: RoomDoc = await this.loadRoom(owner);
				const items = room.moderators.length ? await ctx.call("users.identities", { ids: room.moderators }) : [];
				return { items, nextCursor: null };
			},
		},

		/** Chat settings; blocked terms are shown to moderators only. */
		getSettings: {
			rest: "GET /channels/:username/settings",
			params: { username: USERNAME },
			async handler(this: any, ctx: Ctx<{ username: string }>) {
				const owner: Owner = await this.resolveChannel(ctx, ctx.params.username);
				const room: RoomDoc = await this.loadRoom(owner);
				const role = channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: room.moderators });
				return this.settingsView(room, canModerate(role));
			},
		},

		/** Slow mode, followers-only and blocked terms (moderators). Fields left out stay as they are. */
		updateSettings: {
			rest: "PUT /channels/:username/settings",
			auth: "required",
			params: {
				username: USERNAME,
				slowModeSec: { type: "number", integer: true, min: 0, max: 3600, optional: true },
				followersOnly: { type: "boolean", optional: true },
				blockedTerms: { type: "array", items: { type: "string", min: 1, max: MAX_TERM_LENGTH }, max: MAX_BLOCKED_TERMS, optional: true },
			},
			async handler(this: any, ctx: Ctx<{ username: string; slowModeSec?: number; followersOnly?: boolean; blockedTerms?: string[] }>) {
				const { owner } = await this.requireModerator(ctx, ctx.params.username);
				await this.ensureRoom(owner);
				const $set: Record<string, unknown> = { updatedAt: new Date().toISOString() };
				if (ctx.params.slowModeSec !== undefined) $set.slowModeSec = ctx.params.slowModeSec;
				if (ctx.params.followersOnly !== undefined) $set.followersOnly = ctx.params.followersOnly;
				if (ctx.params.blockedTerms !== undefined) $set.blockedTerms = cleanBlockedTerms(ctx.params.blockedTerms);
				await this.stores.chat_rooms.updateMany({ _id: owner.id }, { $set });
				const room: RoomDoc = await this.loadRoom(owner);
				ctx.broadcast("ws.emit", {
					namespace: "/",
					rooms: [channelRoom(owner.username)],
					event: "chat:settings",
					data: { channel: owner.username, slowModeSec: room.slowModeSec, followersOnly: room.followersOnly },
				});
				return this.settingsView(room, true);
			},
		},

		// ---- direct conversations ----

		/** The one conversation between the caller and `with`: 201 when new, 200 when it existed. */
		openConversation: {
			rest: "POST /conversations",
			status: [200, 201],
			auth: "required",
			params: { with: USERNAME },
			async handler(this: any, ctx: Ctx<{ with: string }>) {
				const me = requireUser(ctx, "send messages");
				const other = (await ctx.call("users.get", { username: ctx.params.with.toLowerCase() })) as Owner | null;
				if (!other) throw notFound("User", "USER_NOT_FOUND");
				if (other.id === me.id) throw invalid("with", "You cannot start a conversation with yourself");
				const participants = [me.id, other.id].sort();
				const pairKey = participants.join(":");
				let conv: ConversationDoc | null = await this.stores.chat_conversations.findOne({ pairKey });
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
					try {
						await this.stores.chat_conversations.insert(doc);
						conv = doc;
						created = true;
					} catch (err) {
						if (!isDuplicateKey(err)) throw err;
						conv = await this.stores.chat_conversations.findOne({ pairKey });
					}
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
			async handler(this: any, ctx: Ctx<{ limit?: number; cursor?: string }>) {
				const me = requireUser(ctx, "read messages");
				const limit = ctx.params.limit ?? 20;
				const query: Record<string, unknown> = { participants: me.id };
				if (ctx.params.cursor) {
					if (!isId(ctx.params.cursor)) throw invalid("cursor", "cursor is not valid");
					query.activity = { $lt: ctx.params.cursor };
				}
				const rows: ConversationDoc[] = await this.stores.chat_conversations.find({ query, sort: ["-activity"], limit: limit + 1 });
				const items = rows.slice(0, limit);
				return { items: await this.conversationViews(ctx, items, me.id), nextCursor: rows.length > limit ? items[items.length - 1].activity : null };
			},
		},

		/** One conversation (participants only). */
		getConversation: {
			rest: "GET /conversations/:id",
			auth: "required",
			params: { id: ID },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const me = requireUser(ctx, "read messages");
				const conv = await this.requireConversation(ctx.params.id, me.id);
				return (await this.conversationViews(ctx, [conv], me.id))[0];
			},
		},

		/** A conversation's messages, newest first (participants only). */
		conversationMessages: {
			rest: "GET /conversations/:id/messages",
			auth: "required",
			params: { id: ID, limit: LIMIT, cursor: CURSOR },
			async handler(this: any, ctx: Ctx<{ id: string; limit?: number; cursor?: string }>) {
				const me = requireUser(ctx, "read messages");
				const conv: ConversationDoc = await this.requireConversation(ctx.params.id, me.id);
				const page = await this.store.page({ room: dmRoom(conv._id), deletedAt: null }, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: (page.items as MessageDoc[]).map((m) => this.dmView(m)), nextCursor: page.nextCursor };
			},
		},

		/** Send a direct message: 201 new, 200 when the nonce was already used. */
		sendConversationMessage: {
			rest: "POST /conversations/:id/messages",
			status: [201, 200],
			// Never retried by the broker: a second run would make a second message (unless it has a nonce).
			retryPolicy: { enabled: false },
			auth: "required",
			params: { id: ID, text: TEXT, nonce: NONCE },
			async handler(this: any, ctx: Ctx<{ id: string; text: string; nonce?: string }>) {
				const result = await this.sendDm(ctx, ctx.params.id, ctx.params.text, ctx.params.nonce);
				ctx.meta.$statusCode = result.duplicate ? 200 : 201;
				return result.message;
			},
		},

		/** Mark a conversation read up to its newest message. */
		readConversation: {
			rest: "POST /conversations/:id/read",
			auth: "required",
			params: { id: ID },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				return this.markRead(ctx, ctx.params.id);
			},
		},

		/** Socket: open a conversation view (participants only) with recent history. */
		dmJoin: {
			socket: "dm:join",
			params: { conversationId: ID },
			async handler(this: any, ctx: Ctx<{ conversationId: string }>) {
				const me = requireUser(ctx, "read messages");
				const conv: ConversationDoc = await this.requireConversation(ctx.params.conversationId, me.id);
				const page = await this.store.page({ room: dmRoom(conv._id), deletedAt: null }, { limit: HISTORY_ON_JOIN });
				const [view] = await this.conversationViews(ctx, [conv], me.id);
				return { conversation: view, history: (page.items as MessageDoc[]).reverse().map((m) => this.dmView(m)) };
			},
		},

		/** Socket: send a direct message. */
		dmSend: {
			socket: "dm:send",
			// Never retried by the broker: a second run would make a second message (unless it has a nonce).
			retryPolicy: { enabled: false },
			params: { conversationId: ID, text: TEXT, nonce: NONCE },
			async handler(this: any, ctx: Ctx<{ conversationId: string; text: string; nonce?: string }>) {
				return this.sendDm(ctx, ctx.params.conversationId, ctx.params.text, ctx.params.nonce);
			},
		},

		/** Socket: mark a conversation read. */
		dmRead: {
			socket: "dm:read",
			params: { conversationId: ID },
			async handler(this: any, ctx: Ctx<{ conversationId: string }>) {
				return this.markRead(ctx, ctx.params.conversationId);
			},
		},

		/** Socket: "typing" to the other participant (throttled). */
		dmTyping: {
			socket: "dm:typing",
			params: { conversationId: ID },
			async handler(this: any, ctx: Ctx<{ conversationId: string }>) {
				const me = requireUser(ctx, "send messages");
				const conv: ConversationDoc = await this.requireConversation(ctx.params.conversationId, me.id);
				if (!this.typingAllowed(`dm:${conv._id}:${me.id}`)) return { conversationId: conv._id, throttled: true };
				const other = conv.participants.find((p) => p !== me.id)!;
				ctx.broadcast("ws.emit", {
					namespace: "/",
					rooms: [userRoom(other)],
					event: "dm:typing",
					data: { conversationId: conv._id, user: this.identity(me) },
				});
				return { conversationId: conv._id };
			},
		},

		// ---- internal ----

		/** Current viewer count of a channel's chat (summed over every gateway node). */
		viewers: {
			visibility: "public",
			params: { channel: USERNAME },
			handler(this: any, ctx: Ctx<{ channel: string }>) {
				return { channel: ctx.params.channel.toLowerCase(), viewers: this.tally.count(channelRoom(ctx.params.channel.toLowerCase())) };
			},
		},
	},

	events: {
		/** Gateway nodes report their local chat room sizes; the sum is the viewer count. */
		"ws.roomSizes": {
			params: { namespace: "string", nodeID: "string", sizes: "object", full: "boolean" },
			handler(this: any, ctx: Context<RoomSizesPacket>) {
				if (ctx.params.namespace !== "/") return;
				for (const room of this.tally.apply(ctx.params.nodeID, ctx.params.sizes, ctx.params.full)) this.presence.touch(room);
			},
		},
		/** A node that left takes its sockets with it. */
		"$node.disconnected": {
			handler(this: any, ctx: Context<{ node: { id: string } }>) {
				for (const room of this.tally.dropNode(ctx.params.node.id)) this.presence.touch(room);
			},
		},
		"$services.changed": {
			handler(this: any) {
				this.presenceLeader = null;
			},
		},
		/** Re-drive notifications that were written but not handed to the channel (crash between). */
		"$broker.started": {
			async handler(this: any) {
				const pending: MessageDoc[] = await this.store.find({ query: { outbox: true }, limit: 500 });
				for (const doc of pending) await this.drainOutbox(doc);
				await this.prune().catch((err: Error) => this.logger.warn("Chat pruning failed", err.message));
			},
		},
	},

	methods: {
		channelView(m: MessageDoc) {
			return {
				id: m._id,
				channel: m.channel,
				user: { id: m.userId, username: m.username, displayName: m.displayName },
				text: m.text,
				createdAt: m.createdAt,
			};
		},
		dmView(m: MessageDoc) {
			return {
				id: m._id,
				conversationId: m.conversationId,
				user: { id: m.userId, username: m.username, displayName: m.displayName },
				text: m.text,
				createdAt: m.createdAt,
			};
		},
		identity(u: AuthUser) {
			return { id: u.id, username: u.username, displayName: u.displayName || u.username };
		},
		banView(b: BanDoc, owner: Owner) {
			return {
				channel: owner.username,
				userId: b.userId,
				type: b.until === null ? "ban" : "timeout",
				until: b.until === null ? null : new Date(b.until).toISOString(),
				reason: b.reason,
				by: b.by,
				createdAt: b.createdAt,
			};
		},
		settingsView(r: RoomDoc, withTerms: boolean) {
			return { channel: r.channel, slowModeSec: r.slowModeSec, followersOnly: r.followersOnly, ...(withTerms ? { blockedTerms: r.blockedTerms } : {}) };
		},

		/** The channel's owner by username, or 404 CHANNEL_NOT_FOUND. */
		async resolveChannel(this: any, ctx: Ctx, username: string): Promise<Owner> {
			const user = (await ctx.call("users.get", { username: username.toLowerCase() })) as Owner | null;
			if (!user) throw notFound("Channel", "CHANNEL_NOT_FOUND");
			return { id: user.id, username: user.username, displayName: user.displayName };
		},

		async loadRoom(this: any, owner: Owner): Promise<RoomDoc> {
			const doc: RoomDoc | null = await this.stores.chat_rooms.findById(owner.id);
			return {
				_id: owner.id,
				channel: owner.username,
				slowModeSec: 0,
				followersOnly: false,
				blockedTerms: [],
				moderators: [],
				updatedAt: "",
				...(doc ?? {}),
			};
		},

		async ensureRoom(this: any, owner: Owner) {
			try {
				await this.stores.chat_rooms.insert({
					_id: owner.id,
					channel: owner.username,
					slowModeSec: 0,
					followersOnly: false,
					blockedTerms: [],
					moderators: [],
					updatedAt: new Date().toISOString(),
				});
			} catch (err) {
				if (!isDuplicateKey(err)) throw err;
			}
		},

		async requireModerator(this: any, ctx: Ctx, username: string) {
			const owner: Owner = await this.resolveChannel(ctx, username);
			const room: RoomDoc = await this.loadRoom(owner);
			const role = channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: room.moderators });
			if (!canModerate(role)) throw forbidden("Only the channel owner and its moderators can do this", "FORBIDDEN");
			return { owner, room, role };
		},

		async requireModeratorManager(this: any, ctx: Ctx, username: string): Promise<Owner> {
			const owner: Owner = await this.resolveChannel(ctx, username);
			const role = channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: [] });
			if (!canManageModerators(role)) throw forbidden("Only the channel owner can manage moderators", "FORBIDDEN");
			return owner;
		},

		/** follows.isFollowing; without a follows service nobody counts as a follower. */
		async isFollowing(this: any, ctx: Ctx, followerId: string, followeeId: string): Promise<boolean> {
			try {
				return (await ctx.call("follows.isFollowing", { followerId, followeeId })) === true;
			} catch (err) {
				if ((err as Error).name === "ServiceNotFoundError") return false;
				this.logger.warn("follows.isFollowing failed", (err as Error).message);
				throw new Errors.MoleculerError("Service unavailable, retry shortly", 503, "SERVICE_UNAVAILABLE");
			}
		},

		/** Burst and sustained per-user send limits. */
		async checkRate(this: any, userId: string) {
			const verdict = await checkLimits(this.sendCounters as CounterStore, `chat:${userId}`, this.sendLimits as Limit[]);
			if (!verdict.allowed) throw refusal({ type: "RATE_LIMITED", message: "You are sending messages too fast", retryAfterSec: verdict.retryAfterSec });
		},

		/** Joins per connection (or user, or address): a reconnect loop cannot hammer history reads. */
		async checkJoinRate(this: any, ctx: Ctx) {
			const who = ctx.meta.socket?.id ?? ctx.meta.user?.id ?? ctx.meta.ip ?? "anonymous";
			const verdict = await checkLimits(this.sendCounters as CounterStore, `chat-join:${who}`, [JOIN_LIMIT]);
			if (!verdict.allowed) throw refusal({ type: "RATE_LIMITED", message: "Too many joins, slow down", retryAfterSec: verdict.retryAfterSec });
		},

		/**
		 * Slow mode as one conditional update: of two racing sends only one moves `lastAt`.
		 * The row is created on a user's first message in a slow channel.
		 */
		async takeSlowModeSlot(this: any, key: string, slowModeSec: number, now: number) {
			const slow = this.stores.chat_slow;
			if (await slow.updateIf({ _id: key, lastAt: { $lte: now - slowModeSec * 1000 } }, { $set: { lastAt: now } })) return;
			const row: { lastAt: number } | null = await slow.findById(key);
			if (!row) {
				try {
					await slow.insert({ _id: key, lastAt: now });
					return;
				} catch (err) {
					if (!isDuplicateKey(err)) throw err;
				}
			}
			const current: { lastAt: number } | null = row ?? (await slow.findById(key));
			throw refusal(slowModeRefusal(Math.max(1, slowModeWait(current?.lastAt ?? now, slowModeSec, now))));
		},

		/** Inserts a message; a concurrent twin with the same nonce makes this return the first. */
		async insertOnce(this: any, doc: MessageDoc): Promise<{ doc: MessageDoc; duplicate: boolean }> {
			try {
				await this.store.insert(doc);
				return { doc, duplicate: false };
			} catch (err) {
				if (!doc.nonceKey || !isDuplicateKey(err)) throw err;
				const first: MessageDoc | null = await this.store.findOne({ nonceKey: doc.nonceKey });
				if (!first) throw err;
				return { doc: first, duplicate: true };
			}
		},

		/** Mentioned usernames → user ids (existing users other than the sender). */
		async resolveMentions(this: any, ctx: Ctx, text: string, senderId: string): Promise<string[]> {
			const names = parseMentions(text);
			if (names.length === 0) return [];
			const users = await Promise.all(names.map((username) => ctx.call("users.get", { username }).catch(() => null) as Promise<Owner | null>));
			return [...new Set(users.filter((u): u is Owner => !!u && u.id !== senderId).map((u) => u.id))];
		},

		/** Hands a message's notification to its channel, then clears the outbox flag. */
		async drainOutbox(this: any, doc: MessageDoc) {
			const from = { id: doc.userId, username: doc.username, displayName: doc.displayName };
			try {
				if (doc.kind === "channel" && doc.mentionIds?.length) {
					await this.broker.sendToChannel("chat.mentioned", {
						messageId: doc._id,
						channel: doc.channel,
						from,
						userIds: doc.mentionIds,
						text: doc.text,
					});
				} else if (doc.kind === "dm" && doc.to) {
					await this.broker.sendToChannel("chat.dm", { conversationId: doc.conversationId, messageId: doc._id, from, to: doc.to, text: doc.text });
				}
				await this.store.updateMany({ _id: doc._id }, { $unset: { outbox: true } });
			} catch (err) {
				// Left flagged: re-driven on the next start.
				this.logger.warn("Chat notification not handed over yet", doc._id, (err as Error).message);
			}
		},

		/** Removes a sanctioned user's messages from the room and tells viewers to clear them. */
		async clearUserMessages(this: any, ctx: Ctx, owner: Owner, userId: string) {
			const room = channelRoom(owner.username);
			await this.store.updateMany(
				{ room, userId, deletedAt: null },
				{ $set: { deletedAt: new Date().toISOString(), deletedBy: ctx.meta.user?.id ?? null } },
			);
			ctx.broadcast("ws.emit", { namespace: "/", rooms: [room], event: "chat:cleared", data: { channel: owner.username, userId } });
		},

		typingAllowed(this: any, key: string): boolean {
			const now = Date.now();
			const last: number | undefined = this.typingSeen.get(key);
			if (last !== undefined && now - last < TYPING_INTERVAL_MS) return false;
			this.typingSeen.set(key, now);
			if (this.typingSeen.size > 50_000) {
				for (const [k, t] of this.typingSeen) if (now - t >= TYPING_INTERVAL_MS) this.typingSeen.delete(k);
			}
			return true;
		},

		// ---- conversations ----

		/** The conversation if the user takes part in it; otherwise 404 (its existence stays private). */
		async requireConversation(this: any, id: string, userId: string): Promise<ConversationDoc> {
			const conv: ConversationDoc | null = isId(id) ? await this.stores.chat_conversations.findById(id) : null;
			if (!conv || !conv.participants.includes(userId)) throw notFound("Conversation", "CONVERSATION_NOT_FOUND");
			return conv;
		},

		async conversationViews(this: any, ctx: Ctx, convs: ConversationDoc[], me: string) {
			if (convs.length === 0) return [];
			const ids = [...new Set(convs.flatMap((c) => c.participants))];
			const people = (await ctx.call("users.identities", { ids })) as Owner[];
			const byId = new Map(people.map((p) => [p.id, { id: p.id, username: p.username, displayName: p.displayName }]));
			const lastIds = convs.map((c) => c.lastMessageId).filter((x): x is string => !!x);
			const lasts: MessageDoc[] = await this.store.findByIds(lastIds);
			const lastById = new Map(lasts.map((m) => [m._id, m]));
			return Promise.all(
				convs.map(async (c) => {
					const last = c.lastMessageId ? lastById.get(c.lastMessageId) : undefined;
					const otherId = c.participants.find((p) => p !== me) ?? me;
					return {
						id: c._id,
						participants: c.participants.map((p) => byId.get(p) ?? { id: p, username: null, displayName: null }),
						with: byId.get(otherId) ?? { id: otherId, username: null, displayName: null },
						lastMessage: last && !last.deletedAt ? this.dmView(last) : null,
						unread: await this.unreadCount(c, me),
						lastReadId: c.reads?.[me] ?? null,
						createdAt: c.createdAt,
					};
				}),
			);
		},

		unreadCount(this: any, c: ConversationDoc, me: string): Promise<number> {
			if (!c.lastMessageId) return Promise.resolve(0);
			const query: Record<string, unknown> = { room: dmRoom(c._id), userId: { $ne: me }, deletedAt: null };
			const lastRead = c.reads?.[me];
			if (lastRead) query._id = { $gt: lastRead };
			return this.store.count(query);
		},

		async sendDm(this: any, ctx: Ctx, conversationId: string, rawText: string, nonce?: string) {
			const me = requireUser(ctx, "send messages");
			const text = textOrThrow(rawText);
			if (nonce !== undefined && !isValidNonce(nonce)) throw invalid("nonce", "nonce must be 1–64 visible ASCII characters");
			const conv: ConversationDoc = await this.requireConversation(conversationId, me.id);
			const room = dmRoom(conv._id);
			const nonceKey = nonce ? `${room}:${me.id}:${nonce}` : undefined;
			if (nonceKey) {
				const first: MessageDoc | null = await this.store.findOne({ nonceKey });
				if (first) return { message: this.dmView(first), duplicate: true };
			}
			await this.checkRate(me.id);
			const to = conv.participants.find((p) => p !== me.id)!;
			const doc: MessageDoc = {
				_id: newId(),
				room,
				kind: "dm",
				conversationId: conv._id,
				to,
				userId: me.id,
				username: me.username,
				displayName: me.displayName || me.username,
				text,
				createdAt: new Date().toISOString(),
				deletedAt: null,
				outbox: true,
				...(nonceKey ? { nonceKey } : {}),
			};
			const stored: { doc: MessageDoc; duplicate: boolean } = await this.insertOnce(doc);
			if (stored.duplicate) return { message: this.dmView(stored.doc), duplicate: true };
			// Ids are time-ordered: only move `activity` forward, and the sender has read what they wrote.
			await this.stores.chat_conversations.updateMany(
				{ _id: conv._id, activity: { $lt: doc._id } },
				{ $set: { activity: doc._id, lastMessageId: doc._id } },
			);
			await this.advanceRead(conv._id, me.id, doc._id);
			const message = this.dmView(doc);
			countChatMessage(this.broker, "dm");
			ctx.broadcast("ws.emit", { namespace: "/", rooms: conv.participants.map(userRoom), event: "dm:message", data: message });
			await this.drainOutbox(doc);
			return { message, duplicate: false };
		},

		/** Moves a reader's mark forward only (a late, older mark never undoes a newer one). */
		async advanceRead(this: any, conversationId: string, userId: string, messageId: string): Promise<boolean> {
			const field = `reads.${userId}`;
			return this.stores.chat_conversations.updateIf(
				{ _id: conversationId, $or: [{ [field]: { $exists: false } }, { [field]: { $lt: messageId } }] },
				{ $set: { [field]: messageId } },
			);
		},

		async markRead(this: any, ctx: Ctx, conversationId: string) {
			const me = requireUser(ctx, "read messages");
			const conv: ConversationDoc = await this.requireConversation(conversationId, me.id);
			const upTo = conv.lastMessageId;
			if (upTo && (await this.advanceRead(conv._id, me.id, upTo))) {
				ctx.broadcast("ws.emit", {
					namespace: "/",
					rooms: conv.participants.map(userRoom),
					event: "dm:read",
					data: { conversationId: conv._id, userId: me.id, lastReadId: upTo, readAt: new Date().toISOString() },
				});
			}
			return { conversationId: conv._id, lastReadId: upTo ?? null, unread: 0 };
		},

		/**
		 * Housekeeping: channel messages older than CHAT_HISTORY_DAYS (0 keeps them forever; direct
		 * messages are always kept), expired timeouts and slow-mode marks nobody can still hit.
		 * Every chat node may run it; it only deletes what is already dead.
		 */
		async prune(this: any, now = Date.now()) {
			const removed = { messages: 0, bans: 0, slow: 0 };
			if (this.historyDays > 0) {
				removed.messages = await this.store.removeMany({ kind: "channel", _id: { $lt: idFloor(now - this.historyDays * 86_400_000) } });
			}
			removed.bans = await this.stores.chat_bans.removeMany({ until: { $ne: null, $lt: now } });
			removed.slow = await this.stores.chat_slow.removeMany({ lastAt: { $lt: now - 3600 * 1000 } });
			return removed;
		},

		// ---- presence ----

		/** One chat node speaks for the cluster: the first available chat node by id. */
		isPresenceLeader(this: any): boolean {
			if (this.presenceLeader === null) {
				const nodes = (this.broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as Array<{ name: string; nodeID: string }>)
					.filter((s) => s.name === "chat")
					.map((s) => s.nodeID)
					.sort();
				this.presenceLeader = nodes[0] ?? this.broker.nodeID;
			}
			return this.presenceLeader === this.broker.nodeID;
		},

		flushPresence(this: any, room: string) {
			const viewers = this.tally.count(room);
			if (this.lastPresence.get(room) === viewers) return;
			if (viewers === 0) this.lastPresence.delete(room);
			else this.lastPresence.set(room, viewers);
			if (!this.isPresenceLeader()) return;
			this.broker.broadcast("ws.emit", { namespace: "/", rooms: [room], event: "presence", data: { channel: room.slice("chat:".length), viewers } });
		},
	},

	created(this: any) {
		const burst = { limit: intEnv("CHAT_RATE_BURST", 5), windowMs: 2_000 };
		const sustained = { limit: intEnv("CHAT_RATE_SUSTAINED", 20), windowMs: 30_000 };
		this.sendLimits = [burst, sustained];
		const url = redisUrl();
		if (url) {
			this.redis = createRedis(url, "chat-ratelimit");
			this.sendCounters = new RedisCounterStore(this.redis, `${process.env.NAMESPACE || "mediashar"}:chat-rl`);
		} else {
			this.sendCounters = new MemoryCounterStore();
		}
		this.typingSeen = new Map<string, number>();
		this.tally = new PresenceTally();
		this.lastPresence = new Map<string, number>();
		this.presenceLeader = null;
		this.presence = new Coalescer(intEnv("CHAT_PRESENCE_WINDOW_MS", 300), (room) => this.flushPresence(room));
		this.historyDays = intEnv("CHAT_HISTORY_DAYS", 30);
	},

	started(this: any) {
		this.pruneTimer = setInterval(() => this.prune().catch((err: Error) => this.logger.warn("Chat pruning failed", err.message)), 3600_000);
		this.pruneTimer.unref();
	},

	stopped(this: any) {
		clearInterval(this.pruneTimer);
		this.presence?.clear();
		this.sendCounters?.close?.();
		if (this.redis) this.redis.disconnect();
	},
};

export default schema;
