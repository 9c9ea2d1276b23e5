import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type Collection, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { newId } from "../../lib/tools/ids";
import { LIKE_TARGETS, likeKey, targetKey } from "../../lib/domain/social/limits";
import { resolveTarget } from "../../lib/domain/social/targets";
import { adoptLegacyMark, redriveDue, sendAndClear } from "../../lib/db/outbox";
import { loadConfig } from "../../lib/config";
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

interface LikeCount {
	_id: string;
	count: number;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

interface Local extends DbThis<LikeDoc, { like_counts: Collection<LikeCount> }> {
	redriveMs: number;
}
interface Methods extends SweeperMethods {
	notify(doc: LikeDoc): Promise<void>;
	redrive(): Promise<void>;
	bump(target: string, delta: number): Promise<void>;
	countOf(target: string): Promise<number>;
}
type Settings = ServiceSettingSchema & { rest: string };
type This = Service<Settings> & Local & Methods;
type TargetParams = { type: string; id: string };

const TARGET_PARAMS = {
	type: { type: "enum", values: [...LIKE_TARGETS] },
	id: { type: "string", min: 1, max: 64 },
};

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "likes",
	mixins: [
		DbMixin("likes", [{ fields: "key", unique: true }, { fields: "target" }, { fields: "effectsDue", sparse: true }], { like_counts: [] }),
		SweeperMixin<This>({ name: "redrive", everyMs: (svc) => svc.redriveMs, run: (svc) => svc.redrive() }),
	],
	settings: { rest: "/" },

	actions: {
		/** Like (idempotent): answers the target's count and `liked: true`. */
		like: {
			rest: "PUT /likes/:type/:id",
			auth: "required",
			params: TARGET_PARAMS,
			async handler(ctx: Ctx<TargetParams>) {
				const { type, id } = ctx.params;
				const userId = ctx.meta.user!.id;
				const target = await resolveTarget((a, p) => ctx.call(a, p), type, id, ctx.meta.user);
				const doc: LikeDoc = {
					_id: newId(),
					key: likeKey(userId, type, id),
					userId,
					targetType: type,
					targetId: id,
					target: targetKey(type, id),
					targetOwnerId: target.ownerId,
					createdAt: new Date().toISOString(),
				};
				if (target.ownerId !== userId) doc.effectsDue = true;
				const { created } = await this.store.insertOrGet(doc, { key: doc.key });
				if (created) {
					await this.bump(doc.target, 1);
					if (doc.effectsDue) await this.notify(doc);
				}
				return { count: await this.countOf(doc.target), liked: true };
			},
		},

		/** Unlike (idempotent). */
		unlike: {
			rest: "DELETE /likes/:type/:id",
			auth: "required",
			params: TARGET_PARAMS,
			async handler(ctx: Ctx<TargetParams>) {
				const { type, id } = ctx.params;
				const userId = ctx.meta.user!.id;
				await resolveTarget((a, p) => ctx.call(a, p), type, id, ctx.meta.user);
				const removed = await this.store.removeMany({ key: likeKey(userId, type, id) });
				if (removed > 0) await this.bump(targetKey(type, id), -removed);
				return { count: await this.countOf(targetKey(type, id)), liked: false };
			},
		},

		/** `{count, liked}` for one target (liked is false for anonymous callers). */
		get: {
			rest: "GET /likes/:type/:id",
			auth: "optional",
			params: TARGET_PARAMS,
			async handler(ctx: Ctx<TargetParams>) {
				const { type, id } = ctx.params;
				await resolveTarget((a, p) => ctx.call(a, p), type, id, ctx.meta.user);
				const userId = ctx.meta.user?.id;
				const liked = userId ? !!(await this.store.findOne({ key: likeKey(userId, type, id) })) : false;
				return { count: await this.countOf(targetKey(type, id)), liked };
			},
		},

		// ---- internal ----

		/** Operators: recomputes a target's like count from its likes (if a crash let it drift). */
		recount: {
			visibility: "public",
			params: { type: { type: "enum", values: [...LIKE_TARGETS] }, id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Context<{ type: string; id: string }>) {
				const t = targetKey(ctx.params.type, ctx.params.id);
				const count = await this.store.count({ target: t });
				await this.stores.like_counts.upsert({ _id: t }, { $set: { count } });
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
				const counters = await this.stores.like_counts.findByIds(ids.map((id) => targetKey(type, id)));
				const mine: LikeDoc[] =
					userId && ids.length ? await this.store.find({ query: { key: { $in: ids.map((id) => likeKey(userId, type, id)) } } }) : [];
				const likedIds = new Set(mine.map((l) => l.targetId));
				const countById = new Map<string, number>(counters.map((c) => [String(c._id).slice(type.length + 1), Math.max(0, c.count)]));
				return Object.fromEntries(ids.map((id) => [id, { count: countById.get(id) ?? 0, liked: likedIds.has(id) }]));
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
		/** The like is what matters; a message that cannot be queued now is re-driven by the sweep. */
		async notify(doc: LikeDoc) {
			try {
				await sendAndClear(this.store, doc._id, () =>
					this.broker.sendToChannel("social.liked", {
						userId: doc.userId,
						targetType: doc.targetType,
						targetId: doc.targetId,
						targetOwnerId: doc.targetOwnerId,
					}),
				);
			} catch (err) {
				this.logger.warn("Could not queue social.liked; the sweep will retry", (err as Error).message);
			}
		},
		async redrive() {
			try {
				await redriveDue(this.store, this.redriveMs, (row) =>
					this.broker.sendToChannel("social.liked", {
						userId: row.userId,
						targetType: row.targetType,
						targetId: row.targetId,
						targetOwnerId: row.targetOwnerId,
					}),
				);
			} catch (err) {
				this.logger.warn("Like notification re-drive failed", (err as Error).message);
			}
		},
		async bump(target: string, delta: number) {
			await this.stores.like_counts.upsert({ _id: target }, { $inc: { count: delta } });
		},
		async countOf(target: string): Promise<number> {
			const c = await this.stores.like_counts.findById(target);
			return Math.max(0, c?.count ?? 0);
		},
	},

	created() {
		this.redriveMs = loadConfig().social.redriveMs;
	},

	async started() {
		await adoptLegacyMark(this.store, "likes", "pendingNotify");
	},
};

export default schema;
