import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { newId } from "../../lib/tools/ids";
import { invalid, isDuplicateKey, notFound } from "../../lib/tools/errors";
import { followKey } from "../../lib/domain/social/limits";
import { redrivePending, sendAndClear } from "../../lib/db/redrive";
import { intEnv } from "../../lib/config";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Follows. One row per (follower, followee) under a unique key, so PUT and DELETE are idempotent
 * and concurrent repeats cannot double-count. The follower count shown on profiles lives on the
 * user (users.adjustFollowerCount) and moves only when an insert or delete really happened;
 * `follows.recount` recomputes it from the rows if it ever drifts (e.g. a crash between the two).
 */

interface FollowDoc {
	_id: string;
	key: string;
	followerId: string;
	followeeId: string;
	/** Set until the social.followed message has been queued (see lib/db/redrive.ts). */
	pendingNotify?: boolean;
	createdAt: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

const USERNAME = { type: "string", min: 1, max: 64 };

const schema: ServiceSchema = {
	name: "follows",
	mixins: [
		DbMixin("follows", [{ fields: "key", unique: true }, { fields: "followeeId" }, { fields: "followerId" }, { fields: "pendingNotify", sparse: true }]),
	],
	settings: { rest: "/" },

	actions: {
		/** Follow a channel (204, idempotent). */
		follow: {
			rest: "PUT /users/:username/follow",
			status: 204,
			auth: "required",
			params: { username: USERNAME },
			async handler(this: any, ctx: Ctx<{ username: string }>) {
				const me = ctx.meta.user!;
				const target = await this.requireUser(ctx, ctx.params.username);
				if (target.id === me.id) throw invalid("username", "You cannot follow yourself", "CANNOT_FOLLOW_SELF");
				const doc: FollowDoc = {
					_id: newId(),
					key: followKey(me.id, target.id),
					followerId: me.id,
					followeeId: target.id,
					pendingNotify: true,
					createdAt: new Date().toISOString(),
				};
				let inserted = false;
				try {
					await this.store.insert(doc);
					inserted = true;
				} catch (err) {
					if (!isDuplicateKey(err)) throw err;
				}
				if (inserted) {
					await ctx.call("users.adjustFollowerCount", { userId: target.id, delta: 1 });
					try {
						await sendAndClear(this.store, doc._id, () =>
							this.broker.sendToChannel("social.followed", { followerId: me.id, followeeId: target.id }),
						);
					} catch (err) {
						this.logger.warn("Could not queue social.followed; the sweep will retry", (err as Error).message);
					}
				}
				return null;
			},
		},

		/** Unfollow (204, idempotent). */
		unfollow: {
			rest: "DELETE /users/:username/follow",
			status: 204,
			auth: "required",
			params: { username: USERNAME },
			async handler(this: any, ctx: Ctx<{ username: string }>) {
				const me = ctx.meta.user!;
				// Unfollowing a suspended account still works.
				const target = await this.requireUser(ctx, ctx.params.username, true);
				const removed = await this.store.removeMany({ key: followKey(me.id, target.id) });
				if (removed > 0) await ctx.call("users.adjustFollowerCount", { userId: target.id, delta: -removed });
				return null;
			},
		},

		/** A channel's followers, most recent first. */
		followers: {
			rest: "GET /users/:username/followers",
			params: {
				username: USERNAME,
				limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(this: any, ctx: Ctx<{ username: string; limit?: number; cursor?: string }>) {
				const target = await this.requireUser(ctx, ctx.params.username);
				const page = await this.store.page({ followeeId: target.id }, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: await this.people(ctx, page.items, "followerId"), nextCursor: page.nextCursor };
			},
		},

		/** Channels a user follows, most recent first. */
		following: {
			rest: "GET /users/:username/following",
			params: {
				username: USERNAME,
				limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(this: any, ctx: Ctx<{ username: string; limit?: number; cursor?: string }>) {
				const user = await this.requireUser(ctx, ctx.params.username);
				const page = await this.store.page({ followerId: user.id }, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: await this.people(ctx, page.items, "followeeId"), nextCursor: page.nextCursor };
			},
		},

		// ---- internal ----

		/** Chat's followers-only mode asks this. */
		isFollowing: {
			visibility: "public",
			params: { followerId: "string", followeeId: "string" },
			async handler(this: any, ctx: Context<{ followerId: string; followeeId: string }>) {
				return !!(await this.store.findOne({ key: followKey(ctx.params.followerId, ctx.params.followeeId) }));
			},
		},

		/** Operators: recompute a user's follower count from the rows (repairs drift). */
		recount: {
			visibility: "public",
			params: { userId: "string" },
			async handler(this: any, ctx: Context<{ userId: string }>) {
				const actual: number = await this.store.count({ followeeId: ctx.params.userId });
				const user = await ctx.call<any, any>("users.get", { id: ctx.params.userId });
				if (!user) throw notFound("User");
				const delta = actual - (user.followerCount ?? 0);
				if (delta !== 0) await ctx.call("users.adjustFollowerCount", { userId: ctx.params.userId, delta });
				return { followerCount: actual, corrected: delta };
			},
		},
	},

	methods: {
		async redrive(this: any) {
			try {
				await redrivePending(this.store, this.redriveMs, (row) =>
					this.broker.sendToChannel("social.followed", { followerId: row.followerId, followeeId: row.followeeId }),
				);
			} catch (err) {
				this.logger.warn("Follow notification re-drive failed", (err as Error).message);
			}
		},
		async requireUser(this: any, ctx: Ctx, username: string, allowBanned = false) {
			const user = await ctx.call<any, any>("users.get", { username });
			if (!user || (user.bannedAt && !allowBanned)) throw notFound("User");
			return user;
		},
		async people(this: any, ctx: Ctx, rows: FollowDoc[], field: "followerId" | "followeeId") {
			const ids = rows.map((r) => r[field]);
			const identities: any[] = ids.length ? await ctx.call("users.identities", { ids }) : [];
			const byId = new Map(identities.map((u) => [u.id, u]));
			return rows.filter((r) => byId.has(r[field])).map((r) => ({ ...byId.get(r[field]), followedAt: r.createdAt }));
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
