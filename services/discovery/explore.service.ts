import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { creatorHit, searchable, type CreatorSource } from "../../lib/domain/discovery/creator-index";
import type { RecipientSupport } from "../../lib/domain/donations/aggregates";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Explore (`GET /explore`): the creators who received the most support in the last 7 days — paid
 * donations net of refunds, counted from the stats service's day aggregates
 * (`stats.topRecipients`, a read of the week's day rows, never of the donations), with their
 * public profiles (`users.directoryOf`; banned and deleted accounts left out). The answer is
 * cached (EXPLORE_TTL_SEC below): one read per node and period, whoever asks.
 *
 * Crash safety: stores nothing.
 */

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;
type Settings = ServiceSettingSchema & { rest: string };

/** The period explore ranks by, and how long its answer is cached. */
const DAYS = 7;
const EXPLORE_TTL_SEC = 30;

const schema: ServiceSchema<Settings> = {
	name: "explore",
	settings: { rest: "/" },

	actions: {
		/** Creators ranked by the paid donations they received in the last 7 days. */
		list: {
			rest: "GET /explore",
			params: { limit: { type: "number", integer: true, min: 1, max: 50, optional: true, convert: true } },
			cache: { keys: ["limit"], ttl: EXPLORE_TTL_SEC },
			async handler(ctx: Ctx<{ limit?: number }>) {
				const limit = ctx.params.limit ?? 20;
				// A few more than asked: some of the top channels may be banned or deleted.
				const top = await ctx.call<RecipientSupport[], { days: number; limit: number }>("stats.topRecipients", { days: DAYS, limit: limit + 10 });
				const users = await ctx.call<CreatorSource[], { ids: string[] }>("users.directoryOf", { ids: top.map((t) => t.owner) });
				const byId = new Map(users.filter(searchable).map((u) => [u.id, u]));
				const items = top
					.filter((t) => byId.has(t.owner))
					.slice(0, limit)
					.map((t) => {
						const u = byId.get(t.owner)!;
						return { ...creatorHit(u), support: { days: DAYS, donations: t.donations, totals: t.totals } };
					});
				return { items };
			},
		},
	},
};

export default schema;
