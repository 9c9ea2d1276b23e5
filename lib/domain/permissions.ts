import type { ActionSchema, Context } from "moleculer";
import type { AuthUser } from "../../types/moleculer";
import { forbidden, notFound } from "../tools/errors";
import { canManageModerators, canModerate, channelRole, type ChannelRole } from "./chat/rules";
import type { ConversationDoc, Owner, RoomDoc } from "./chat/docs";
import type { PaymentDoc } from "./payments/docs";
import type { DonationView } from "./donations/views";

/**
 * Named permissions: the rules an action names in its `permissions: ["…"]` metadata, enforced for
 * every caller by middlewares/permissions.ts (REST, Socket.IO and calls made inside the cluster on
 * behalf of a user alike). Every rule lives in this module, under a dotted `<context>.<rule>` name
 * ("channel.moderator", "donation.party"), so who may do what is read in one place.
 *
 * A context declares a rule once, at module level:
 *
 *     definePermission("post.author", async (ctx) => {
 *         const post = await ctx.call("posts.get", { id: ctx.params.id });
 *         return post?.authorId === ctx.meta.user?.id;
 *     });
 *
 * and an action uses it by name (several names: any one of them grants the call):
 *
 *     remove: { rest: "DELETE /:id", auth: "required", permissions: ["post.author"], handler(ctx) {…} }
 *
 * A rule answers true (allowed) or false (refused: 403 FORBIDDEN, or 401 UNAUTHORIZED when the
 * caller is anonymous). It runs before params validation (refusals keep their order: 401/403 before
 * 422, as the gateway answered them), so it reads `ctx.params` as untrusted input; the helpers
 * below do. A rule that throws refuses with its own error.
 */

/** The context a rule sees: the call's params (not yet validated) and the small user of the caller. */
export type PermissionContext = Context<Record<string, unknown>, { user?: AuthUser | null }>;

export type PermissionRule = (ctx: PermissionContext, action: ActionSchema) => boolean | Promise<boolean>;

const registry = new Map<string, PermissionRule>();

/** Declares a named rule; a name is declared once (a second declaration is a programming error). */
export function definePermission(name: string, rule: PermissionRule): void {
	if (registry.has(name)) throw new Error(`Permission "${name}" is already defined`);
	registry.set(name, rule);
}

/** The rule of a name, or undefined. */
export function permissionRule(name: string): PermissionRule | undefined {
	return registry.get(name);
}

/** Every declared name (the OpenAPI document and the REPL may list them). */
export function permissionNames(): string[] {
	return [...registry.keys()].sort();
}

/** Removes a rule (tests that declare their own). */
export function undefinePermission(name: string): void {
	registry.delete(name);
}

// --- helpers for writing rules -------------------------------------------------------------

/** The caller's user id, or null when anonymous. */
export function userId(ctx: PermissionContext): string | null {
	return ctx.meta.user?.id ?? null;
}

/** Whether the caller has the role ("admin" has every role). */
export function hasRole(ctx: PermissionContext, role: string): boolean {
	const roles = ctx.meta.user?.roles ?? [];
	return roles.includes("admin") || roles.includes(role);
}

/** Whether the caller is an admin. */
export function isAdmin(ctx: PermissionContext): boolean {
	return (ctx.meta.user?.roles ?? []).includes("admin");
}

/** A rule: the param `field` (a string) is the caller's own user id (`owner("userId")`). */
export function owner(field = "userId"): PermissionRule {
	return (ctx) => {
		const id = userId(ctx);
		const value = ctx.params?.[field];
		return id !== null && typeof value === "string" && value === id;
	};
}

/** A rule: the document `load` answers is owned by the caller (`ownerField`, default "userId"). */
export function ownerOf<T extends Record<string, unknown>>(load: (ctx: PermissionContext) => Promise<T | null>, ownerField = "userId"): PermissionRule {
	return async (ctx) => {
		const id = userId(ctx);
		if (id === null) return false;
		const doc = await load(ctx);
		return !!doc && doc[ownerField] === id;
	};
}

/** A rule that passes when any of `rules` does (evaluated in order, stops at the first). */
export function anyOf(...rules: PermissionRule[]): PermissionRule {
	return async (ctx, action) => {
		for (const r of rules) if (await r(ctx, action)) return true;
		return false;
	};
}

/** A rule that passes when every one of `rules` does. */
export function allOf(...rules: PermissionRule[]): PermissionRule {
	return async (ctx, action) => {
		for (const r of rules) if (!(await r(ctx, action))) return false;
		return true;
	};
}

// --- what a rule loaded, for the handler ------------------------------------------------------

/**
 * Documents a rule had to load to decide, kept on `ctx.locals` so the action's handler does not
 * read them a second time. A handler takes one with `loaded(ctx, key, id)` (the id it was loaded
 * for must be the one the handler works on) and loads it itself when absent: system calls skip the
 * rules.
 */
export interface PermissionLocals {
	/** "post.author": the post's id and author. */
	post?: { id: string; authorId: string };
	/** "comment.remover": the comment's facts its deletion needs. */
	comment?: CommentFacts;
	/** "donation.party": the donation as `donations.get` answers it. */
	donation?: DonationView;
	/** "payment.refunder": the payment document. */
	payment?: { id: string; doc: PaymentDoc };
	/** "channel.moderator" / "channel.owner": the channel (by its lowercased username), its chat settings row and the caller's role in it. */
	channel?: ChannelFacts;
	/** "conversation.participant": the conversation document. */
	conversation?: { id: string; doc: ConversationDoc };
}

export interface CommentFacts {
	id: string;
	authorId: string;
	targetType: string;
	targetId: string;
	targetOwnerId: string;
	parentId: string | null;
}

export interface ChannelFacts {
	id: string;
	owner: Owner;
	room: RoomDoc;
	role: ChannelRole | null;
}

type WithLocals = { locals?: unknown };

/** What a rule kept under `key` for the document `id`, or undefined (not loaded, or for another id). */
export function loaded<K extends keyof PermissionLocals>(ctx: WithLocals, key: K, id: string): PermissionLocals[K] | undefined {
	const value = (ctx.locals as PermissionLocals | undefined)?.[key];
	return value && value.id === id ? value : undefined;
}

function keep<K extends keyof PermissionLocals>(ctx: PermissionContext, key: K, value: NonNullable<PermissionLocals[K]>): void {
	(ctx.locals as PermissionLocals)[key] = value;
}

/**
 * The param `field` when it is a string, else null. Rules run before validation: on null they answer
 * true and leave the refusal (422) to the validator, as before the rule existed; every action that
 * names a rule declares that field a required string, so a null never reaches its handler. A string
 * goes to the internal action the rule asks, whose params schema is the action's own (an overlong
 * id is the same 422).
 */
export function idParam(ctx: PermissionContext, field = "id"): string | null {
	const v = ctx.params?.[field];
	return typeof v === "string" ? v : null;
}

// --- the rules ---------------------------------------------------------------------------------

/** Only a post's author may change or delete it (404 when it does not exist, 403 NOT_AUTHOR otherwise). */
definePermission("post.author", async (ctx) => {
	const id = idParam(ctx);
	if (id === null) return true;
	const post = await ctx.call<{ exists: boolean; ownerId?: string }, { id: string }>("posts.exists", { id });
	if (!post.exists || !post.ownerId) throw notFound("Post");
	keep(ctx, "post", { id, authorId: post.ownerId });
	if (post.ownerId !== userId(ctx)) throw forbidden("Only the author can change this post", "NOT_AUTHOR");
	return true;
});

/**
 * A comment is deleted by its author, its target's owner, that channel's chat moderators (asked
 * through `chat.isModerator` when the chat service runs) or an admin (404 when it does not exist).
 */
definePermission("comment.remover", async (ctx) => {
	const id = idParam(ctx);
	if (id === null) return true;
	const found = await ctx.call<({ exists: true } & Omit<CommentFacts, "id"> & { ownerId: string }) | { exists: false }, { id: string }>("comments.exists", {
		id,
	});
	if (!found.exists) throw notFound("Comment");
	const comment: CommentFacts = {
		id,
		authorId: found.ownerId,
		targetType: found.targetType,
		targetId: found.targetId,
		targetOwnerId: found.targetOwnerId,
		parentId: found.parentId ?? null,
	};
	keep(ctx, "comment", comment);
	if (await mayRemoveComment(ctx, comment)) return true;
	throw forbidden("Only the author, the channel owner, its moderators or an admin can delete this comment");
});

async function mayRemoveComment(ctx: PermissionContext, c: CommentFacts): Promise<boolean> {
	const me = userId(ctx);
	if (me === null) return false;
	if (me === c.authorId || me === c.targetOwnerId || isAdmin(ctx)) return true;
	// Moderators of the owner's chat channel moderate its comments too.
	const owner = await ctx.call<{ username: string } | null, { id: string }>("users.get", { id: c.targetOwnerId });
	if (!owner) return false;
	try {
		return (await ctx.call<boolean, { channel: string; userId: string }>("chat.isModerator", { channel: owner.username, userId: me })) === true;
	} catch (err) {
		// No chat service in this deployment: owner and admins only.
		if ((err as Error).name !== "ServiceNotFoundError")
			ctx.service?.logger.warn("chat.isModerator failed; treating the caller as not a moderator", (err as Error).message);
		return false;
	}
}

/** A donation is seen by its recipient, its donor and admins; to anyone else it does not exist (404, never 403). */
definePermission("donation.party", async (ctx) => {
	const id = idParam(ctx);
	if (id === null) return true;
	const d = await ctx.call<DonationView | null, { id: string }>("donations.get", { id });
	if (!d) throw notFound("Donation");
	keep(ctx, "donation", d);
	const me = userId(ctx);
	if (me === null || (d.recipientId !== me && d.donorId !== me && !isAdmin(ctx))) throw notFound("Donation");
	return true;
});

/** A payment is refunded by its donation's recipient or an admin (404 PAYMENT_NOT_FOUND when it does not exist). */
definePermission("payment.refunder", async (ctx) => {
	const id = idParam(ctx);
	if (id === null) return true;
	const doc = await ctx.call<PaymentDoc | null, { id: string }>("payments.find", { id });
	if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
	keep(ctx, "payment", { id, doc });
	if (isAdmin(ctx)) return true;
	const donation = await ctx.call<{ recipientId?: string } | null, { id: string }>("donations.get", { id: doc.donationId });
	if (!donation || donation.recipientId !== userId(ctx)) throw forbidden("Only the recipient or an admin can refund a donation");
	return true;
});

/** The channel named by the param `username` (404 CHANNEL_NOT_FOUND), its chat settings and the caller's role in it. */
async function channelFacts(ctx: PermissionContext, username: string): Promise<ChannelFacts> {
	const { owner, room } = await ctx.call<{ owner: Owner; room: RoomDoc }, { username: string }>("moderation.channel", { username });
	const role = channelRole({ user: ctx.meta.user, ownerId: owner.id, moderators: room.moderators });
	const facts = { id: username.toLowerCase(), owner, room, role };
	keep(ctx, "channel", facts);
	return facts;
}

/** The channel's owner, its moderators and admins moderate its chat (bans, deletions, settings). */
definePermission("channel.moderator", async (ctx) => {
	const username = idParam(ctx, "username");
	if (username === null) return true;
	const { role } = await channelFacts(ctx, username);
	if (!canModerate(role)) throw forbidden("Only the channel owner and its moderators can do this", "FORBIDDEN");
	return true;
});

/** Only the channel's owner and admins appoint or remove its moderators. */
definePermission("channel.owner", async (ctx) => {
	const username = idParam(ctx, "username");
	if (username === null) return true;
	const { role } = await channelFacts(ctx, username);
	if (!canManageModerators(role)) throw forbidden("Only the channel owner can manage moderators", "FORBIDDEN");
	return true;
});

/**
 * Only its two participants see a conversation (param `id` or `conversationId`); to anyone else it
 * does not exist (404 CONVERSATION_NOT_FOUND).
 */
definePermission("conversation.participant", async (ctx) => {
	const field = ctx.params && "conversationId" in ctx.params ? "conversationId" : "id";
	const me = userId(ctx);
	// Anonymous: the handler's first step (`requireUser`) refuses with its own 401 ("Sign in to send messages"…).
	if (me === null) return true;
	const id = idParam(ctx, field);
	if (id === null) return true;
	const conv = await ctx.call<ConversationDoc | null, { id: string }>("dm.conversation", { id });
	if (!conv || !conv.participants.includes(me)) throw notFound("Conversation", "CONVERSATION_NOT_FOUND");
	keep(ctx, "conversation", { id, doc: conv });
	return true;
});
