import type { Context, Service, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { pushToRooms, RealtimeMixin, type RealtimeMethods } from "../../mixins/realtime.mixin";
import { createCounters } from "../../lib/db/counters";
import { adoptLegacyMark, OUTBOX_MARK, redriveDue } from "../../lib/db/outbox";
import { loadConfig } from "../../lib/config";
import { newId, idFloor } from "../../lib/tools/ids";
import { checkLimits, type Limit } from "../../lib/tools/rate-limit";
import { badRequest } from "../../lib/tools/errors";
import { countChatMessage } from "../../lib/tools/metrics";
import { chatRoomChannel, isChatRoom, NAMESPACE, rooms } from "../../lib/domain/rooms";
import { parseMentions } from "../../lib/domain/chat/mentions";
import { findBlockedTerm } from "../../lib/domain/chat/blocked-terms";
import { banInForce, channelRole, isExempt, refuseSend, slowModeRefusal, slowModeWait, type ChannelRole } from "../../lib/domain/chat/rules";
import { Coalescer, PresenceTally } from "../../lib/domain/chat/presence";
import { TypingThrottle } from "../../lib/domain/chat/typing";
import { banKey, nonceKey as makeNonceKey, slowKey } from "../../lib/domain/chat/keys";
import { channelView, identity } from "../../lib/domain/chat/views";
import type { MessageDoc, Owner } from "../../lib/domain/chat/docs";
import type { RoomSizesPacket } from "../../lib/domain/rooms";
import {
	ChatCommonMixin,
	CURSOR,
	HISTORY_ON_JOIN,
	LIMIT,
	NONCE,
	TEXT,
	USERNAME,
	checkNonce,
	readyLatch,
	sendNotification,
	refusal,
	requireUser,
	textOrThrow,
	type ChatCommonMethods,
	type ChatSettings,
	type ChatStoreOwner,
	type Ctx,
} from "./chat-common";

/**
 * Live chat of a channel: one room per channel (username) that sockets join, with history,
 * typing indicators and viewer counts (presence). Moderation (bans, settings, moderators,
 * deleting) is moderation.service.ts; direct conversations are dm.service.ts. This service
 * owns chat's storage (every chat collection) and the send-rate counters; the other two use them
 * (services/chat/chat-common.ts).
 *
 * Messages of both kinds live in `chat_messages` keyed by `room` ("chat:<username>" or
 * "dm:<conversationId>"). Unique keys make the promises hold under concurrency: `nonceKey` (one
 * message per sender nonce), `pairKey` (one conversation per pair), ban `key` (one ban row per
 * channel and user). Fan-out to sockets goes through `ws.emit` (RealtimeMixin), so it reaches
 * every gateway node.
 *
 * Crash recovery: a message and its notification mark (`effectsDue`) are written together; marks
 * left by a crash or a channel adapter that was down are re-driven on `$broker.started` and by
 * the `redrive` sweep. The `prune` sweep (hourly and at start) deletes only what is already dead.
 */

const MAX_CHAT_ROOMS_PER_SOCKET = 20;
const JOIN_LIMIT: Limit = { limit: 30, windowMs: 10_000 };
const PRUNE_EVERY_MS = 3600_000;
/** Marks older than this are re-driven by the sweep (a send in flight clears its own mark sooner). */
const REDRIVE_AFTER_MS = 60_000;
/** At most this many marked rows are re-driven per run. */
const REDRIVE_BATCH = 500;

interface Local extends ChatStoreOwner {
	historyDays: number;
	typing: TypingThrottle;
	tally: PresenceTally;
	lastPresence: Map<string, number>;
	presenceLeader: string | null;
	presence: Coalescer;
	ready: ReturnType<typeof readyLatch>;
}
interface Methods extends ChatCommonMethods, SweeperMethods, RealtimeMethods {
	checkJoinRate(ctx: Ctx): Promise<void>;
	isFollowing(ctx: Ctx, followerId: string, followeeId: string): Promise<boolean>;
	takeSlowModeSlot(key: string, slowModeSec: number, now: number): Promise<void>;
	resolveMentions(ctx: Ctx, text: string, senderId: string): Promise<string[]>;
	redrive(olderThanMs: number): Promise<number>;
	prune(now?: number): Promise<{ messages: number; bans: number; slow: number }>;
	isPresenceLeader(): boolean;
	flushPresence(room: string): void;
}
type This = Service<ChatSettings> & Local & Methods;

const schema: ServiceSchema<ChatSettings, Methods, Local> = {
	name: "chat",
	mixins: [
		DbMixin("chat_messages", [{ fields: ["room", "_id"] }, { fields: "nonceKey", unique: true, sparse: true }, { fields: OUTBOX_MARK, sparse: true }], {
			chat_rooms: [],
			chat_bans: [{ fields: "key", unique: true }, { fields: "channelId" }],
			chat_slow: [],
			chat_conversations: [
				{ fields: "pairKey", unique: true },
				{ fields: ["participants", "activity"], array: true },
			],
		}),
		SweeperMixin<This>(
			{ name: "redrive", everyMs: () => REDRIVE_AFTER_MS, run: (svc) => svc.redrive(REDRIVE_AFTER_MS) },
			{ name: "prune", everyMs: () => PRUNE_EVERY_MS, run: (svc) => svc.prune(), onBrokerStarted: true },
		),
		RealtimeMixin,
		ChatCommonMixin,
	],
	settings: { rest: "/" },

	actions: {
		// ---- over sockets ----

		/** Join a channel's chat: the socket enters `chat:<username>` and gets recent history. */
		join: {
			socket: "chat:join",
			scopes: ["chat:write"],
			params: { channel: USERNAME },
			async handler(ctx: Ctx<{ channel: string }>) {
				await this.checkJoinRate(ctx);
				const owner = await this.resolveChannel(ctx, ctx.params.channel);
				const room = rooms.chat(owner.username);
				const joined = ctx.meta.socket?.rooms ?? [];
				if (!joined.includes(room) && joined.filter(isChatRoom).length >= MAX_CHAT_ROOMS_PER_SOCKET) {
					throw badRequest(`A connection may be in at most ${MAX_CHAT_ROOMS_PER_SOCKET} chats`, "TOO_MANY_ROOMS");
				}
				const [roomDoc, page] = await Promise.all([this.loadRoom(owner), this.store.page({ room, deletedAt: null }, { limit: HISTORY_ON_JOIN })]);
				ctx.meta.$join = [room];
				const role: ChannelRole | null = channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: roomDoc.moderators });
				const viewers = this.tally.count(room) + (joined.includes(room) ? 0 : 1);
				return {
					channel: owner.username,
					history: page.items.reverse().map(channelView),
					viewers: Math.max(1, viewers),
					settings: { slowModeSec: roomDoc.slowModeSec, followersOnly: roomDoc.followersOnly },
					role,
				};
			},
		},

		/** Leave a channel's chat room. */
		leave: {
			socket: "chat:leave",
			scopes: ["chat:write"],
			params: { channel: USERNAME },
			async handler(ctx: Ctx<{ channel: string }>) {
				const channel = ctx.params.channel.toLowerCase();
				ctx.meta.$leave = [rooms.chat(channel)];
				return { channel };
			},
		},

		/** Send a chat message; refusals ack `{ok:false, error:{type, message, retryAfterSec?}}`. */
		send: {
			socket: "chat:send",
			scopes: ["chat:write"],
			// Never retried by the broker: a second run would make a second message (unless it has a nonce).
			retryPolicy: { enabled: false },
			params: { channel: USERNAME, text: TEXT, nonce: NONCE },
			async handler(ctx: Ctx<{ channel: string; text: string; nonce?: string }>) {
				const user = requireUser(ctx);
				const text = textOrThrow(ctx.params.text);
				checkNonce(ctx.params.nonce);
				const owner = await this.resolveChannel(ctx, ctx.params.channel);
				const room = rooms.chat(owner.username);
				const nonceKey = ctx.params.nonce ? makeNonceKey(room, user.id, ctx.params.nonce) : undefined;
				if (nonceKey) {
					const first = await this.store.findOne({ nonceKey });
					if (first) return { message: channelView(first), duplicate: true };
				}
				await this.checkRate(user.id);
				const roomDoc = await this.loadRoom(owner);
				const role = channelRole({ user, ownerId: owner.id, moderators: roomDoc.moderators })!;
				const now = Date.now();
				const ban = await this.stores.chat_bans.findOne({ key: banKey(owner.id, user.id) });
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
				if (!exempt && roomDoc.slowModeSec > 0) await this.takeSlowModeSlot(slowKey(owner.id, user.id), roomDoc.slowModeSec, now);

				const mentionIds = await this.resolveMentions(ctx, text, user.id);
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
					...(mentionIds.length ? { [OUTBOX_MARK]: true as const, mentionIds } : {}),
				};
				const stored = await this.insertMessage(doc);
				if (stored.duplicate) return { message: channelView(stored.doc), duplicate: true };
				const message = channelView(doc);
				countChatMessage(this.broker, "channel");
				this.push([room], "chat:message", message, ctx);
				if (doc.effectsDue) await this.notify(doc);
				return { message, duplicate: false };
			},
		},

		/** "Someone is typing" to the rest of the room (throttled per user). */
		typing: {
			socket: "chat:typing",
			params: { channel: USERNAME },
			async handler(ctx: Ctx<{ channel: string }>) {
				const user = requireUser(ctx);
				const room = rooms.chat(ctx.params.channel.toLowerCase());
				if (!(ctx.meta.socket?.rooms ?? []).includes(room)) throw badRequest("Join the chat first", "NOT_JOINED");
				if (!this.typing.allow(`${room}:${user.id}`)) return { channel: ctx.params.channel.toLowerCase(), throttled: true };
				const owner = await this.resolveChannel(ctx, ctx.params.channel);
				const ban = await this.stores.chat_bans.findOne({ key: banKey(owner.id, user.id) });
				if (banInForce(ban, Date.now())) throw refusal(refuseSend({ now: Date.now(), role: "viewer", ban, followersOnly: false, blockedTerm: null })!);
				const data = { channel: owner.username, user: identity(user) };
				// Not echoed to the sender's socket.
				pushToRooms(ctx, [room], "chat:typing", data, NAMESPACE.main, ctx.meta.socket ? [ctx.meta.socket.id] : []);
				return { channel: owner.username };
			},
		},

		// ---- over REST ----

		/** Channel chat history, newest first. */
		history: {
			rest: "GET /channels/:username/messages",
			params: { username: USERNAME, limit: LIMIT, cursor: CURSOR },
			async handler(ctx: Ctx<{ username: string; limit?: number; cursor?: string }>) {
				const owner = await this.resolveChannel(ctx, ctx.params.username);
				const page = await this.store.page(
					{ room: rooms.chat(owner.username), deletedAt: null },
					{ limit: ctx.params.limit, cursor: ctx.params.cursor },
				);
				return { items: page.items.map(channelView), nextCursor: page.nextCursor };
			},
		},

		// ---- internal ----

		/** Is this user the channel's owner or one of its moderators? (comments use it) */
		isModerator: {
			visibility: "public",
			params: { channel: { type: "string", min: 1, max: 25 }, userId: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ channel: string; userId: string }>) {
				const user = (await ctx.call("users.get", { username: ctx.params.channel.toLowerCase() })) as Owner | null;
				if (!user) return false;
				if (user.id === ctx.params.userId) return true;
				const room = await this.loadRoom({ id: user.id, username: user.username, displayName: user.displayName });
				return room.moderators.includes(ctx.params.userId);
			},
		},

		/** Current viewer count of a channel's chat (summed over every gateway node). */
		viewers: {
			visibility: "public",
			params: { channel: USERNAME },
			handler(ctx: Ctx<{ channel: string }>) {
				return { channel: ctx.params.channel.toLowerCase(), viewers: this.tally.count(rooms.chat(ctx.params.channel.toLowerCase())) };
			},
		},
	},

	events: {
		/** Gateway nodes report their local chat room sizes; the sum is the viewer count. */
		"ws.roomSizes": {
			params: { namespace: "string", nodeID: "string", sizes: "object", full: "boolean" },
			handler(ctx: Context<RoomSizesPacket>) {
				if (ctx.params.namespace !== "/") return;
				for (const room of this.tally.apply(ctx.params.nodeID, ctx.params.sizes, ctx.params.full)) this.presence.touch(room);
			},
		},
		/** A node that left takes its sockets with it. */
		"$node.disconnected": {
			handler(ctx: Context<{ node: { id: string } }>) {
				for (const room of this.tally.dropNode(ctx.params.node.id)) this.presence.touch(room);
			},
		},
		"$services.changed": {
			handler() {
				this.presenceLeader = null;
			},
		},
		/** Notifications written but not handed to the channel by the previous process (crash between). */
		"$broker.started": {
			async handler() {
				const due = await this.store.find({ query: { [OUTBOX_MARK]: true }, limit: REDRIVE_BATCH });
				for (const doc of due) await this.notify(doc);
			},
		},
	},

	methods: {
		/** Joins per connection (or user, or address): a reconnect loop cannot hammer history reads. */
		async checkJoinRate(ctx: Ctx) {
			const who = ctx.meta.socket?.id ?? ctx.meta.user?.id ?? ctx.meta.ip ?? "anonymous";
			const verdict = await checkLimits(this.sendCounters.store, `chat-join:${who}`, [JOIN_LIMIT]);
			if (!verdict.allowed) throw refusal({ type: "RATE_LIMITED", message: "Too many joins, slow down", retryAfterSec: verdict.retryAfterSec });
		},

		/** follows.isFollowing; without a follows service nobody counts as a follower. */
		async isFollowing(ctx: Ctx, followerId: string, followeeId: string): Promise<boolean> {
			try {
				return (await ctx.call("follows.isFollowing", { followerId, followeeId })) === true;
			} catch (err) {
				if ((err as Error).name === "ServiceNotFoundError") return false;
				this.logger.warn("follows.isFollowing failed", (err as Error).message);
				throw new Errors.MoleculerError("Service unavailable, retry shortly", 503, "SERVICE_UNAVAILABLE");
			}
		},

		/**
		 * Slow mode as one conditional update: of two racing sends only one moves `lastAt`.
		 * The row is created on a user's first message in a slow channel.
		 */
		async takeSlowModeSlot(key: string, slowModeSec: number, now: number) {
			const slow = this.stores.chat_slow;
			if (await slow.updateIf({ _id: key, lastAt: { $lte: now - slowModeSec * 1000 } }, { $set: { lastAt: now } })) return;
			let current = await slow.findById(key);
			if (!current) {
				const first = await slow.insertOrGet({ _id: key, lastAt: now }, { _id: key });
				if (first.created) return;
				current = first.doc;
			}
			throw refusal(slowModeRefusal(Math.max(1, slowModeWait(current.lastAt ?? now, slowModeSec, now))));
		},

		/** Mentioned usernames → user ids (existing users other than the sender). */
		async resolveMentions(ctx: Ctx, text: string, senderId: string): Promise<string[]> {
			const names = parseMentions(text);
			if (names.length === 0) return [];
			const users = await Promise.all(names.map((username) => ctx.call("users.get", { username }).catch(() => null) as Promise<Owner | null>));
			return [...new Set(users.filter((u): u is Owner => !!u && u.id !== senderId).map((u) => u.id))];
		},

		/** Hands over the notifications of rows marked for longer than `olderThanMs` (channel and direct messages). */
		async redrive(olderThanMs: number) {
			return redriveDue(this.store, olderThanMs, (row) => sendNotification(this.broker, row as MessageDoc), Date.now(), REDRIVE_BATCH);
		},

		/**
		 * Housekeeping: channel messages older than CHAT_HISTORY_DAYS (0 keeps them forever; direct
		 * messages are always kept), expired timeouts and slow-mode marks nobody can still hit.
		 * Every chat node may run it; it only deletes what is already dead.
		 */
		async prune(now = Date.now()) {
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
		isPresenceLeader(): boolean {
			if (this.presenceLeader === null) {
				const nodes = (this.broker.registry.getServiceList({ onlyAvailable: true, skipInternal: true }) as Array<{ name: string; nodeID: string }>)
					.filter((s) => s.name === "chat")
					.map((s) => s.nodeID)
					.sort();
				this.presenceLeader = nodes[0] ?? this.broker.nodeID;
			}
			return this.presenceLeader === this.broker.nodeID;
		},

		flushPresence(room: string) {
			const viewers = this.tally.count(room);
			if (this.lastPresence.get(room) === viewers) return;
			if (viewers === 0) this.lastPresence.delete(room);
			else this.lastPresence.set(room, viewers);
			if (!this.isPresenceLeader()) return;
			this.push([room], "presence", { channel: chatRoomChannel(room), viewers });
		},
	},

	created() {
		const cfg = loadConfig().chat;
		this.sendLimits = [
			{ limit: cfg.rateBurst, windowMs: 2_000 },
			{ limit: cfg.rateSustained, windowMs: 30_000 },
		];
		this.sendCounters = createCounters("chat-ratelimit", "chat-rl");
		this.typing = new TypingThrottle();
		this.tally = new PresenceTally();
		this.lastPresence = new Map<string, number>();
		this.presenceLeader = null;
		this.presence = new Coalescer(cfg.presenceWindowMs, (room) => this.flushPresence(room));
		this.historyDays = cfg.historyDays;
		this.ready = readyLatch();
		this.storesReady = this.ready.promise;
	},

	async started() {
		await adoptLegacyMark(this.store, "chat_messages", "outbox");
		this.ready.open();
	},

	stopped() {
		this.presence?.clear();
		this.sendCounters?.close();
	},
};

export default schema;
