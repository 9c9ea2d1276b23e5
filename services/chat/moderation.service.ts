import type { ServiceSchema } from "moleculer";
import { RealtimeMixin, type RealtimeMethods } from "../../mixins/realtime.mixin";
import { newId, isId } from "../../lib/tools/ids";
import { badRequest, forbidden, notFound } from "../../lib/tools/errors";
import { loaded, type ChannelFacts } from "../../lib/domain/permissions";
import { rooms } from "../../lib/domain/rooms";
import { cleanBlockedTerms, MAX_BLOCKED_TERMS, MAX_TERM_LENGTH } from "../../lib/domain/chat/blocked-terms";
import { canModerate, canSanction, channelRole } from "../../lib/domain/chat/rules";
import { banKey } from "../../lib/domain/chat/keys";
import { banView, settingsView } from "../../lib/domain/chat/views";
import { defaultRoom, type BanDoc, type Owner, type RoomDoc } from "../../lib/domain/chat/docs";
import {
	ChatCommonMixin,
	ChatStoresBorrower,
	CURSOR,
	ID,
	LIMIT,
	USERNAME,
	type ChatCommonMethods,
	type ChatLocal,
	type ChatSettings,
	type Ctx,
} from "./chat-common";

/**
 * Moderation of a channel's chat: deleting messages, bans and timeouts (a sanctioned user's
 * messages are cleared), moderators, and the chat settings (slow mode, followers-only, blocked
 * terms). The rules (who may act on whom) are lib/domain/chat/rules.ts; the actions name the
 * permissions "channel.moderator" and "channel.owner" (lib/domain/permissions.ts), which apply
 * them for every caller and hand the channel they checked to the handler. The rows live in the chat
 * service's collections (`chat_rooms`, `chat_bans`, `chat_messages`), which every send reads.
 *
 * Crash recovery: each step is one write that is safe to repeat (a conditional delete, an upsert
 * by ban key, `$addToSet`/`$pull`), so a retried request ends in the same state.
 */

const MAX_TIMEOUT_SEC = 14 * 24 * 3600;

type Local = ChatLocal;
interface Methods extends ChatCommonMethods, RealtimeMethods {
	/**
	 * The channel, its settings row and the caller's role: what "channel.moderator" / "channel.owner"
	 * checked, else (system calls, which skip the rules) read here, 404 CHANNEL_NOT_FOUND.
	 */
	channelFacts(ctx: Ctx, username: string): Promise<Omit<ChannelFacts, "id">>;
	/** Creates the channel's settings row when it has none (moderators and settings update it). */
	ensureRoom(owner: Owner): Promise<void>;
	/** Removes a sanctioned user's messages from the room and tells viewers to clear them. */
	clearUserMessages(ctx: Ctx, owner: Owner, userId: string): Promise<void>;
}
type BanParams = { username: string; userId: string; durationSec?: number; reason?: string };
type SettingsParams = { username: string; slowModeSec?: number; followersOnly?: boolean; blockedTerms?: string[] };

const schema: ServiceSchema<ChatSettings, Methods, Local> = {
	name: "moderation",
	mixins: [ChatStoresBorrower, RealtimeMixin, ChatCommonMixin],
	settings: { rest: "/" },

	actions: {
		/** Moderators delete a message; every viewer is told `chat:deleted`. */
		deleteMessage: {
			rest: "DELETE /channels/:username/messages/:id",
			status: 204,
			auth: "required",
			permissions: ["channel.moderator"],
			params: { username: USERNAME, id: ID },
			async handler(ctx: Ctx<{ username: string; id: string }>) {
				const { owner } = await this.channelFacts(ctx, ctx.params.username);
				const room = rooms.chat(owner.username);
				const msg = isId(ctx.params.id) ? await this.store.findOne({ _id: ctx.params.id, room }) : null;
				if (!msg || msg.deletedAt) throw notFound("Message", "MESSAGE_NOT_FOUND");
				const won = await this.store.updateIf(
					{ _id: msg._id, deletedAt: null },
					{ $set: { deletedAt: new Date().toISOString(), deletedBy: ctx.meta.user?.id ?? null } },
				);
				if (won) this.push([room], "chat:deleted", { channel: owner.username, id: msg._id }, ctx);
				return null;
			},
		},

		/** Ban (no duration) or time out (durationSec) a user; their messages are cleared. */
		ban: {
			rest: "POST /channels/:username/bans",
			status: 201,
			auth: "required",
			permissions: ["channel.moderator"],
			params: {
				username: USERNAME,
				userId: ID,
				durationSec: { type: "number", integer: true, min: 1, max: MAX_TIMEOUT_SEC, optional: true },
				reason: { type: "string", max: 300, optional: true, trim: true },
			},
			async handler(ctx: Ctx<BanParams>) {
				const { owner, room: roomDoc, role } = await this.channelFacts(ctx, ctx.params.username);
				const target = (await ctx.call("users.get", { id: ctx.params.userId })) as (Owner & { roles: string[] }) | null;
				if (!target) throw notFound("User", "USER_NOT_FOUND");
				const targetRole = channelRole({ user: target, ownerId: owner.id, moderators: roomDoc.moderators })!;
				if (target.id === ctx.meta.user?.id) throw forbidden("You cannot ban yourself", "CANNOT_BAN_SELF");
				if (!canSanction(role, targetRole))
					throw forbidden(targetRole === "owner" ? "The channel owner cannot be banned" : "You cannot ban this user", "CANNOT_BAN");
				const now = Date.now();
				const key = banKey(owner.id, target.id);
				const fields = {
					channelId: owner.id,
					userId: target.id,
					until: ctx.params.durationSec ? now + ctx.params.durationSec * 1000 : null,
					reason: ctx.params.reason || null,
					by: ctx.meta.user!.id,
					createdAt: new Date(now).toISOString(),
				};
				// One row per (channel, user): a new sanction replaces the old one.
				if (!(await this.stores.chat_bans.updateMany({ key }, { $set: fields }))) {
					const { created } = await this.stores.chat_bans.insertOrGet({ _id: newId(), key, ...fields }, { key });
					if (!created) await this.stores.chat_bans.updateMany({ key }, { $set: fields });
				}
				await this.clearUserMessages(ctx, owner, target.id);
				return banView({ _id: "", key, ...fields } satisfies BanDoc, owner);
			},
		},

		/** Lift a ban or timeout (idempotent). */
		unban: {
			rest: "DELETE /channels/:username/bans/:userId",
			status: 204,
			auth: "required",
			permissions: ["channel.moderator"],
			params: { username: USERNAME, userId: ID },
			async handler(ctx: Ctx<{ username: string; userId: string }>) {
				const { owner } = await this.channelFacts(ctx, ctx.params.username);
				await this.stores.chat_bans.removeMany({ key: banKey(owner.id, ctx.params.userId) });
				return null;
			},
		},

		/** Bans and timeouts in force, newest first (moderators). */
		listBans: {
			rest: "GET /channels/:username/bans",
			auth: "required",
			permissions: ["channel.moderator"],
			params: { username: USERNAME, limit: LIMIT, cursor: CURSOR },
			async handler(ctx: Ctx<{ username: string; limit?: number; cursor?: string }>) {
				const { owner } = await this.channelFacts(ctx, ctx.params.username);
				const now = Date.now();
				const page = await this.stores.chat_bans.page(
					{ channelId: owner.id, $or: [{ until: null }, { until: { $gt: now } }] },
					{ limit: ctx.params.limit, cursor: ctx.params.cursor },
				);
				return { items: page.items.map((b) => banView(b, owner)), nextCursor: page.nextCursor };
			},
		},

		/** Appoint a moderator (owner or admin). */
		addModerator: {
			rest: "PUT /channels/:username/moderators/:userId",
			status: 204,
			auth: "required",
			permissions: ["channel.owner"],
			params: { username: USERNAME, userId: ID },
			async handler(ctx: Ctx<{ username: string; userId: string }>) {
				const { owner } = await this.channelFacts(ctx, ctx.params.username);
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
			permissions: ["channel.owner"],
			params: { username: USERNAME, userId: ID },
			async handler(ctx: Ctx<{ username: string; userId: string }>) {
				const { owner } = await this.channelFacts(ctx, ctx.params.username);
				await this.stores.chat_rooms.updateMany(
					{ _id: owner.id },
					{ $pull: { moderators: ctx.params.userId }, $set: { updatedAt: new Date().toISOString() } },
				);
				return null;
			},
		},

		/** The channel's moderators. */
		listModerators: {
			rest: "GET /channels/:username/moderators",
			params: { username: USERNAME },
			async handler(ctx: Ctx<{ username: string }>) {
				const owner = await this.resolveChannel(ctx, ctx.params.username);
				const room = await this.loadRoom(owner);
				const items = room.moderators.length ? await ctx.call("users.identities", { ids: room.moderators }) : [];
				return { items, nextCursor: null };
			},
		},

		/** Chat settings; blocked terms are shown to moderators only. */
		getSettings: {
			rest: "GET /channels/:username/settings",
			params: { username: USERNAME },
			async handler(ctx: Ctx<{ username: string }>) {
				const owner = await this.resolveChannel(ctx, ctx.params.username);
				const room = await this.loadRoom(owner);
				const role = channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: room.moderators });
				return settingsView(room, canModerate(role));
			},
		},

		/** Slow mode, followers-only and blocked terms (moderators). Fields left out stay as they are. */
		updateSettings: {
			rest: "PUT /channels/:username/settings",
			auth: "required",
			permissions: ["channel.moderator"],
			params: {
				username: USERNAME,
				slowModeSec: { type: "number", integer: true, min: 0, max: 3600, optional: true },
				followersOnly: { type: "boolean", optional: true },
				blockedTerms: { type: "array", items: { type: "string", min: 1, max: MAX_TERM_LENGTH }, max: MAX_BLOCKED_TERMS, optional: true },
			},
			async handler(ctx: Ctx<SettingsParams>) {
				const { owner } = await this.channelFacts(ctx, ctx.params.username);
				await this.ensureRoom(owner);
				const $set: Record<string, unknown> = { updatedAt: new Date().toISOString() };
				if (ctx.params.slowModeSec !== undefined) $set.slowModeSec = ctx.params.slowModeSec;
				if (ctx.params.followersOnly !== undefined) $set.followersOnly = ctx.params.followersOnly;
				if (ctx.params.blockedTerms !== undefined) $set.blockedTerms = cleanBlockedTerms(ctx.params.blockedTerms);
				await this.stores.chat_rooms.updateMany({ _id: owner.id }, { $set });
				const room = await this.loadRoom(owner);
				const data = { channel: owner.username, slowModeSec: room.slowModeSec, followersOnly: room.followersOnly };
				this.push([rooms.chat(owner.username)], "chat:settings", data, ctx);
				return settingsView(room, true);
			},
		},

		// ---- internal ----

		/** The channel and its chat settings row (404 CHANNEL_NOT_FOUND): what "channel.moderator" and "channel.owner" decide on. */
		channel: {
			visibility: "public",
			params: { username: USERNAME },
			async handler(ctx: Ctx<{ username: string }>): Promise<{ owner: Owner; room: RoomDoc }> {
				const owner = await this.resolveChannel(ctx, ctx.params.username);
				return { owner, room: await this.loadRoom(owner) };
			},
		},
	},

	methods: {
		async channelFacts(ctx: Ctx, username: string) {
			const checked = loaded(ctx, "channel", username.toLowerCase());
			if (checked) return checked;
			const owner = await this.resolveChannel(ctx, username);
			const room = await this.loadRoom(owner);
			return { owner, room, role: channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: room.moderators }) };
		},

		async ensureRoom(owner: Owner) {
			await this.stores.chat_rooms.insertOrGet(defaultRoom(owner, new Date().toISOString()), { _id: owner.id });
		},

		async clearUserMessages(ctx: Ctx, owner: Owner, userId: string) {
			const room = rooms.chat(owner.username);
			await this.store.updateMany(
				{ room, userId, deletedAt: null },
				{ $set: { deletedAt: new Date().toISOString(), deletedBy: ctx.meta.user?.id ?? null } },
			);
			this.push([room], "chat:cleared", { channel: owner.username, userId }, ctx);
		},
	},
};

export default schema;
