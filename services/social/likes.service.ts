import type { Context } from "moleculer";
import type { Collection } from "../../mixins/db.mixin";
import { SocialMixin, type SocialSchema } from "../../mixins/social.mixin";
import { newId } from "../../lib/tools/ids";
import { LIKE_TARGETS, likeKey, targetKey } from "../../lib/domain/social/limits";
import { resolveTarget, type TargetInfo } from "../../lib/domain/social/targets";
import { bumpCount, countOf, countsOf, recountTarget, type CountDoc } from "../../lib/db/target-counts";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Likes on posts, comments and donations. One row per (user, target), enforced by a unique
 * synthetic key, so PUT and DELETE are idempotent under any concurrency. The per-target counter
 * moves only by what really changed: +1 when an insert succeeded, −n for the rows a delete
 * removed. Reads are a single counter lookup.
 */

interface LikeDoc {
	_id: string;
	key: string;
	userId: string;
	targetType: string;
	targetId: string;
	target: string;
	targetOwnerId?: string;
	/** Set until the social.liked message has been queued (the outbox mark, lib/db/outbox.ts). */
	effectsDue?: true;
	createdAt: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

interface Methods {
	/** The request's target, resolved (404 or 503 as resolveTarget answers), its counter key and the caller's like key. */
	targetOf(ctx: Ctx<TargetParams>): Promise<{ info: TargetInfo; target: string; key: string | null }>;
	/** `{count, liked}` of a target. */
	answer(target: string, liked: boolean): Promise<{ count: number; liked: boolean }>;
}
type TargetParams = { type: string; id: string };

const TARGET_PARAMS = {
	type: { type: "enum", values: [...LIKE_TARGETS] },
	id: { type: "string", min: 1, max: 64 },
};

const schema: SocialSchema<LikeDoc, Methods, { like_counts: Collection<CountDoc> }> = {
	name: "likes",
	mixins: [
		SocialMixin<LikeDoc>({
			collection: "likes",
			indexes: [{ fields: "key", unique: true }, { fields: "target" }, { fields: "effectsDue", sparse: true }],
			extra: { like_counts: [] },
			announce: {
				channel: "social.liked",
				message: (l) => ({ userId: l.userId, targetType: l.targetType, targetId: l.targetId, targetOwnerId: l.targetOwnerId }),
			},
		}),
	],

	actions: {
		/** Like (idempotent): answers the target's count and `liked: true`. */
		like: {
			rest: "PUT /likes/:type/:id",
			auth: "required",
			params: TARGET_PARAMS,
			async handler(ctx: Ctx<TargetParams>) {
				const { info, target, key } = await this.targetOf(ctx);
				const userId = ctx.meta.user!.id;
				const doc: LikeDoc = {
					_id: newId(),
					key: key!,
					userId,
					targetType: info.type,
					targetId: info.id,
					target,
					targetOwnerId: info.ownerId,
					createdAt: new Date().toISOString(),
				};
				if (info.ownerId !== userId) doc.effectsDue = true;
				const { created } = await this.store.insertOrGet(doc, { key: doc.key });
				if (created) {
					await bumpCount(this.stores.like_counts, target, 1);
					if (doc.effectsDue) await this.notify(doc);
				}
				return this.answer(target, true);
			},
		},

		/** Unlike (idempotent). */
		unlike: {
			rest: "DELETE /likes/:type/:id",
			auth: "required",
			params: TARGET_PARAMS,
			async handler(ctx: Ctx<TargetParams>) {
				const { target, key } = await this.targetOf(ctx);
				const removed = await this.store.removeMany({ key: key! });
				await bumpCount(this.stores.like_counts, target, -removed);
				return this.answer(target, false);
			},
		},

		/** `{count, liked}` for one target (liked is false for anonymous callers). */
		get: {
			rest: "GET /likes/:type/:id",
			auth: "optional",
			params: TARGET_PARAMS,
			async handler(ctx: Ctx<TargetParams>) {
				const { target, key } = await this.targetOf(ctx);
				return this.answer(target, key ? !!(await this.store.findOne({ key })) : false);
			},
		},

		// ---- internal ----

		/** Operators: recomputes a target's like count from its likes (if a crash let it drift). */
		recount: {
			visibility: "public",
			params: { type: { type: "enum", values: [...LIKE_TARGETS] }, id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Context<{ type: string; id: string }>) {
				const count = await recountTarget(this.store, this.stores.like_counts, targetKey(ctx.params.type, ctx.params.id));
				return { type: ctx.params.type, id: ctx.params.id, count };
			},
		},

		/** Counts and the viewer's likes for many targets of one type: `{[id]: {count, liked}}`. */
		summary: {
			visibility: "public",
			params: {
				type: { type: "enum", values: [...LIKE_TARGETS] },
				ids: { type: "array", items: "string", max: 200 },
				userId: { type: "string", optional: true },
			},
			async handler(ctx: Context<{ type: string; ids: string[]; userId?: string }>) {
				const { type, ids, userId } = ctx.params;
				const counts = await countsOf(
					this.stores.like_counts,
					ids.map((id) => targetKey(type, id)),
				);
				const mine: LikeDoc[] =
					userId && ids.length ? await this.store.find({ query: { key: { $in: ids.map((id) => likeKey(userId, type, id)) } } }) : [];
				const likedIds = new Set(mine.map((l) => l.targetId));
				return Object.fromEntries(ids.map((id) => [id, { count: counts.get(targetKey(type, id)) ?? 0, liked: likedIds.has(id) }]));
			},
		},
	},

	events: {
		/** A post or comment was deleted: its likes and counter go too. */
		"social.targetRemoved": {
			async handler(ctx: Context<{ type: string; id: string }>) {
				const t = targetKey(ctx.params.type, ctx.params.id);
				await this.store.removeMany({ target: t });
				await this.stores.like_counts.removeMany({ _id: t });
			},
		},
	},

	methods: {
		async targetOf(ctx: Ctx<TargetParams>) {
			const { type, id } = ctx.params;
			const info = await resolveTarget((a, p) => ctx.call(a, p), type, id, ctx.meta.user);
			const userId = ctx.meta.user?.id;
			return { info, target: targetKey(type, id), key: userId ? likeKey(userId, type, id) : null };
		},
		async answer(target: string, liked: boolean) {
			return { count: await countOf(this.stores.like_counts, target), liked };
		},
	},
};

export default schema;
