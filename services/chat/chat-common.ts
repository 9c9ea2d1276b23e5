import type { Context, Service, ServiceBroker, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Errors } from "moleculer";
import type { Collection, DbThis } from "../../mixins/db.mixin";
import type { Counters } from "../../lib/db/counters";
import { sendAndClear } from "../../lib/db/outbox";
import { checkLimits, type Limit } from "../../lib/tools/rate-limit";
import { invalid, notFound, unauthorized } from "../../lib/tools/errors";
import { isValidNonce, normalizeChatText } from "../../lib/domain/chat/text";
import type { Refusal } from "../../lib/domain/chat/rules";
import { defaultRoom, type BanDoc, type ConversationDoc, type MessageDoc, type Owner, type RoomDoc, type SlowDoc } from "../../lib/domain/chat/docs";
import type { AuthUser, GatewayMeta } from "../../types/moleculer";

/**
 * What the chat services (chat: channel rooms, moderation, dm) share: the collections, the
 * send-rate counters, parameter schemas and the few steps more than one of them takes.
 *
 * One owner for the storage: the `chat` service opens every chat collection (DbMixin) and the
 * counters; moderation and dm run beside it (the `chat` deploy group is the services/chat
 * folder) and use the same ones (`ChatStoresBorrower`), because channel and direct messages
 * share `chat_messages` and every send reads the moderation rows. An embedded store (NeDB file,
 * in-memory) cannot be opened twice in one process.
 */

export type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

export type ChatStores = {
	chat_messages: Collection<MessageDoc>;
	chat_rooms: Collection<RoomDoc>;
	chat_bans: Collection<BanDoc>;
	chat_slow: Collection<SlowDoc>;
	chat_conversations: Collection<ConversationDoc>;
};

export interface ChatLocal extends DbThis<MessageDoc, ChatStores> {
	/** Per-user send limits, shared by channel and direct messages (`chat:<userId>`). */
	sendCounters: Counters;
	sendLimits: Limit[];
}

export interface ChatCommonMethods {
	/** The channel's owner by username, or 404 CHANNEL_NOT_FOUND. */
	resolveChannel(ctx: Ctx, username: string): Promise<Owner>;
	/** The channel's settings and moderators (defaults when never changed). */
	loadRoom(owner: Owner): Promise<RoomDoc>;
	/** Burst and sustained per-user send limits. */
	checkRate(userId: string): Promise<void>;
	/** Inserts a message; a concurrent twin with the same nonce makes this answer the first. */
	insertMessage(doc: MessageDoc): Promise<{ doc: MessageDoc; duplicate: boolean }>;
	/** Hands a message's notification to its channel, then clears the outbox mark (left set on failure). */
	notify(doc: MessageDoc): Promise<void>;
}

export type ChatSettings = ServiceSettingSchema & { rest: string };

// ---- parameter schemas ----

export const USERNAME = {
	type: "string",
	min: 3,
	max: 25,
	pattern: /^[A-Za-z0-9_]+$/,
	messages: { stringPattern: "must be a username (a-z, 0-9, _)" },
};
export const ID = { type: "string", min: 1, max: 64 };
// A coarse bound on the raw string; the real limit is 500 characters after cleaning (lib/domain/chat/text.ts),
// and 500 emoji sequences can take several thousand UTF-16 units (a family emoji is 11).
export const TEXT = { type: "string", min: 1, max: 8000 };
export const NONCE = { type: "string", min: 1, max: 64, optional: true };
export const LIMIT = { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true };
export const CURSOR = { type: "string", max: 64, optional: true };

export const HISTORY_ON_JOIN = 50;

// ---- plain steps ----

export function refusal(r: Refusal) {
	const code = r.type === "RATE_LIMITED" || r.type === "SLOW_MODE" ? 429 : 403;
	return new Errors.MoleculerClientError(r.message, code, r.type, r.retryAfterSec !== undefined ? { retryAfterSec: r.retryAfterSec } : undefined);
}

/** The signed-in caller, or 401 (socket calls reach chat without the gateway's auth check). */
export function requireUser(ctx: Ctx<unknown>, what = "chat"): AuthUser {
	const user = ctx.meta.user;
	if (!user) throw unauthorized(`Sign in to ${what}`, "UNAUTHORIZED");
	return user;
}

export function textOrThrow(raw: string): string {
	const v = normalizeChatText(raw);
	if (!v.ok) throw invalid("text", v.message);
	return v.text;
}

export function checkNonce(nonce: string | undefined): void {
	if (nonce !== undefined && !isValidNonce(nonce)) throw invalid("nonce", "nonce must be 1–64 visible ASCII characters");
}

/** The notification a message owes: chat.mentioned for mentions in a channel, chat.dm for a direct message. */
export function sendNotification(broker: ServiceBroker, doc: MessageDoc): Promise<void> {
	const from = { id: doc.userId, username: doc.username, displayName: doc.displayName };
	if (doc.kind === "channel" && doc.mentionIds?.length) {
		return broker.sendToChannel("chat.mentioned", { messageId: doc._id, channel: doc.channel, from, userIds: doc.mentionIds, text: doc.text });
	}
	if (doc.kind === "dm" && doc.to) {
		return broker.sendToChannel("chat.dm", { conversationId: doc.conversationId, messageId: doc._id, from, to: doc.to, text: doc.text });
	}
	return Promise.resolve();
}

type CommonThis = Service<ChatSettings> & ChatLocal & ChatCommonMethods;

export const ChatCommonMixin: Partial<ServiceSchema> = {
	methods: {
		async resolveChannel(this: CommonThis, ctx: Ctx, username: string): Promise<Owner> {
			const user = (await ctx.call("users.get", { username: username.toLowerCase() })) as Owner | null;
			if (!user) throw notFound("Channel", "CHANNEL_NOT_FOUND");
			return { id: user.id, username: user.username, displayName: user.displayName };
		},

		async loadRoom(this: CommonThis, owner: Owner): Promise<RoomDoc> {
			const doc = await this.stores.chat_rooms.findById(owner.id);
			return { ...defaultRoom(owner), ...(doc ?? {}) };
		},

		async checkRate(this: CommonThis, userId: string) {
			const verdict = await checkLimits(this.sendCounters.store, `chat:${userId}`, this.sendLimits);
			if (!verdict.allowed) throw refusal({ type: "RATE_LIMITED", message: "You are sending messages too fast", retryAfterSec: verdict.retryAfterSec });
		},

		async insertMessage(this: CommonThis, doc: MessageDoc) {
			if (!doc.nonceKey) return { doc: await this.store.insert(doc), duplicate: false };
			const stored = await this.store.insertOrGet(doc, { nonceKey: doc.nonceKey });
			return { doc: stored.doc, duplicate: !stored.created };
		},

		async notify(this: CommonThis, doc: MessageDoc) {
			try {
				await sendAndClear(this.store, doc._id, () => sendNotification(this.broker, doc));
			} catch (err) {
				// Left marked: re-driven by the chat service's sweep.
				this.logger.warn("Chat notification not handed over yet", doc._id, (err as Error).message);
			}
		},
	},
} satisfies Partial<ServiceSchema<ChatSettings, ChatCommonMethods, ChatLocal>>;

/** What the chat service adds so the other chat services can wait for its storage. */
export interface ChatStoreOwner extends ChatLocal {
	/** Resolves once the chat service has started (its collections are connected). */
	storesReady: Promise<void>;
}

/**
 * moderation and dm: take the chat service's collections and counters when it has started.
 * The chat service must run on the same node (they are one deploy group).
 */
const borrower: Partial<ServiceSchema<ServiceSettingSchema, Record<string, never>, ChatLocal>> = {
	async started() {
		const owner = this.broker.getLocalService("chat") as unknown as ChatStoreOwner | undefined;
		if (!owner?.storesReady) throw new Error(`${this.name} uses the chat service's collections: run services/chat/chat.service on this node too`);
		await owner.storesReady;
		this.store = owner.store;
		this.stores = owner.stores;
		this.sendCounters = owner.sendCounters;
		this.sendLimits = owner.sendLimits;
	},
};
export const ChatStoresBorrower = borrower as unknown as Partial<ServiceSchema>;

/** The chat service's one helper for this: resolves when the service's own `started` ends. */
export function readyLatch(): { promise: Promise<void>; open(): void } {
	let open!: () => void;
	const promise = new Promise<void>((resolve) => (open = resolve));
	return { promise, open };
}
