import type { ActionSchema, Context } from "moleculer";
import { USERNAME_RULE } from "../../lib/domain/usernames";
import { applySettingsPatch, SETTINGS_PATCH_RULE, type UserSettings } from "../../lib/domain/user-settings";
import { invalid } from "../../lib/tools/errors";
import { checkLinks, checkPlatforms, type Checked } from "../../lib/domain/accounts/profile-links";
import type { Ctx, UsersPart } from "./users.types";

/**
 * The users service's profiles (see users.service.ts): the public profile (cached briefly and
 * cleaned on every change through `users.changed`), the caller's own profile and channel
 * settings, the internal record other services read, and operator search.
 */

const HTTP_URL = { type: "url", max: 2048 };

type UpdateMeParams = {
	displayName?: string;
	bio?: string;
	avatarUrl?: string | null;
	avatarMediaId?: string | null;
	settings?: Partial<UserSettings>;
	links?: unknown[];
	platforms?: unknown[];
};

/** Links and linked platforms (lib/domain/accounts/profile-links.ts checks them); 422 names the first bad field. */
const LIST_RULE = { type: "array", max: 10, optional: true };
function checked<T>(r: Checked<T>): T {
	if (!r.ok) throw invalid(r.problems[0].field, r.problems[0].message);
	return r.value;
}

const profiles: UsersPart = {
	actions: {
		/** Update profile fields and deep-merge settings. */
		updateMe: {
			rest: "PATCH /users/me",
			auth: "required",
			params: {
				displayName: { type: "string", text: "line", min: 1, max: 50, optional: true },
				bio: { type: "string", text: "block", max: 500, optional: true },
				avatarUrl: { type: "multi", optional: true, rules: [HTTP_URL, { type: "equal", value: null }] },
				// One of the caller's images in the media library (services/media): its url becomes avatarUrl.
				avatarMediaId: {
					type: "multi",
					optional: true,
					rules: [
						{ type: "string", min: 1, max: 64 },
						{ type: "equal", value: null },
					],
				},
				settings: SETTINGS_PATCH_RULE,
				links: {
					...LIST_RULE,
					items: { type: "object", strict: true, props: { label: { type: "string", max: 200 }, url: { type: "string", max: 2048 } } },
				},
				platforms: {
					...LIST_RULE,
					items: {
						type: "object",
						strict: true,
						props: {
							platform: { type: "string", max: 20 },
							handle: { type: "string", max: 100, optional: true },
							url: { type: "string", max: 2048, optional: true },
						},
					},
				},
			},
			async handler(ctx: Ctx<UpdateMeParams>) {
				const user = await this.loadUser(ctx.meta.user!.id);
				const p = ctx.params;
				const $set: Record<string, unknown> = { updatedAt: new Date().toISOString() };
				if (p.displayName !== undefined) $set.displayName = p.displayName;
				if (p.bio !== undefined) $set.bio = p.bio;
				if (p.avatarUrl !== undefined) $set.avatarUrl = p.avatarUrl;
				if (p.avatarUrl && !/^https?:\/\//i.test(p.avatarUrl)) throw invalid("avatarUrl", "avatarUrl must be an http(s) URL");
				if (p.avatarMediaId !== undefined) {
					const media = p.avatarMediaId
						? ((await ctx.call("media.resolve", { id: p.avatarMediaId, ownerId: user._id, kind: "image" })) as { url: string })
						: null;
					$set.avatarUrl = media?.url ?? null;
				}
				if (p.settings) $set.settings = applySettingsPatch(user.settings, p.settings);
				if (p.links !== undefined) $set.links = checked(checkLinks(p.links));
				if (p.platforms !== undefined) $set.platforms = checked(checkPlatforms(p.platforms));
				await this.store.updateMany({ _id: user._id }, { $set });
				const updated = await this.loadUser(user._id);
				await this.profileChanged(ctx, updated);
				return this.toFullUser(updated);
			},
		},

		/** Public profile of a channel, cached briefly (cleaned on every change). */
		profile: {
			rest: "GET /users/:username",
			scopes: ["profile:read"],
			params: { username: USERNAME_RULE },
			// Keyed by the lower-cased username so a change can clean exactly this entry.
			cache: {
				ttl: 30,
				keygen: (action: ActionSchema, _opts: unknown, ctx: Context<unknown>) =>
					`${action.name}:${String((ctx.params as { username: string }).username).toLowerCase()}`,
			},
			async handler(ctx: Ctx<{ username: string }>) {
				const user = await this.byUsername(ctx.params.username);
				const goal = await ctx.call("stats.goalOf", { userId: user._id }).catch((err: Error) => {
					this.logger.warn("Goal lookup failed; profile served without it", err.message);
					return null;
				});
				return this.toPublicProfile(user, goal);
			},
		},

		// ---- internal actions (not routed) ----

		/** A user's internal record (settings included, secrets excluded) by id or username. */
		get: {
			visibility: "public",
			params: { id: { type: "string", optional: true, max: 64 }, username: { type: "string", optional: true, max: 64 } },
			cache: { keys: ["id", "username"], ttl: 30 },
			async handler(ctx: Ctx<{ id?: string; username?: string }>) {
				const { id, username } = ctx.params;
				const user = id ? await this.store.findById(id) : username ? await this.store.findOne({ username: username.toLowerCase() }) : null;
				return user ? this.toInternal(user) : null;
			},
		},

		/** Several users' public identities at once (chat, comments, leaderboards). */
		identities: {
			visibility: "public",
			params: { ids: { type: "array", items: { type: "string", max: 64 }, max: 500 } },
			async handler(ctx: Ctx<{ ids: string[] }>) {
				const docs = await this.store.findByIds([...new Set(ctx.params.ids)]);
				return docs.map((u) => ({ id: u._id, username: u.username, displayName: u.displayName, avatarUrl: u.avatarUrl }));
			},
		},

		/** Adjust the cached follower count (the follows service owns the truth). */
		adjustFollowerCount: {
			visibility: "public",
			params: { userId: "string", delta: { type: "number", integer: true } },
			async handler(ctx: Ctx<{ userId: string; delta: number }>) {
				await this.store.updateMany({ _id: ctx.params.userId }, { $inc: { followerCount: ctx.params.delta } });
				const user = await this.store.findById(ctx.params.userId);
				if (user) await this.profileChanged(ctx, user);
				return { followerCount: user?.followerCount ?? 0 };
			},
		},

		/** Operators: find users by username or email prefix. */
		search: {
			visibility: "public",
			params: { q: { type: "string", min: 1, max: 100 }, limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true } },
			async handler(ctx: Ctx<{ q: string; limit?: number }>) {
				const q = ctx.params.q.trim().toLowerCase();
				const escaped = q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
				const docs = await this.store.find({
					query: { $or: [{ username: { $regex: new RegExp(`^${escaped}`) } }, { email: { $regex: new RegExp(`^${escaped}`) } }] },
					limit: ctx.params.limit ?? 20,
				});
				return docs.map((u) => ({ ...this.toFullUser(u), bannedAt: u.bannedAt ?? null }));
			},
		},
	},
};

export default profiles;
