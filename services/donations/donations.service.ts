import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin, type Collection } from "../../mixins/db.mixin";
import { loadConfig } from "../../lib/config";
import { newId, randomId } from "../../lib/tools/ids";
import { CURRENCY_CODES, feeFor, formatMoney, amountProblem } from "../../lib/domain/money";
import { moderate } from "../../lib/domain/moderation";
import { canonicalYouTubeUrl } from "../../lib/domain/youtube";
import { truncateUnits } from "../../lib/domain/text";
import { withDefaults } from "../../lib/domain/user-settings";
import { dayOf, donationProblems, donorKey, mediaSeconds, periodDays, requestHash, type DonationRequest } from "../../lib/domain/donations/rules";
import { conflict, invalid, isDuplicateKey, notFound } from "../../lib/tools/errors";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Donations: creation (with idempotency keys), history, stats and leaderboards from maintained
 * aggregates, goals, and the balance ledger. Payment outcomes arrive on the
 * `payments.statusChanged` channel; a paid donation is announced on `donations.paid`.
 *
 * Every effect of "paid" (ledger credit, aggregates, announcement) is recorded on the donation
 * document itself (`effects.*`), so a redelivered message or a restart re-drives only what is
 * missing and nothing happens twice; `effectsDue` (a sparse index) marks donations whose effects
 * are not all done.
 *
 * Aggregates (totals per day and per donor, the recent list, the goal) span several documents
 * that no store updates together, so they converge to the ledger whatever the crash point:
 *  1. Each aggregate document's update is idempotent per donation: the increment and a marker
 *     (`applied.<donationId>`, `reverted.<donationId>` for a reversal) are one conditional update
 *     ("only if the marker is absent"), so applying a donation again changes nothing.
 *  2. `effects.aggregated` (`effects.deaggregated`) is written only after every document was
 *     updated: a crash in between leaves it unset, and the re-drive applies the donation again,
 *     which completes the documents it missed and skips the others.
 *  3. Then the markers are removed (one multi-document update) and the final write clears
 *     `effectsDue`. Once `effects.aggregated` is set nothing applies the donation again, so a
 *     marker a crash leaves behind only costs its few bytes.
 * Who applies is leased: the status change takes the lease (`effects.aggregationLease`, a time)
 * in its own write; a re-drive takes over a lease older than one re-drive interval
 * (REDRIVE_INTERVAL_MS), so a node that is just slow is not raced by the sweep. A reversal is
 * de-aggregated only once the donation's aggregation is done (never below zero).
 */

export type DonationStatus = "pending" | "paid" | "failed" | "expired" | "refunded" | "reversed";

export interface DonationDoc {
	_id: string;
	recipientId: string;
	recipientUsername: string;
	donorId: string | null;
	donorName: string;
	hideName: boolean;
	message: string;
	/** The message as shown publicly (blocked terms masked). */
	publicMessage: string;
	/** The donor name as shown publicly (blocked terms masked); older rows have none. */
	publicDonorName?: string;
	mediaUrl: string | null;
	mediaSeconds: number | null;
	amount: number;
	currency: string;
	provider: string;
	paymentId: string | null;
	status: DonationStatus;
	createdAt: string;
	paidAt: string | null;
	statusAt: string;
	effects: {
		credited?: boolean;
		aggregated?: boolean;
		announced?: boolean;
		debited?: boolean;
		deaggregated?: boolean;
		reversalAnnounced?: boolean;
		aggregationLease?: number;
		deaggregationLease?: number;
	};
	/** Refunded / charged back so far, as booked in the ledger (a partial refund keeps it paid). */
	refundedAmount?: number;
	/** Times a won dispute made this reversed donation paid again (the payment's count, as last applied). */
	reinstatements?: number;
	goalId?: string | null;
	/** Present (true) while the effects of the last status change are not all applied. */
	effectsDue?: true;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

const PROVIDERS = ["sandbox", "midtrans", "stripe", "paypal"];
const STATUSES: DonationStatus[] = ["pending", "paid", "failed", "expired", "refunded", "reversed"];
const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** Longer than any request may run (REQUEST_TIMEOUT_MS is 10 s): a live request never loses its key. */
const IDEMPOTENCY_LEASE_MS = Number(process.env.IDEMPOTENCY_LEASE_MS || 30_000);
const LIST_PARAMS = {
	limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
	cursor: { type: "string", max: 64, optional: true },
};

const schema: ServiceSchema<any> = {
	name: "donations",
	mixins: [
		DbMixin("donations", [{ fields: "recipientId" }, { fields: "donorId" }, { fields: "paymentId" }, { fields: "effectsDue", sparse: true }], {
			idempotency_keys: [{ fields: "expiresAt" }],
			// donationId: a refund reads what the ledger already holds for its donation.
			ledger: [{ fields: "key", unique: true }, { fields: "userId" }, { fields: "donationId" }],
			donation_aggregates: [{ fields: "owner" }],
			goals: [],
		}),
	],
	settings: { rest: "/" },
	dependencies: [],

	actions: {
		/** Start a donation: validates against the streamer's settings and opens a payment. */
		create: {
			rest: "POST /donations",
			status: 201,
			// Never retried by the broker: a second run would make a second donation and payment (clients retry with the same Idempotency-Key).
			retryPolicy: { enabled: false },
			auth: "optional",
			params: {
				to: { type: "string", min: 1, max: 25 },
				amount: { type: "number", integer: true, min: 1, max: 1e13 },
				currency: { type: "enum", values: CURRENCY_CODES },
				provider: { type: "enum", values: PROVIDERS },
				message: { type: "string", text: "line", max: 500, optional: true },
				donorName: { type: "string", text: "line", max: 50, optional: true },
				hideName: { type: "boolean", optional: true },
				mediaUrl: { type: "url", max: 2048, optional: true },
				email: { type: "email", max: 254, optional: true },
				method: { type: "enum", values: ["snap", "qris", "bank_transfer"], optional: true },
				bank: { type: "enum", values: ["bca", "bni", "bri", "permata", "cimb"], optional: true },
			},
			async handler(this: any, ctx: Ctx<DonationRequest>) {
				const key = ctx.meta.idempotencyKey;
				if (key === undefined) return this.createDonation(ctx);
				if (typeof key !== "string" || key.length < 1 || key.length > 255)
					throw invalid("Idempotency-Key", "Idempotency-Key must be 1-255 characters", "INVALID_IDEMPOTENCY_KEY");
				return this.withIdempotency(ctx, key, () => this.createDonation(ctx));
			},
		},

		/** One donation, for its donor or recipient (or an admin). */
		getOne: {
			rest: "GET /donations/:id",
			auth: "required",
			params: { id: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const d: DonationDoc | null = await this.store.findById(ctx.params.id);
				const user = ctx.meta.user!;
				if (!d) throw notFound("Donation");
				if (d.recipientId !== user.id && d.donorId !== user.id && !user.roles.includes("admin")) throw notFound("Donation");
				return this.view(d);
			},
		},

		received: {
			rest: "GET /me/donations/received",
			auth: "required",
			params: { status: { type: "enum", values: STATUSES, optional: true }, ...LIST_PARAMS },
			handler(this: any, ctx: Ctx<{ status?: string; limit?: number; cursor?: string }>) {
				return this.listFor(ctx, "recipientId");
			},
		},

		sent: {
			rest: "GET /me/donations/sent",
			auth: "required",
			params: { status: { type: "enum", values: STATUSES, optional: true }, ...LIST_PARAMS },
			handler(this: any, ctx: Ctx<{ status?: string; limit?: number; cursor?: string }>) {
				return this.listFor(ctx, "donorId");
			},
		},

		/** Totals, leaderboard, goal and recent paid donations of a channel (from aggregates). */
		stats: {
			rest: "GET /users/:username/stats",
			params: { username: { type: "string", min: 1, max: 25 }, period: { type: "enum", values: ["all", "30d", "7d"], optional: true } },
			cache: {
				ttl: 5,
				keygen: (action: any, _opts: any, ctx: any): string =>
					`${action.name}:${String(ctx.params.username).toLowerCase()}|${ctx.params.period ?? "all"}`,
			},
			async handler(this: any, ctx: Ctx<{ username: string; period?: "all" | "30d" | "7d" }>) {
				const user = await ctx.call<any, any>("users.get", { username: ctx.params.username });
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
			},
			async handler(this: any, ctx: Ctx<{ title: string; target: number; currency: string }>) {
				const problem = amountProblem(ctx.params.target, ctx.params.currency);
				if (problem) throw invalid("target", problem);
				const userId = ctx.meta.user!.id;
				const goals: Collection = this.stores.goals;
				const existing = await goals.findById(userId);
				const now = new Date().toISOString();
				if (existing && existing.currency === ctx.params.currency) {
					await goals.updateMany({ _id: userId }, { $set: { title: ctx.params.title, target: ctx.params.target, updatedAt: now } });
				} else {
					if (existing) await goals.removeMany({ _id: userId });
					await goals.insert({
						_id: userId,
						goalId: newId(),
						title: ctx.params.title,
						target: ctx.params.target,
						currency: ctx.params.currency,
						current: 0,
						startedAt: now,
						updatedAt: now,
					});
				}
				this.goalChanged(ctx, userId, ctx.meta.user!.username);
				return this.goalView(await goals.findById(userId));
			},
		},

		deleteGoal: {
			rest: "DELETE /me/goal",
			status: 204,
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				await this.stores.goals.removeMany({ _id: ctx.meta.user!.id });
				this.goalChanged(ctx, ctx.meta.user!.id, ctx.meta.user!.username);
				return null;
			},
		},

		/** The caller's balance per currency, from the ledger. */
		balance: {
			rest: "GET /me/balance",
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				// Summed from the ledger itself (exactly one entry per credit/debit, by unique key), not
				// from the aggregates: an aggregate update cut short by a crash must not move money.
				const entries = await this.stores.ledger.find({ query: { userId: ctx.meta.user!.id } });
				const sums = new Map<string, number>();
				for (const e of entries as { currency: string; amount: number }[]) sums.set(e.currency, (sums.get(e.currency) ?? 0) + e.amount);
				const rows = [...sums].map(([currency, amount]) => ({ currency, amount }));
				return {
					balances: rows
						.map((r: any) => ({ currency: r.currency, amount: r.amount, formattedAmount: formatMoney(r.amount, r.currency) }))
						.sort((a: any, b: any) => a.currency.localeCompare(b.currency)),
				};
			},
		},

		/** The caller's ledger entries, newest first (what the balance is made of). */
		ledger: {
			rest: "GET /me/ledger",
			auth: "required",
			params: LIST_PARAMS,
			async handler(this: any, ctx: Ctx<{ limit?: number; cursor?: string }>) {
				const page = await this.stores.ledger.page({ userId: ctx.meta.user!.id }, ctx.params);
				return {
					items: page.items.map((e: any) => ({
						id: e._id,
						donationId: e.donationId,
						kind: e.kind,
						amount: e.amount,
						gross: e.gross,
						fee: e.fee,
						currency: e.currency,
						createdAt: e.createdAt,
					})),
					nextCursor: page.nextCursor,
				};
			},
		},

		// ---- internal ----

		get: {
			visibility: "public",
			params: { id: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const d = await this.store.findById(ctx.params.id);
				return d ? this.view(d) : null;
			},
		},

		goalOf: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ userId: string }>) {
				return this.goalView(await this.stores.goals.findById(ctx.params.userId));
			},
		},

		/** Rebuilds a channel's aggregates from its donations (operators: after a crash mid-update). */
		rebuildAggregates: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ userId: string }>) {
				return this.rebuildAggregates(ctx.params.userId);
			},
		},
	},

	channels: {
		"payments.statusChanged": {
			group: "donations",
			async handler(this: any, payload: { donationId: string; paymentId: string; status: string; refundedAmount?: number; reinstatements?: number }) {
				await this.applyPaymentStatus(payload.donationId, payload.status, payload.paymentId, payload);
			},
		},
	},

	methods: {
		/** The caller's donations on one side (received or sent), newest first. */
		async listFor(this: any, ctx: Ctx<{ status?: string; limit?: number; cursor?: string }>, side: "recipientId" | "donorId") {
			const q: Record<string, unknown> = { [side]: ctx.meta.user!.id };
			if (ctx.params.status) q.status = ctx.params.status;
			const page = await this.store.page(q, ctx.params);
			return { items: page.items.map((d: DonationDoc) => this.view(d)), nextCursor: page.nextCursor };
		},

		async createDonation(this: any, ctx: Ctx<DonationRequest>) {
			const p = ctx.params;
			const signedIn = !!ctx.meta.user;
			const recipient = await ctx.call<any, any>("users.get", { username: p.to.toLowerCase() });
			const problems = donationProblems(p, recipient, signedIn);
			if (problems.length) {
				throw new Errors.MoleculerClientError(
					problems[0].message,
					422,
					problems[0].type,
					problems.map((x) => ({ field: x.field, message: x.message, type: x.type })),
				);
			}
			const { providers } = await ctx.call<{ providers: string[] }, Record<string, never>>("payments.providers", {});
			if (!providers.includes(p.provider)) throw invalid("provider", `${p.provider} is not enabled on this server`, "PROVIDER_UNAVAILABLE");
			const settings = withDefaults(recipient.settings);
			const now = new Date().toISOString();
			const message = (p.message ?? "").trim();
			const donorName = p.donorName?.trim() || ctx.meta.user?.displayName || ctx.meta.user?.username || "";
			// The payment is opened first: a provider that refuses it (422) or is down (503) leaves
			// nothing stored. Its id is chosen here so the donation is stored with it in one write.
			const doc: DonationDoc = {
				_id: newId(),
				recipientId: recipient.id,
				recipientUsername: recipient.username,
				donorId: ctx.meta.user?.id ?? null,
				donorName,
				hideName: !!p.hideName,
				message,
				publicMessage: moderate(message, settings.moderation.blockedTerms).masked,
				publicDonorName: moderate(donorName, settings.moderation.blockedTerms).masked,
				mediaUrl: p.mediaUrl ? canonicalYouTubeUrl(p.mediaUrl) : null,
				mediaSeconds: p.mediaUrl ? mediaSeconds(p.amount, settings) : null,
				amount: p.amount,
				currency: p.currency,
				provider: p.provider,
				paymentId: randomId(),
				status: "pending",
				createdAt: now,
				paidAt: null,
				statusAt: now,
				effects: {},
			};
			const payment: any = await ctx.call("payments.create", {
				paymentId: doc.paymentId,
				donationId: doc._id,
				amount: doc.amount,
				currency: doc.currency,
				provider: doc.provider,
				method: p.method,
				bank: p.bank,
				// Providers count UTF-16 units (payments.create takes 100): 50 flags are 200.
				donorName: truncateUnits(doc.donorName, 100),
				email: p.email,
				description: `Donation to ${recipient.username}`,
			});
			doc.paymentId = payment.id;
			await this.store.insert(doc);
			(ctx.meta as any).$location = `/api/donations/${doc._id}`;
			return { donation: this.view(doc), payment: { id: payment.id, provider: payment.provider, status: payment.status, action: payment.action } };
		},

		/**
		 * Idempotency-Key: the first request's response is stored and replayed; a different body
		 * under the same key is refused; a request still in flight answers 409. Keys last 24 h.
		 */
		async withIdempotency(this: any, ctx: Ctx<DonationRequest>, key: string, run: () => Promise<any>) {
			const keys: Collection = this.stores.idempotency_keys;
			const id = `donations.create:${ctx.meta.user?.id ?? "anon"}:${key}`;
			const hash = requestHash(ctx.params as unknown as Record<string, unknown>);
			const now = Date.now();
			try {
				await keys.insert({ _id: id, hash, state: "running", createdAt: now, expiresAt: now + IDEMPOTENCY_TTL_MS });
			} catch (err) {
				if (!isDuplicateKey(err)) throw err;
				const existing = await keys.findById(id);
				if (!existing) return this.withIdempotency(ctx, key, run);
				if (existing.expiresAt < now) {
					await keys.removeMany({ _id: id, expiresAt: existing.expiresAt });
					return this.withIdempotency(ctx, key, run);
				}
				if (existing.hash !== hash) {
					throw new Errors.MoleculerClientError("This Idempotency-Key was used with a different request body", 422, "IDEMPOTENCY_KEY_REUSED", [
						{ field: "Idempotency-Key", message: "reused with a different body" },
					]);
				}
				if (existing.state !== "done") {
					// A "running" key older than the lease belongs to a request whose node died (SIGKILL,
					// OOM) before it finished: one retry takes it over, or the key would be stuck for 24 h.
					const abandoned = now - existing.createdAt > IDEMPOTENCY_LEASE_MS;
					if (!abandoned || !(await keys.updateIf({ _id: id, state: "running", createdAt: existing.createdAt }, { $set: { createdAt: now } }))) {
						throw conflict("A request with this Idempotency-Key is still in progress", "IDEMPOTENCY_KEY_IN_FLIGHT");
					}
					return this.runIdempotent(ctx, id, run);
				}
				ctx.meta.$statusCode = existing.statusCode ?? 201;
				ctx.meta.$responseHeaders = { "Idempotent-Replayed": "true" };
				return existing.response;
			}
			return this.runIdempotent(ctx, id, run);
		},

		/** Runs the request that holds the key and stores its response for replays. */
		async runIdempotent(this: any, ctx: Ctx<DonationRequest>, id: string, run: () => Promise<any>) {
			const keys: Collection = this.stores.idempotency_keys;
			try {
				const response = await run();
				await keys.updateMany(
					{ _id: id },
					{ $set: { state: "done", response, statusCode: ctx.meta.$statusCode ?? (ctx.action as { status?: number } | undefined)?.status ?? 200 } },
				);
				return response;
			} catch (err) {
				// Nothing was created for a refused request: free the key so a corrected retry works.
				await keys.removeMany({ _id: id, state: "running" });
				throw err;
			}
		},

		view(this: any, d: DonationDoc) {
			return {
				id: d._id,
				to: d.recipientUsername,
				recipientId: d.recipientId,
				recipientUsername: d.recipientUsername,
				donorId: d.donorId,
				donorName: d.hideName ? "Anonymous" : (d.publicDonorName ?? d.donorName),
				hideName: d.hideName,
				message: d.publicMessage ?? d.message,
				mediaUrl: d.mediaUrl,
				mediaSeconds: d.mediaSeconds,
				amount: d.amount,
				currency: d.currency,
				formattedAmount: formatMoney(d.amount, d.currency),
				provider: d.provider,
				paymentId: d.paymentId,
				status: d.status,
				refundedAmount: d.refundedAmount ?? 0,
				createdAt: d.createdAt,
				paidAt: d.paidAt,
			};
		},

		/** The internal form sent on channels: the view plus the unmasked message for moderation. */
		channelView(this: any, d: DonationDoc) {
			return { ...this.view(d), originalMessage: d.message, donorDisplayName: d.donorName };
		},

		goalView(goal: any) {
			if (!goal) return null;
			return {
				title: goal.title,
				target: goal.target,
				current: goal.current,
				currency: goal.currency,
				formattedTarget: formatMoney(goal.target, goal.currency),
				formattedCurrent: formatMoney(goal.current, goal.currency),
				startedAt: goal.startedAt,
			};
		},

		goalChanged(this: any, ctx: Ctx, userId: string, username: string) {
			ctx.broadcast("donations.goalChanged", { userId, username });
			void this.broker.cacher?.clean(`donations.stats:${username}*`);
		},

		async applyPaymentStatus(
			this: any,
			donationId: string,
			status: string,
			paymentId?: string,
			refund: { refundedAmount?: number; reinstatements?: number } = {},
		) {
			const now = new Date().toISOString();
			const generation = refund.reinstatements ?? 0;
			if (status === "paid" || status === "refunded" || status === "reversed") {
				// A won dispute starts a new generation of the payment: a message from an older one
				// (a late "reversed" after "paid" again) is stale and changes nothing.
				const seen: DonationDoc | null = await this.store.findById(donationId);
				const known = seen?.reinstatements ?? 0;
				if (seen && generation < known) return;
				if (seen && generation > known) {
					if (status === "paid" && seen.status === "reversed") return this.applyReinstatement(seen, generation, refund.refundedAmount ?? 0);
					await this.store.updateMany(
						{ _id: donationId, $or: [{ reinstatements: { $lt: generation } }, { reinstatements: { $exists: false } }] },
						{ $set: { reinstatements: generation } },
					);
				} else if (seen && generation > 0 && status === "paid" && seen.status === "paid") {
					// Redelivered after a crash inside the reinstatement: its credit, if still missing.
					await this.creditReinstatement(seen, generation, refund.refundedAmount ?? 0);
				}
			}
			if (status === "paid" && (refund.refundedAmount ?? 0) > 0) {
				// A partial refund or chargeback: still paid (the paid effects first, if this is the
				// first message to arrive), the refunded part debited.
				await this.applyPaymentStatus(donationId, "paid", paymentId, { reinstatements: generation });
				const d: DonationDoc = await this.stored(donationId, paymentId);
				if (d.status === "paid") await this.bookRefunded(d, refund.refundedAmount!, generation);
				return;
			}
			if (status === "paid") {
				// The transition also takes the lease on the aggregate update: the call that made it applies it.
				const claimed = await this.store.updateIf(
					{ _id: donationId, status: "pending" },
					{
						$set: {
							status: "paid",
							paidAt: now,
							statusAt: now,
							"effects.aggregationLease": Date.now() + this.aggregationLeaseMs,
							effectsDue: true,
							...(paymentId ? { paymentId } : {}),
						},
					},
				);
				const d: DonationDoc = await this.stored(donationId, paymentId);
				if (d.status === "paid" || d.status === "refunded" || d.status === "reversed") await this.applyPaidEffects(d, claimed);
				if (d.status === "refunded" || d.status === "reversed") await this.applyReversalEffects(d, false);
			} else if (status === "failed" || status === "expired") {
				if (!(await this.store.updateIf({ _id: donationId, status: "pending" }, { $set: { status, statusAt: now } })))
					await this.stored(donationId, paymentId);
			} else if (status === "refunded" || status === "reversed") {
				const claimed = await this.store.updateIf(
					{ _id: donationId, status: "paid" },
					{ $set: { status, statusAt: now, "effects.deaggregationLease": Date.now() + this.aggregationLeaseMs, effectsDue: true } },
				);
				const d: DonationDoc = await this.stored(donationId, paymentId);
				if (d.status === "refunded" || d.status === "reversed") {
					await this.applyPaidEffects(d, false);
					await this.applyReversalEffects(d, claimed);
				}
			}
		},

		/**
		 * The donation a payment status is about. The payment is stored a moment before its
		 * donation, so a status for a donation not stored yet throws: the channel delivers it again
		 * (and dead-letters it, for an operator, if the donation never appears).
		 */
		async stored(this: any, donationId: string, paymentId?: string): Promise<DonationDoc> {
			const d: DonationDoc | null = await this.store.findById(donationId);
			if (!d) throw new Error(`Donation ${donationId} of payment ${paymentId ?? "?"} is not stored (yet)`);
			return d;
		},

		/**
		 * Aggregates (exactly once, see the header: by the lease holder, recorded after applying),
		 * then the ledger credit and the announcement, each at least once and idempotent
		 * downstream, recorded together; `effectsDue` is cleared once the aggregates are done too.
		 */
		async applyPaidEffects(this: any, d: DonationDoc, claimedAggregation: boolean) {
			d = await this.applyAggregation(d, +1, claimedAggregation);
			if (d.effects?.credited && d.effects?.announced && d.effects?.aggregationLease === undefined) return;
			if (!d.effects?.credited) {
				const fee = feeFor(d.amount, this.appConfig.platformFeeBps);
				await this.ledgerInsert(d, `${d._id}:credit`, "credit", d.amount - fee, d.amount, fee);
			}
			if (!d.effects?.announced) await this.broker.sendToChannel("donations.paid", { donation: this.channelView({ ...d, status: "paid" }) });
			const flags = { "effects.credited": true, "effects.announced": true };
			// Done for a paid donation once aggregated; a reversal in the meantime keeps the mark for its own effects.
			if (
				d.status !== "paid" ||
				!(await this.store.updateIf(
					{ _id: d._id, status: "paid", "effects.aggregated": true },
					{ $set: flags, $unset: { effectsDue: true, "effects.aggregationLease": true } },
				))
			) {
				await this.store.updateMany({ _id: d._id }, { $set: flags });
			}
			if (!d.effects?.announced) this.broker.broadcast("donations.changed", { recipientId: d.recipientId, recipientUsername: d.recipientUsername });
		},

		async applyReversalEffects(this: any, d: DonationDoc, claimedAggregation: boolean) {
			d = await this.applyAggregation(d, -1, claimedAggregation);
			if (d.effects?.debited && d.effects?.reversalAnnounced && d.effects?.deaggregationLease === undefined) return;
			// Debits what is not debited yet (a partial refund may have booked part of it already).
			if (!d.effects?.debited) await this.bookRefunded(d, d.amount, d.reinstatements ?? 0);
			if (!d.effects?.reversalAnnounced) await this.broker.sendToChannel("donations.reversed", { donation: this.channelView(d) });
			const flags = { "effects.debited": true, "effects.reversalAnnounced": true };
			if (
				!(await this.store.updateIf(
					{ _id: d._id, "effects.deaggregated": true },
					{ $set: flags, $unset: { effectsDue: true, "effects.deaggregationLease": true } },
				))
			)
				await this.store.updateMany({ _id: d._id }, { $set: flags });
			if (!d.effects?.reversalAnnounced)
				this.broker.broadcast("donations.changed", { recipientId: d.recipientId, recipientUsername: d.recipientUsername });
		},

		/**
		 * Applies (+1) or reverts (-1) a donation in the aggregates, once (see the header): by the
		 * lease holder, recorded after every document was updated, then its markers removed.
		 * Answers the donation with what it recorded.
		 */
		async applyAggregation(this: any, d: DonationDoc, sign: 1 | -1, claimed: boolean): Promise<DonationDoc> {
			const done = sign > 0 ? "aggregated" : "deaggregated";
			const lease = sign > 0 ? "aggregationLease" : "deaggregationLease";
			if (!d.effects?.[done]) {
				if (!claimed && !(await this.takeAggregationLease(d, done, lease))) return d;
				let applied = d;
				if (sign < 0) {
					// Reverted only once applied (never below zero), with the goal it was counted in.
					const fresh: DonationDoc | null = await this.store.findById(d._id);
					if (!fresh?.effects?.aggregated) return d;
					applied = fresh;
				}
				await this.aggregate(applied, sign);
				await this.store.updateMany({ _id: d._id }, { $set: { [`effects.${done}`]: true } });
				d = { ...d, effects: { ...d.effects, [done]: true, [lease]: d.effects?.[lease] ?? Date.now() } };
			}
			if (d.effects?.[lease] !== undefined) await this.forgetAggregation(d, sign);
			return d;
		},

		/** Takes over the aggregate update of a donation whose lease ran out (its holder died or never took it). */
		takeAggregationLease(this: any, d: DonationDoc, done: string, lease: string): Promise<boolean> {
			const now = Date.now();
			return this.store.updateIf(
				{
					_id: d._id,
					[`effects.${done}`]: { $ne: true },
					$or: [{ [`effects.${lease}`]: { $exists: false } }, { [`effects.${lease}`]: { $lte: now } }],
				},
				{ $set: { [`effects.${lease}`]: now + this.aggregationLeaseMs } },
			);
		},

		/** The aggregate documents a donation counts in. */
		aggregateIds(d: DonationDoc) {
			const owner = d.recipientId;
			const day = dayOf(d.paidAt ?? d.createdAt);
			const donor = donorKey(d).key;
			return {
				total: `total:${owner}:${d.currency}`,
				day: `day:${owner}:${d.currency}:${day}`,
				donor: `donor:${owner}:${d.currency}:${donor}`,
				donorday: `donorday:${owner}:${d.currency}:${day}:${donor}`,
				recent: `recent:${owner}`,
			};
		},

		/** The marker of a donation's update in an aggregate document. */
		aggregateMark(d: DonationDoc, sign: 1 | -1): string {
			return `${sign > 0 ? "applied" : "reverted"}.${d._id}`;
		},

		/** One aggregate document's update with the donation's marker, in one conditional write: at most once per donation. */
		async aggregateOnce(this: any, target: Collection, mark: string, query: Record<string, unknown>, update: Record<string, any>) {
			try {
				await target.upsert({ ...query, [mark]: { $exists: false } }, { ...update, $set: { ...update.$set, [mark]: true } });
			} catch (err) {
				// The document exists with the marker: this donation was applied to it before.
				if (!isDuplicateKey(err)) throw err;
			}
		},

		/** Removes a donation's markers once it is recorded as aggregated (nothing applies it again). */
		async forgetAggregation(this: any, d: DonationDoc, sign: 1 | -1) {
			const mark = this.aggregateMark(d, sign);
			await this.stores.donation_aggregates.updateMany(
				{ _id: { $in: Object.values(this.aggregateIds(d)) }, [mark]: { $exists: true } },
				{ $unset: { [mark]: true } },
			);
			await this.stores.goals.updateMany({ _id: d.recipientId, [mark]: { $exists: true } }, { $unset: { [mark]: true } });
		},

		/**
		 * Brings the ledger's refunded part of a donation up to `total` (the payment's refunded /
		 * charged-back total): debits only the increment over what the ledger already holds for it,
		 * never credits (a late message with a smaller total changes nothing). Each debit's key is
		 * the level it starts from (`<id>:debit` for the first, as a full refund always had), so a
		 * redelivered or concurrent message cannot book the same increment twice: the loser's insert
		 * hits the unique key and it re-reads. The fee comes back in proportion; in full, exactly.
		 */
		async bookRefunded(this: any, d: DonationDoc, total: number, generation: number) {
			const target = Math.min(Math.max(total, 0), d.amount);
			for (let attempt = 0; attempt < 10; attempt++) {
				const booked = await this.refundedInLedger(d);
				if (booked >= target) {
					if ((d.refundedAmount ?? 0) < booked)
						await this.store.updateMany(
							{ _id: d._id, $or: [{ refundedAmount: { $lt: booked } }, { refundedAmount: { $exists: false } }] },
							{ $set: { refundedAmount: booked } },
						);
					return booked;
				}
				const key = generation === 0 && booked === 0 ? `${d._id}:debit` : `${d._id}:debit:${generation}:${booked}`;
				const gross = target - booked;
				const fee = this.feeAt(d, target) - this.feeAt(d, booked);
				if (await this.ledgerInsert(d, key, "debit", -(gross - fee), -gross, -fee))
					this.broker.broadcast("donations.changed", { recipientId: d.recipientId, recipientUsername: d.recipientUsername });
			}
			throw new Error(`Donation ${d._id}: refunded part not booked after 10 attempts`);
		},

		/** What the ledger holds as refunded for a donation: its debits less reinstatement credits (gross). */
		async refundedInLedger(this: any, d: DonationDoc): Promise<number> {
			const entries: { kind: string; gross: number }[] = await this.stores.ledger.find({ query: { userId: d.recipientId, donationId: d._id } });
			return entries.reduce((a, e) => (e.kind === "debit" || e.kind === "reinstatement" ? a - e.gross : a), 0);
		},

		/** The part of the platform fee that belongs to `gross` of the donation (all of it at the full amount). */
		feeAt(this: any, d: DonationDoc, gross: number): number {
			const fee = feeFor(d.amount, this.appConfig.platformFeeBps);
			return gross >= d.amount ? fee : Math.round((fee * gross) / d.amount);
		},

		/**
		 * A won dispute: the reversed donation is paid again. The status change takes the
		 * re-aggregation's lease (as the paid transition does); the ledger gets back what the reversal took,
		 * beyond what stays refunded, once per reinstatement (its key names the generation).
		 */
		async applyReinstatement(this: any, d: DonationDoc, generation: number, stillRefunded: number) {
			const now = new Date().toISOString();
			const claimed = await this.store.updateIf(
				{ _id: d._id, status: "reversed", $or: [{ reinstatements: { $lt: generation } }, { reinstatements: { $exists: false } }] },
				{
					$set: {
						status: "paid",
						statusAt: now,
						reinstatements: generation,
						"effects.aggregated": false,
						"effects.deaggregated": false,
						"effects.debited": false,
						"effects.reversalAnnounced": false,
						"effects.aggregationLease": Date.now() + this.aggregationLeaseMs,
						effectsDue: true,
					},
				},
			);
			const fresh: DonationDoc = await this.stored(d._id, d.paymentId ?? undefined);
			if (fresh.status !== "paid" || (fresh.reinstatements ?? 0) !== generation) return;
			// Counted again through the paid effects (lease, markers, re-drive), so a crash here
			// converges like any paid donation; its credit and announcement are already done.
			await this.applyPaidEffects(fresh, claimed);
			await this.creditReinstatement(fresh, generation, stillRefunded);
		},

		/**
		 * The ledger credit of a reinstatement: what the ledger holds as refunded beyond what stays
		 * refunded, under one key per generation (so a redelivery, or a later message of the same
		 * generation, never credits twice).
		 */
		async creditReinstatement(this: any, d: DonationDoc, generation: number, stillRefunded: number) {
			const booked = await this.refundedInLedger(d);
			const back = booked - Math.min(Math.max(stillRefunded, 0), d.amount);
			if (back <= 0) return;
			const fee = this.feeAt(d, booked) - this.feeAt(d, booked - back);
			if (!(await this.ledgerInsert(d, `${d._id}:reinstatement:${generation}`, "reinstatement", back - fee, back, fee))) return;
			await this.store.updateMany({ _id: d._id }, { $set: { refundedAmount: await this.refundedInLedger(d) } });
			this.broker.broadcast("donations.changed", { recipientId: d.recipientId, recipientUsername: d.recipientUsername });
		},

		/**
		 * Appends one ledger entry under a unique key (`<id>:credit`, `<id>:debit…`): the ledger is
		 * append-only and a key is booked once. False when that key is already booked.
		 */
		async ledgerInsert(this: any, d: DonationDoc, key: string, kind: string, amount: number, gross: number, fee: number): Promise<boolean> {
			try {
				await this.stores.ledger.insert({
					_id: newId(),
					key,
					userId: d.recipientId,
					donationId: d._id,
					kind,
					amount,
					gross,
					fee,
					currency: d.currency,
					createdAt: new Date().toISOString(),
				});
				return true;
			} catch (err) {
				if (!isDuplicateKey(err)) throw err;
				return false;
			}
		},

		/**
		 * Maintains totals per day and per donor, the recent list and the goal (the balance is the
		 * ledger's sum). Each document's update carries the donation's marker (idempotent: see the
		 * header), so running this again after a crash completes what was missed.
		 */
		async aggregate(this: any, d: DonationDoc, sign: 1 | -1) {
			const agg: Collection = this.stores.donation_aggregates;
			const owner = d.recipientId;
			const day = dayOf(d.paidAt ?? d.createdAt);
			const donor = donorKey(d);
			const amount = sign * d.amount;
			const ids = this.aggregateIds(d);
			const mark = this.aggregateMark(d, sign);
			await this.aggregateOnce(agg, mark, { _id: ids.total, owner, kind: "total", currency: d.currency }, { $inc: { amount, count: sign } });
			await this.aggregateOnce(agg, mark, { _id: ids.day, owner, kind: "day", currency: d.currency, day }, { $inc: { amount, count: sign } });
			await this.aggregateOnce(
				agg,
				mark,
				{ _id: ids.donor, owner, kind: "donor", currency: d.currency, donor: donor.key },
				{ $inc: { amount, count: sign }, $set: { name: donor.name } },
			);
			await this.aggregateOnce(
				agg,
				mark,
				{ _id: ids.donorday, owner, kind: "donorday", currency: d.currency, day, donor: donor.key },
				{ $inc: { amount, count: sign }, $set: { name: donor.name } },
			);
			if (sign > 0) {
				const entry = {
					id: d._id,
					donorName: donor.name,
					amount: d.amount,
					currency: d.currency,
					formattedAmount: formatMoney(d.amount, d.currency),
					message: d.publicMessage ?? d.message,
					paidAt: d.paidAt ?? d.createdAt,
				};
				await this.aggregateOnce(agg, mark, { _id: ids.recent, owner, kind: "recent" }, { $push: { items: { $each: [entry], $slice: -10 } } });
			} else {
				// Removing is idempotent by itself.
				await agg.updateMany({ _id: ids.recent, kind: "recent" }, { $pull: { items: { id: d._id } } });
			}
			// Goal progress: donations in the goal's currency paid since it started.
			const goal = await this.stores.goals.findById(owner);
			if (goal && goal.currency === d.currency && (d.paidAt ?? d.createdAt) >= goal.startedAt) {
				const counted = sign > 0 || d.goalId === goal.goalId;
				if (counted) {
					// Not an upsert: a goal removed in the meantime stays removed.
					await this.stores.goals.updateMany(
						{ _id: owner, goalId: goal.goalId, [mark]: { $exists: false } },
						{ $inc: { current: amount }, $set: { [mark]: true } },
					);
					if (sign > 0) await this.store.updateMany({ _id: d._id }, { $set: { goalId: goal.goalId } });
				}
			}
			this.broker.broadcast("donations.goalChanged", { userId: owner, username: d.recipientUsername });
			void this.broker.cacher?.clean(`donations.stats:${d.recipientUsername}*`);
		},

		async computeStats(this: any, owner: string, period: "all" | "30d" | "7d") {
			const agg: Collection = this.stores.donation_aggregates;
			const days = periodDays(period);
			let totals: { currency: string; amount: number; count: number }[];
			let donors: { name: string; amount: number; currency: string; count: number }[];
			if (!days) {
				totals = (await agg.find({ query: { owner, kind: "total" } })).map((t: any) => ({ currency: t.currency, amount: t.amount, count: t.count }));
				donors = (await agg.find({ query: { owner, kind: "donor" } })).map((t: any) => ({
					name: t.name,
					amount: t.amount,
					currency: t.currency,
					count: t.count,
					key: t.donor,
				}));
			} else {
				const since = days[days.length - 1];
				const dayRows = await agg.find({ query: { owner, kind: "day", day: { $gte: since } } });
				const byCur = new Map<string, { currency: string; amount: number; count: number }>();
				for (const r of dayRows) {
					const t = byCur.get(r.currency) ?? { currency: r.currency, amount: 0, count: 0 };
					t.amount += r.amount;
					t.count += r.count;
					byCur.set(r.currency, t);
				}
				totals = [...byCur.values()];
				const donorRows = await agg.find({ query: { owner, kind: "donorday", day: { $gte: since } } });
				const byDonor = new Map<string, any>();
				for (const r of donorRows) {
					const k = `${r.currency}:${r.donor}`;
					const t = byDonor.get(k) ?? { name: r.name, amount: 0, currency: r.currency, count: 0 };
					t.amount += r.amount;
					t.count += r.count;
					t.name = r.name;
					byDonor.set(k, t);
				}
				donors = [...byDonor.values()];
			}
			totals = totals.filter((t) => t.count > 0).map((t) => ({ ...t, formattedAmount: formatMoney(t.amount, t.currency) }));
			const topDonors = donors
				.filter((d) => d.count > 0 && d.amount > 0)
				.sort((a, b) => b.amount - a.amount || b.count - a.count)
				.slice(0, 10)
				.map((d) => ({ name: d.name, amount: d.amount, currency: d.currency, count: d.count, formattedAmount: formatMoney(d.amount, d.currency) }));
			const recentDoc = await agg.findById(`recent:${owner}`);
			const recent = ((recentDoc?.items ?? []) as any[]).slice().reverse();
			const goal = this.goalView(await this.stores.goals.findById(owner));
			return { period, totals, topDonors, goal, recent };
		},

		async rebuildAggregates(this: any, owner: string) {
			const agg: Collection = this.stores.donation_aggregates;
			await agg.removeMany({ owner });
			const paid: DonationDoc[] = await this.store.find({ query: { recipientId: owner, status: "paid" }, sort: ["_id"] });
			for (const d of paid) {
				await this.aggregate(d, +1);
				await this.forgetAggregation(d, +1);
			}
			return { owner, donations: paid.length };
		},

		/**
		 * Finish what a crash interrupted: effects of paid/reversed donations not yet applied, found
		 * by their `effectsDue` mark. `everything` (on start) also finds donations stored before
		 * that mark existed, with a full scan.
		 */
		async redrive(this: any, everything = false) {
			const query = everything
				? {
						$or: [
							{ effectsDue: true },
							{ status: "paid", "effects.announced": { $ne: true } },
							{ status: { $in: ["refunded", "reversed"] }, "effects.reversalAnnounced": { $ne: true } },
						],
					}
				: { effectsDue: true };
			const unfinished: DonationDoc[] = await this.store.find({ query, limit: 500 });
			for (const d of unfinished) {
				try {
					await this.applyPaymentStatus(d._id, d.status, d.paymentId ?? undefined);
				} catch (err) {
					this.logger.warn("Re-drive of donation failed; will retry", d._id, (err as Error).message);
				}
			}
			await this.stores.idempotency_keys.removeMany({ expiresAt: { $lt: Date.now() } });
			return unfinished.length;
		},
	},

	events: {
		"$broker.started"(this: any) {
			// Channels are connected only once the broker has started: re-drive from here, not started().
			// The full scan for donations stored before the `effectsDue` mark: once on PostgreSQL.
			void this.store
				.once("donations 0002 effectsDue marks scan", () => this.redrive(true))
				.then((ran: boolean) => (ran ? 0 : this.redrive()))
				.catch((err: Error) => this.logger.warn("Re-drive failed", err.message));
		},
	},

	created(this: any) {
		this.appConfig = loadConfig();
		// A re-drive takes over an aggregate update whose holder has not finished within one sweep interval.
		this.redriveMs = Number(process.env.REDRIVE_INTERVAL_MS || 30_000);
		this.aggregationLeaseMs = this.redriveMs;
	},

	started(this: any) {
		this.redriveTimer = setInterval(() => {
			void this.redrive().catch((err: Error) => this.logger.warn("Re-drive failed", err.message));
		}, this.redriveMs);
		this.redriveTimer.unref();
	},

	stopped(this: any) {
		clearInterval(this.redriveTimer);
	},
};

export default schema;
