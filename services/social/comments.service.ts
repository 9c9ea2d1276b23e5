import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { newId } from "../../lib/tools/ids";
import { forbidden, invalid, notFound } from "../../lib/tools/errors";
import { COMMENT_TARGETS, COMMENT_TEXT_MAX, targetKey } from "../../lib/domain/social/limits";
import { resolveTarget } from "../../lib/domain/social/targets";
import { redrivePending, sendAndClear } from "../../lib/db/redrive";
import { intEnv } from "../../lib/config";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Comments on posts and donations, with one level of replies (a reply's parent must be a
 * top-level comment on the same target). The per-target counter counts top-level comments and
 * replies alike and moves only by rows actually inserted or removed.
 * Deletion: the author, the target's owner, that channel's chat moderators (asked through
 * `chat.isModerator` when the chat service runs) and admins.
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
	/** Set until the social.commented message has been queued (see lib/db/redrive.ts). */
	pendingNotify?: boolean;
	createdAt: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

const ID = { type: "string", min: 1, max: 64 };

const schema: ServiceSchema = {
	name: "comments",
	mixins: [DbMixin("comments", [{ fields: "target" }, { fields: "parentId" }, { fields: "pendingNotify", sparse: true }], { comment_counts: [] })],
	settings: { rest: "/" },

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
			async handler(this: any, ctx: Ctx<{ type: string; id: string; text: string; parentId?: string }>) {
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
					pendingNotify: true,
					createdAt: new Date().toISOString(),
				};
				await this.store.insert(doc);
				await this.bump(doc.target, 1);
				if (parent) await this.store.updateMany({ _id: parent._id }, { $inc: { replyCount: 1 } });
				try {
					await sendAndClear(this.store, doc._id, () => this.announce(doc));
				} catch (err) {
					this.logger.warn("Could not queue social.commented; the sweep will retry", (err as Error).message);
				}
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
				limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(this: any, ctx: Ctx<{ type: string; id: string; parentId?: string; limit?: number; cursor?: string }>) {
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
			params: { id: ID },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const doc: CommentDoc | null = await this.store.findById(ctx.params.id);
				if (!doc) throw notFound("Comment");
				if (!(await this.mayDelete(ctx, doc)))
					throw forbidden("Only the author, the channel owner, its moderators or an admin can delete this comment");
				const replyIds = (await this.store.find({ query: { parentId: doc._id } })).map((r: CommentDoc) => r._id);
				const removed = await this.store.removeMany({ _id: doc._id });
				if (removed > 0) {
					const replies = await this.store.removeMany({ parentId: doc._id });
					await this.bump(doc.target, -(removed + replies));
					if (doc.parentId) await this.store.updateMany({ _id: doc.parentId }, { $inc: { replyCount: -removed } });
					// The comment's likes, and its replies' likes, go with them.
					for (const id of [doc._id, ...replyIds]) ctx.broadcast("social.targetRemoved", { type: "comment", id });
				}
				return null;
			},
		},

		// ---- internal ----

		/** For likes: does this comment exist, and whose is it? */
		exists: {
			visibility: "public",
			params: { id: ID },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const doc: CommentDoc | null = await this.store.findById(ctx.params.id);
				return doc ? { exists: true, ownerId: doc.authorId, targetType: doc.targetType, targetId: doc.targetId } : { exists: false };
			},
		},

		/** Operators: recomputes a target's comment count from its comments (if a crash let it drift). */
		recount: {
			visibility: "public",
			params: { type: { type: "enum", values: [...COMMENT_TARGETS] }, id: ID },
			async handler(this: any, ctx: Context<{ type: string; id: string }>) {
				const t = targetKey(ctx.params.type, ctx.params.id);
				const count = await this.store.count({ target: t });
				await this.stores.comment_counts.upsert({ _id: t }, { $set: { count } });
				return { type: ctx.params.type, id: ctx.params.id, count };
			},
		},

		/** Comment counts for many targets of one type: `{[id]: count}`. */
		counts: {
			visibility: "public",
			params: { type: { type: "enum", values: [...COMMENT_TARGETS] }, ids: { type: "array", items: "string", max: 200 } },
			async handler(this: any, ctx: Context<{ type: string; ids: string[] }>) {
				const { type, ids } = ctx.params;
				const rows = await this.stores.comment_counts.findByIds(ids.map((id) => targetKey(type, id)));
				const byKey = new Map<string, number>(rows.map((r: any) => [String(r._id), Math.max(0, r.count)]));
				return Object.fromEntries(ids.map((id) => [id, byKey.get(targetKey(type, id)) ?? 0]));
			},
		},
	},

	events: {
		/** A post was deleted: its comments and counter go too. */
		"social.targetRemoved": {
			async handler(this: any, ctx: Context<{ type: string; id: string }>) {
				if (ctx.params.type === "comment") return;
				const t = targetKey(ctx.params.type, ctx.params.id);
				const ids = (await this.store.find({ query: { target: t } })).map((c: CommentDoc) => c._id);
				await this.store.removeMany({ target: t });
				await this.stores.comment_counts.removeMany({ _id: t });
				// Likes on those comments go too.
				for (const id of ids) ctx.broadcast("social.targetRemoved", { type: "comment", id });
			},
		},
	},

	methods: {
		announce(this: any, c: CommentDoc) {
			return this.broker.sendToChannel("social.commented", {
				commentId: c._id,
				userId: c.authorId,
				targetType: c.targetType,
				targetId: c.targetId,
				targetOwnerId: c.targetOwnerId,
				parentId: c.parentId,
				parentAuthorId: c.parentAuthorId ?? null,
				text: c.text,
			});
		},
		async redrive(this: any) {
			try {
				await redrivePending(this.store, this.redriveMs, (row) => this.announce(row as CommentDoc));
			} catch (err) {
				this.logger.warn("Comment notification re-drive failed", (err as Error).message);
			}
		},
		async bump(this: any, target: string, delta: number) {
			if (delta !== 0) await this.stores.comment_counts.upsert({ _id: target }, { $inc: { count: delta } });
		},
		async mayDelete(this: any, ctx: Ctx, doc: CommentDoc): Promise<boolean> {
			const user = ctx.meta.user!;
			if (user.id === doc.authorId || user.id === doc.targetOwnerId || user.roles?.includes("admin")) return true;
			// Moderators of the owner's chat channel moderate its comments too.
			const owner = await ctx.call<any, any>("users.get", { id: doc.targetOwnerId });
			if (!owner) return false;
			try {
				return (await ctx.call("chat.isModerator", { channel: owner.username, userId: user.id })) === true;
			} catch (err) {
				// No chat service in this deployment: owner and admins only.
				if ((err as Error).name !== "ServiceNotFoundError")
					this.logger.warn("chat.isModerator failed; treating the caller as not a moderator", (err as Error).message);
				return false;
			}
		},
		async views(this: any, ctx: Ctx, docs: CommentDoc[]) {
			if (docs.length === 0) return [];
			const ids = docs.map((d) => d._id);
			const [authors, likes] = await Promise.all([
				ctx.call<any[], any>("users.identities", { ids: [...new Set(docs.map((d) => d.authorId))] }),
				ctx.call<any, any>("likes.summary", { type: "comment", ids, userId: ctx.meta.user?.id }).catch(() => null),
			]);
			const byId = new Map((authors as any[]).map((a) => [a.id, a]));
			return docs.map((d) => ({
				id: d._id,
				type: d.targetType,
				targetId: d.targetId,
				parentId: d.parentId,
				author: byId.get(d.authorId) ?? { id: d.authorId },
				text: d.text,
				replyCount: Math.max(0, d.replyCount ?? 0),
				likeCount: likes?.[d._id]?.count ?? 0,
				liked: likes?.[d._id]?.liked ?? false,
				createdAt: d.createdAt,
			}));
		},
	},

	created(this: any) {
		this.redriveMs = Math.max(50, intEnv("SOCIAL_REDRIVE_MS", 30_000));
	},

	started(this: any) {
		this.redriveTimer = setInterval(() => void this.redrive(), this.redriveMs);
		this.redriveTimer.unref?.();
	},

	stopped(this: any) {
		clearInterval(this.redriveTimer);
	},
};

export default schema;
