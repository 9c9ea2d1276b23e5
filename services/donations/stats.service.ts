import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type Collection, type DbThis } from "../../mixins/db.mixin";
import { RealtimeMixin, type RealtimeMethods } from "../../mixins/realtime.mixin";
import { rooms } from "../../lib/domain/rooms";
import { newId } from "../../lib/tools/ids";
import { CURRENCY_CODES, amountProblem } from "../../lib/domain/money";
import { dayOf, periodDays } from "../../lib/domain/donations/rules";
import {
	aggregateIds,
	aggregateMark,
	countedUpdates,
	recentItem,
	statsView,
	sumDonors,
	sumTotals,
	topRecipients,
	type DonorTotal,
	type Period,
	type Sign,
	type Total,
} from "../../lib/domain/donations/aggregates";
import { goalView, type GoalView } from "../../lib/domain/donations/views";
import { EARNINGS_WINDOWS, earningsSeries, type PaidPayout } from "../../lib/domain/donations/earnings";
import type { AggregateDoc, DonationDoc, GoalDoc } from "../../lib/domain/donations/types";
import { invalid, isDuplicateKey, notFound } from "../../lib/tools/errors";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Donation stats, leaderboards and goals: the maintained aggregates of each channel (totals per
 * day and per donor, the recent list in `donation_aggregates`) and its goal (`goals`). Reads are
 * a few document lookups (cached 5 s, cleaned on every change).
 *
 * The donations service drives the updates (see the crash story in its header): `apply` moves
 * every aggregate document of one donation, each in one conditional write with the donation's
 * marker (`applied.<id>` / `reverted.<id>`: "only if the marker is absent"), so applying again
 * changes nothing; the donations service records `effects.aggregated` only after `apply`
 * answered, then `forget` removes the markers. The balance is not here: it is the ledger's sum.
 */

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;
type StatsParams = { username: string; period?: Period };
type Stats = {
	period: Period;
	totals: ReturnType<typeof statsView>["totals"];
	topDonors: ReturnType<typeof statsView>["topDonors"];
	goal: GoalView;
	recent: unknown[];
};

type Local = DbThis<AggregateDoc, { goals: Collection<GoalDoc> }> & { widgetTimers: Map<string, NodeJS.Timeout> };
interface Methods extends RealtimeMethods {
	aggregate(d: DonationDoc, sign: Sign): Promise<string | null>;
	aggregateOnce(mark: string, query: Record<string, unknown>, update: Record<string, Record<string, unknown>>): Promise<void>;
	forgetAggregation(d: DonationDoc, sign: Sign): Promise<void>;
	computeStats(owner: string, period: Period): Promise<Stats>;
	goalChanged(userId: string, username: string, ctx?: Ctx): void;
	pushWidgets(userId: string): Promise<void>;
}
type Settings = ServiceSettingSchema & { rest: string };
export type DonationStatsThis = Service<Settings> & Local & Methods;

/** Changes to one channel's figures within this window make one widget push. */
const WIDGET_COALESCE_MS = 100;

/** The first day (UTC, "YYYY-MM-DD") of the last `days` days, today included. */
const periodStart = (days: number) => dayOf(Date.now() - (days - 1) * 86_400_000);
const DONATION = { type: "object", props: { _id: { type: "string", max: 64 }, recipientId: { type: "string" } } };
const SIGN = { type: "enum", values: [1, -1] };

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "stats",
	// `day` (sparse): explore reads the day rows of the last week across channels (topRecipients).
	mixins: [DbMixin("donation_aggregates", [{ fields: "owner" }, { fields: "day", sparse: true }], { goals: [] }), RealtimeMixin],
	settings: { rest: "/" },

	actions: {
		/** Totals, leaderboard, goal and recent paid donations of a channel (from aggregates). */
		stats: {
			rest: "GET /users/:username/stats",
			scopes: ["donations:read"],
			params: { username: { type: "string", min: 1, max: 25 }, period: { type: "enum", values: ["all", "30d", "7d"], optional: true } },
			cache: {
				ttl: 5,
				keygen: (action, _opts, ctx) => {
					const p = ctx.params as StatsParams;
					return `${action.name}:${String(p.username).toLowerCase()}|${p.period ?? "all"}`;
				},
			},
			async handler(ctx: Ctx<StatsParams>) {
				const user = await ctx.call<{ id: string } | null, { username: string }>("users.get", { username: ctx.params.username });
				if (!user) throw notFound("User");
				return this.computeStats(user.id, ctx.params.period ?? "all");
			},
		},

		setGoal: {
			rest: "PUT /me/goal",
			auth: "required",
			params: {
				title: { type: "string", min: 1, max: 100, trim: true },
				target: { type: "number", integer: true, min: 1, max: 1e13 },
				currency: { type: "enum", values: CURRENCY_CODES },
				/** Given: the goal (re)starts now from this amount (0 resets it); donations before now no longer count. */
				startingAmount: { type: "number", integer: true, min: 0, max: 1e13, optional: true },
			},
			async handler(ctx: Ctx<{ title: string; target: number; currency: string; startingAmount?: number }>) {
				const problem = amountProblem(ctx.params.target, ctx.params.currency);
				if (problem) throw invalid("target", problem);
				const start = ctx.params.startingAmount;
				if (start !== undefined && start > 0) {
					const startProblem = amountProblem(start, ctx.params.currency);
					if (startProblem) throw invalid("startingAmount", startProblem);
				}
				const userId = ctx.meta.user!.id;
				const goals = this.stores.goals;
				const existing = await goals.findById(userId);
				const now = new Date().toISOString();
				if (existing && existing.currency === ctx.params.currency && start === undefined) {
					await goals.updateMany({ _id: userId }, { $set: { title: ctx.params.title, target: ctx.params.target, updatedAt: now } });
				} else {
					if (existing) await goals.removeMany({ _id: userId });
					await goals.insert({
						_id: userId,
						goalId: newId(),
						title: ctx.params.title,
						target: ctx.params.target,
						currency: ctx.params.currency,
						current: start ?? 0,
						startingAmount: start ?? 0,
						startedAt: now,
						updatedAt: now,
					});
				}
				this.goalChanged(userId, ctx.meta.user!.username, ctx);
				return goalView(await goals.findById(userId));
			},
		},

		deleteGoal: {
			rest: "DELETE /me/goal",
			status: 204,
			auth: "required",
			async handler(ctx: Ctx) {
				await this.stores.goals.removeMany({ _id: ctx.meta.user!.id });
				this.goalChanged(ctx.meta.user!.id, ctx.meta.user!.username, ctx);
				return null;
			},
		},

		// ---- internal ----

		goalOf: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ userId: string }>) {
				return goalView(await this.stores.goals.findById(ctx.params.userId));
			},
		},

		/**
		 * Applies (+1) or reverts (-1) one donation in its channel's aggregates, at most once per
		 * document (its marker); answers the goal it was counted in (paid: the donation records it).
		 */
		apply: {
			visibility: "public",
			params: { donation: DONATION, sign: SIGN },
			async handler(ctx: Ctx<{ donation: DonationDoc; sign: Sign }>) {
				return { goalId: await this.aggregate(ctx.params.donation, ctx.params.sign) };
			},
		},

		/** Removes a donation's markers once it is recorded as aggregated (nothing applies it again). */
		forget: {
			visibility: "public",
			params: { donation: DONATION, sign: SIGN },
			async handler(ctx: Ctx<{ donation: DonationDoc; sign: Sign }>) {
				await this.forgetAggregation(ctx.params.donation, ctx.params.sign);
				return true;
			},
		},

		/**
		 * The caller's income per day over the last 30 or 90 days (from the day aggregates: paid
		 * donations less those refunded in full), one series per currency, with the payouts paid in the window marked on their day.
		 */
		earnings: {
			rest: "GET /me/earnings",
			auth: "required",
			params: { days: { type: "number", integer: true, convert: true, optional: true } },
			async handler(ctx: Ctx<{ days?: number }>) {
				const days = ctx.params.days ?? 30;
				if (!(EARNINGS_WINDOWS as readonly number[]).includes(days)) throw invalid("days", `days is one of ${EARNINGS_WINDOWS.join(", ")}`);
				const owner = ctx.meta.user!.id;
				const now = Date.now();
				const since = periodStart(days);
				const [rows, payouts] = await Promise.all([
					this.store.find({ query: { owner, kind: "day", day: { $gte: since } } }),
					// Without a payouts service on the cluster the chart still shows the income.
					ctx
						.call<PaidPayout[], { userId: string; since: string }>("payouts.paidSince", { userId: owner, since: `${since}T00:00:00.000Z` })
						.catch((err: Error) => {
							if (err.name !== "ServiceNotFoundError") throw err;
							return [] as PaidPayout[];
						}),
				]);
				return earningsSeries(rows, payouts, days, now);
			},
		},

		/**
		 * The channels that received the most paid donations (net of refunds) in the last `days`
		 * days, from the day aggregates (never the donations): `[{owner, donations, totals}]`, most
		 * first; amounts per currency, not compared across currencies.
		 */
		topRecipients: {
			visibility: "public",
			params: { days: { type: "number", integer: true, min: 1, max: 31 }, limit: { type: "number", integer: true, min: 1, max: 200 } },
			async handler(ctx: Ctx<{ days: number; limit: number }>) {
				const since = periodStart(ctx.params.days);
				return topRecipients(await this.store.find({ query: { kind: "day", day: { $gte: since } } }), ctx.params.limit);
			},
		},

		/** Removes a channel's aggregates (the first step of donations.rebuildAggregates). */
		clear: {
			visibility: "public",
			params: { owner: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ owner: string }>) {
				return this.store.removeMany({ owner: ctx.params.owner });
			},
		},
	},

	methods: {
		/**
		 * Maintains totals per day and per donor, the recent list and the goal. Each document's
		 * update carries the donation's marker (idempotent: see the header), so running this again
		 * after a crash completes what was missed. Answers the goal a paid donation was counted in.
		 */
		async aggregate(d: DonationDoc, sign: Sign): Promise<string | null> {
			const owner = d.recipientId;
			const mark = aggregateMark(d, sign);
			for (const u of countedUpdates(d, sign)) await this.aggregateOnce(mark, u.query, u.update);
			const recentId = aggregateIds(d).recent;
			if (sign > 0) {
				await this.aggregateOnce(mark, { _id: recentId, owner, kind: "recent" }, { $push: { items: { $each: [recentItem(d)], $slice: -10 } } });
			} else {
				// Removing is idempotent by itself.
				await this.store.updateMany({ _id: recentId, kind: "recent" }, { $pull: { items: { id: d._id } } });
			}
			// Goal progress: donations in the goal's currency paid since it started.
			let countedIn: string | null = null;
			const goal = await this.stores.goals.findById(owner);
			if (goal && goal.currency === d.currency && (d.paidAt ?? d.createdAt) >= goal.startedAt && (sign > 0 || d.goalId === goal.goalId)) {
				// Not an upsert: a goal removed in the meantime stays removed.
				await this.stores.goals.updateMany(
					{ _id: owner, goalId: goal.goalId, [mark]: { $exists: false } },
					{ $inc: { current: sign * d.amount }, $set: { [mark]: true } },
				);
				if (sign > 0) countedIn = goal.goalId;
			}
			this.goalChanged(owner, d.recipientUsername);
			return countedIn;
		},

		/** One aggregate document's update with the donation's marker, in one conditional write: at most once per donation. */
		async aggregateOnce(mark: string, query: Record<string, unknown>, update: Record<string, Record<string, unknown>>) {
			try {
				await this.store.upsert({ ...query, [mark]: { $exists: false } }, { ...update, $set: { ...update.$set, [mark]: true } });
			} catch (err) {
				// The document exists with the marker: this donation was applied to it before.
				if (!isDuplicateKey(err)) throw err;
			}
		},

		async forgetAggregation(d: DonationDoc, sign: Sign) {
			const mark = aggregateMark(d, sign);
			await this.store.updateMany({ _id: { $in: Object.values(aggregateIds(d)) }, [mark]: { $exists: true } }, { $unset: { [mark]: true } });
			await this.stores.goals.updateMany({ _id: d.recipientId, [mark]: { $exists: true } }, { $unset: { [mark]: true } });
		},

		async computeStats(owner: string, period: Period): Promise<Stats> {
			const days = periodDays(period);
			let totals: Total[];
			let donors: DonorTotal[];
			if (!days) {
				totals = sumTotals(await this.store.find({ query: { owner, kind: "total" } }));
				donors = sumDonors(await this.store.find({ query: { owner, kind: "donor" } }));
			} else {
				const since = days[days.length - 1];
				totals = sumTotals(await this.store.find({ query: { owner, kind: "day", day: { $gte: since } } }));
				donors = sumDonors(await this.store.find({ query: { owner, kind: "donorday", day: { $gte: since } } }));
			}
			const recentDoc = await this.store.findById(`recent:${owner}`);
			const recent = (recentDoc?.items ?? []).slice().reverse();
			const goal = goalView(await this.stores.goals.findById(owner));
			return { period, ...statsView(totals, donors), goal, recent };
		},

		goalChanged(userId: string, username: string, ctx?: Ctx) {
			if (ctx) void ctx.broadcast("donations.goalChanged", { userId, username });
			else void this.broker.broadcast("donations.goalChanged", { userId, username });
			void this.broker.cacher?.clean(`stats.stats:${username}*`);
			// The goal and leaderboard overlays get the new figures pushed, coalesced over a burst.
			if (this.widgetTimers.has(userId)) return;
			const timer = setTimeout(() => {
				this.widgetTimers.delete(userId);
				this.pushWidgets(userId).catch((err: Error) => this.logger.warn(`Widget push for ${userId} failed: ${err.message}`));
			}, WIDGET_COALESCE_MS);
			timer.unref?.();
			this.widgetTimers.set(userId, timer);
		},

		/** `widgets:stats` to the channel's overlays: its goal and top donors of each period. */
		async pushWidgets(userId: string) {
			const [all, d30, d7] = await Promise.all((["all", "30d", "7d"] as const).map((p) => this.computeStats(userId, p)));
			this.pushOverlay([rooms.overlay(userId)], "widgets:stats", {
				goal: all.goal,
				topDonors: { all: all.topDonors, "30d": d30.topDonors, "7d": d7.topDonors },
			});
		},
	},

	created() {
		this.widgetTimers = new Map();
	},

	stopped() {
		for (const t of this.widgetTimers.values()) clearTimeout(t);
		this.widgetTimers.clear();
	},
};

export default schema;
