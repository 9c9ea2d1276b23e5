import type { Context } from "moleculer";
import type { Collection } from "../../mixins/db.mixin";
import { SocialMixin, type SocialSchema, type Ctx as AnyCtx, type Identity } from "../../mixins/social.mixin";
import { newId } from "../../lib/tools/ids";
import { invalid, notFound } from "../../lib/tools/errors";
import { loaded, type CommentFacts } from "../../lib/domain/permissions";
import { COMMENT_TARGETS, COMMENT_TEXT_MAX, targetKey } from "../../lib/domain/social/limits";
import { resolveTarget } from "../../lib/domain/social/targets";
import { bumpCount, countsOf, recountTarget, type CountDoc } from "../../lib/db/target-counts";
import { ID, PAGE, type PageParams } from "../../lib/domain/social/params";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Comments on posts and donations, with one level of replies (a reply's parent must be a
 * top-level comment on the same target). The per-target counter counts top-level comments and
 * replies alike and moves only by rows actually inserted or removed.
 * Deletion: the author, the target's owner, that channel's chat moderators (asked through
 * `chat.isModerator` when the chat service runs) and admins: the "comment.remover" rule of
 * lib/domain/permissions.ts.
 */

interface CommentDoc {
	_id: string;
	target: string;
	targetType: string;
	targetId: string;
	targetOwnerId: string;
	parentId: string | null;
	authorId: string;
	text: string;
	replyCount: number;
	parentAuthorId?: string | null;
	/** Set until the social.commented message has been queued (the outbox mark, lib/db/outbox.ts). */
	effectsDue?: true;
	createdAt: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

/** What a client sees of a comment. */
interface CommentView {
	id: string;
	type: string;
	targetId: string;
	parentId: string | null;
	author: Identity;
	text: string;
	replyCount: number;
	likeCount: number;
	liked: boolean;
	createdAt: string;
}

interface Methods {
	/** The comment to delete: the one "comment.remover" checked, else (system calls) read here. */
	commentToRemove(ctx: AnyCtx, id: string): Promise<Pick<CommentDoc, "_id" | "target" | "parentId">>;
	views(ctx: AnyCtx, docs: CommentDoc[]): Promise<CommentView[]>;
}

const schema: SocialSchema<CommentDoc, Methods, { comment_counts: Collection<CountDoc> }> = {
	name: "comments",
	mixins: [
		SocialMixin<CommentDoc>({
			collection: "comments",
			indexes: [{ fields: "target" }, { fields: "parentId" }, { fields: "effectsDue", sparse: true }],
			extra: { comment_counts: [] },
			announce: {
				channel: "social.commented",
				message: (c) => ({
					commentId: c._id,
					userId: c.authorId,
					targetType: c.targetType,
					targetId: c.targetId,
					targetOwnerId: c.targetOwnerId,
					parentId: c.parentId,
					parentAuthorId: c.parentAuthorId ?? null,
					text: c.text,
				}),
			},
		}),
	],

	actions: {
		/** Comment on a post or donation, or reply to a top-level comment with `parentId`. */
		create: {
			rest: "POST /comments",
			status: 201,
			// Never retried by the broker: a second run would make a second comment.
			retryPolicy: { enabled: false },
			auth: "required",
			params: {
				type: { type: "enum", values: [...COMMENT_TARGETS] },
				id: ID,
				text: { type: "string", text: "block", min: 1, max: COMMENT_TEXT_MAX },
				parentId: { ...ID, optional: true },
			},
			async handler(ctx: Ctx<{ type: string; id: string; text: string; parentId?: string }>) {
				const { type, id, text, parentId } = ctx.params;
				const user = ctx.meta.user!;
				const target = await resolveTarget((a, p) => ctx.call(a, p), type, id, ctx.meta.user);
				let parent: CommentDoc | null = null;
				if (parentId) {
					parent = await this.store.findById(parentId);
					if (!parent || parent.target !== targetKey(type, id)) throw invalid("parentId", "parentId must be a comment on the same target");
					if (parent.parentId) throw invalid("parentId", "Replies are one level deep: reply to the top-level comment", "REPLY_TOO_DEEP");
				}
				const doc: CommentDoc = {
					_id: newId(),
					target: targetKey(type, id),
					targetType: type,
					targetId: id,
					targetOwnerId: target.ownerId,
					parentId: parent?._id ?? null,
					authorId: user.id,
					text,
					replyCount: 0,
					parentAuthorId: parent?.authorId ?? null,
					effectsDue: true,
					createdAt: new Date().toISOString(),
				};
				await this.store.insert(doc);
				await bumpCount(this.stores.comment_counts, doc.target, 1);
				if (parent) await this.store.updateMany({ _id: parent._id }, { $inc: { replyCount: 1 } });
				await this.notify(doc);
				return (await this.views(ctx, [doc]))[0];
			},
		},

		/** Top-level comments of a target, newest first (`parentId` lists that comment's replies). */
		list: {
			rest: "GET /comments",
			auth: "optional",
			params: {
				type: { type: "enum", values: [...COMMENT_TARGETS] },
				id: ID,
				parentId: { ...ID, optional: true },
				...PAGE,
			},
			async handler(ctx: Ctx<{ type: string; id: string; parentId?: string } & PageParams>) {
				const { type, id, parentId, limit, cursor } = ctx.params;
				await resolveTarget((a, p) => ctx.call(a, p), type, id, ctx.meta.user);
				const page = await this.store.page({ target: targetKey(type, id), parentId: parentId ?? null }, { limit, cursor });
				return { items: await this.views(ctx, page.items), nextCursor: page.nextCursor };
			},
		},

		/** Delete a comment (author, target owner, channel moderator, admin); its replies go too. */
		remove: {
			rest: "DELETE /comments/:id",
			status: 204,
			auth: "required",
			permissions: ["comment.remover"],
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.commentToRemove(ctx, ctx.params.id);
				const replyIds = (await this.store.find({ query: { parentId: doc._id } })).map((r) => r._id);
				const removed = await this.store.removeMany({ _id: doc._id });
				if (removed > 0) {
					const replies = await this.store.removeMany({ parentId: doc._id });
					await bumpCount(this.stores.comment_counts, doc.target, -(removed + replies));
					if (doc.parentId) await this.store.updateMany({ _id: doc.parentId }, { $inc: { replyCount: -removed } });
					// The comment's likes, and its replies' likes, go with them.
					for (const id of [doc._id, ...replyIds]) ctx.broadcast("social.targetRemoved", { type: "comment", id });
				}
				return null;
			},
		},

		// ---- internal ----

		/** For likes and the "comment.remover" rule: does this comment exist, whose is it, and where? */
		exists: {
			visibility: "public",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.store.findById(ctx.params.id);
				return doc
					? {
							exists: true,
							ownerId: doc.authorId,
							targetType: doc.targetType,
							targetId: doc.targetId,
							targetOwnerId: doc.targetOwnerId,
							parentId: doc.parentId,
						}
					: { exists: false };
			},
		},

		/** Operators: recomputes a target's comment count from its comments (if a crash let it drift). */
		recount: {
			visibility: "public",
			params: { type: { type: "enum", values: [...COMMENT_TARGETS] }, id: ID },
			async handler(ctx: Context<{ type: string; id: string }>) {
				const count = await recountTarget(this.store, this.stores.comment_counts, targetKey(ctx.params.type, ctx.params.id));
				return { type: ctx.params.type, id: ctx.params.id, count };
			},
		},

		/** Comment counts for many targets of one type: `{[id]: count}`. */
		counts: {
			visibility: "public",
			params: { type: { type: "enum", values: [...COMMENT_TARGETS] }, ids: { type: "array", items: "string", max: 200 } },
			async handler(ctx: Context<{ type: string; ids: string[] }>) {
				const { type, ids } = ctx.params;
				const counts = await countsOf(
					this.stores.comment_counts,
					ids.map((id) => targetKey(type, id)),
				);
				return Object.fromEntries(ids.map((id) => [id, counts.get(targetKey(type, id)) ?? 0]));
			},
		},
	},

	events: {
		/** A post was deleted: its comments and counter go too. */
		"social.targetRemoved": {
			async handler(ctx: Context<{ type: string; id: string }>) {
				if (ctx.params.type === "comment") return;
				const t = targetKey(ctx.params.type, ctx.params.id);
				const ids = (await this.store.find({ query: { target: t } })).map((c) => c._id);
				await this.store.removeMany({ target: t });
				await this.stores.comment_counts.removeMany({ _id: t });
				// Likes on those comments go too.
				for (const id of ids) ctx.broadcast("social.targetRemoved", { type: "comment", id });
			},
		},
	},

	methods: {
		async commentToRemove(ctx: AnyCtx, id: string) {
			const checked: CommentFacts | undefined = loaded(ctx, "comment", id);
			if (checked) return { _id: checked.id, target: targetKey(checked.targetType, checked.targetId), parentId: checked.parentId };
			const doc = await this.store.findById(id);
			if (!doc) throw notFound("Comment");
			return doc;
		},
		async views(ctx: AnyCtx, docs: CommentDoc[]) {
			if (docs.length === 0) return [];
			const ids = docs.map((d) => d._id);
			const [authors, likes] = await Promise.all([
				this.identities(
					ctx,
					docs.map((d) => d.authorId),
				),
				this.softCall<Record<string, { count: number; liked: boolean }>>(ctx, "likes.summary", { type: "comment", ids, userId: ctx.meta.user?.id }),
			]);
			return docs.map((d) => ({
				id: d._id,
				type: d.targetType,
				targetId: d.targetId,
				parentId: d.parentId,
				author: authors.get(d.authorId) ?? { id: d.authorId },
				text: d.text,
				replyCount: Math.max(0, d.replyCount ?? 0),
				likeCount: likes?.[d._id]?.count ?? 0,
				liked: likes?.[d._id]?.liked ?? false,
				createdAt: d.createdAt,
			}));
		},
	},
};

export default schema;
