import type { Context } from "moleculer";
import { SocialMixin, type SocialSchema, type Ctx as AnyCtx, type Identity, type UserRef } from "../../mixins/social.mixin";
import { newId } from "../../lib/tools/ids";
import { invalid, notFound } from "../../lib/tools/errors";
import { followKey } from "../../lib/domain/social/limits";
import { PAGE, USERNAME, type PageParams } from "../../lib/domain/social/params";
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
	/** Set until the social.followed message has been queued (the outbox mark, lib/db/outbox.ts). */
	effectsDue?: true;
	createdAt: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;
type Side = "followerId" | "followeeId";

interface Methods {
	/** Moves the follower count shown on a profile (users.adjustFollowerCount) by what really changed. */
	adjustFollowers(ctx: AnyCtx, userId: string, delta: number): Promise<void>;
	/** One page of a user's follows on one side, as people: who follows them, or whom they follow. */
	peoplePage(
		ctx: Ctx<{ username: string } & PageParams>,
		of: Side,
		show: Side,
	): Promise<{ items: (Identity & { followedAt: string })[]; nextCursor: string | null }>;
}

const schema: SocialSchema<FollowDoc, Methods> = {
	name: "follows",
	mixins: [
		SocialMixin<FollowDoc>({
			collection: "follows",
			indexes: [{ fields: "key", unique: true }, { fields: "followeeId" }, { fields: "followerId" }, { fields: "effectsDue", sparse: true }],
			announce: { channel: "social.followed", message: (f) => ({ followerId: f.followerId, followeeId: f.followeeId }) },
		}),
	],

	actions: {
		/** Follow a channel (204, idempotent). */
		follow: {
			rest: "PUT /users/:username/follow",
			status: 204,
			auth: "required",
			params: { username: USERNAME },
			async handler(ctx: Ctx<{ username: string }>) {
				const me = ctx.meta.user!;
				const target = await this.userByName(ctx, ctx.params.username);
				if (target.id === me.id) throw invalid("username", "You cannot follow yourself", "CANNOT_FOLLOW_SELF");
				const doc: FollowDoc = {
					_id: newId(),
					key: followKey(me.id, target.id),
					followerId: me.id,
					followeeId: target.id,
					effectsDue: true,
					createdAt: new Date().toISOString(),
				};
				const { created } = await this.store.insertOrGet(doc, { key: doc.key });
				if (created) {
					await this.adjustFollowers(ctx, target.id, 1);
					await this.notify(doc);
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
			async handler(ctx: Ctx<{ username: string }>) {
				// Unfollowing a suspended account still works.
				const target = await this.userByName(ctx, ctx.params.username, true);
				const removed = await this.store.removeMany({ key: followKey(ctx.meta.user!.id, target.id) });
				await this.adjustFollowers(ctx, target.id, -removed);
				return null;
			},
		},

		/** A channel's followers, most recent first. */
		followers: {
			rest: "GET /users/:username/followers",
			params: { username: USERNAME, ...PAGE },
			handler(ctx: Ctx<{ username: string } & PageParams>) {
				return this.peoplePage(ctx, "followeeId", "followerId");
			},
		},

		/** Channels a user follows, most recent first. */
		following: {
			rest: "GET /users/:username/following",
			params: { username: USERNAME, ...PAGE },
			handler(ctx: Ctx<{ username: string } & PageParams>) {
				return this.peoplePage(ctx, "followerId", "followeeId");
			},
		},

		// ---- internal ----

		/** Chat's followers-only mode asks this. */
		isFollowing: {
			visibility: "public",
			params: { followerId: "string", followeeId: "string" },
			async handler(ctx: Context<{ followerId: string; followeeId: string }>) {
				return !!(await this.store.findOne({ key: followKey(ctx.params.followerId, ctx.params.followeeId) }));
			},
		},

		/** Operators: recompute a user's follower count from the rows (repairs drift). */
		recount: {
			visibility: "public",
			params: { userId: "string" },
			async handler(ctx: Context<{ userId: string }>) {
				const actual = await this.store.count({ followeeId: ctx.params.userId });
				const user = await ctx.call<UserRef | null, { id: string }>("users.get", { id: ctx.params.userId });
				if (!user) throw notFound("User");
				const delta = actual - (user.followerCount ?? 0);
				await this.adjustFollowers(ctx, ctx.params.userId, delta);
				return { followerCount: actual, corrected: delta };
			},
		},
	},

	methods: {
		async adjustFollowers(ctx: AnyCtx, userId: string, delta: number) {
			if (delta !== 0) await ctx.call("users.adjustFollowerCount", { userId, delta });
		},
		async peoplePage(ctx: Ctx<{ username: string } & PageParams>, of: Side, show: Side) {
			const user = await this.userByName(ctx as AnyCtx, ctx.params.username);
			const page = await this.store.page({ [of]: user.id }, { limit: ctx.params.limit, cursor: ctx.params.cursor });
			const byId = await this.identities(
				ctx as AnyCtx,
				page.items.map((r) => r[show]),
			);
			const items = page.items.filter((r) => byId.has(r[show])).map((r) => ({ ...byId.get(r[show])!, followedAt: r.createdAt }));
			return { items, nextCursor: page.nextCursor };
		},
	},
};

export default schema;
