import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { loadConfig } from "../../lib/config";
import { CURRENCY_CODES } from "../../lib/domain/money";
import { donationProblems, type DonationRequest, type Recipient } from "../../lib/domain/donations/rules";
import { newDonation, paymentRequest } from "../../lib/domain/donations/create";
import { olderGeneration, paidUpdate, reinstatementUpdate, reversalUpdate, unfinishedQuery } from "../../lib/domain/donations/transitions";
import { DONATION_STATUSES } from "../../lib/domain/donations/types";
import type { DonationDoc, DonationStatus, PaymentOpened, PaymentStatusMessage, Refund } from "../../lib/domain/donations/types";
import { channelView, donationView, type DonationView } from "../../lib/domain/donations/views";
import type { Sign } from "../../lib/domain/donations/aggregates";
import { invalid, notFound } from "../../lib/tools/errors";
import { loaded } from "../../lib/domain/permissions";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Donations: creation (Idempotency-Key replay by middlewares/idempotency.ts), history, and the
 * effects of a payment's outcome. Payment outcomes arrive on the `payments.statusChanged`
 * channel; a paid donation is announced on `donations.paid`. Its money is booked by the ledger
 * service (ledger.service.ts), its stats and goal by the stats service
 * (stats.service.ts); this service drives both and records what they did.
 *
 * Every effect of "paid" (ledger credit, aggregates, announcement) is recorded on the donation
 * document itself (`effects.*`), so a redelivered message or a restart re-drives only what is
 * missing and nothing happens twice; `effectsDue` (a sparse index, the outbox mark of
 * lib/db/outbox.ts) marks donations whose effects are not all done.
 *
 * Aggregates (totals per day and per donor, the recent list, the goal) span several documents
 * that no store updates together, so they converge to the ledger whatever the crash point:
 *  1. Each aggregate document's update is idempotent per donation: the increment and a marker
 *     (`applied.<donationId>`, `reverted.<donationId>` for a reversal) are one conditional update
 *     ("only if the marker is absent"), so applying a donation again changes nothing.
 *  2. `effects.aggregated` (`effects.deaggregated`) is written only after every document was
 *     updated (`stats.apply` answered): a crash in between leaves it unset, and the
 *     re-drive applies the donation again, which completes the documents it missed and skips the others.
 *  3. Then the markers are removed (`stats.forget`, one multi-document update) and the
 *     final write clears `effectsDue`. Once `effects.aggregated` is set nothing applies the donation
 *     again, so a marker a crash leaves behind only costs its few bytes.
 * Who applies is leased: the status change takes the lease (`effects.aggregationLease`, a time)
 * in its own write; a re-drive takes over a lease older than one re-drive interval
 * (REDRIVE_INTERVAL_MS), so a node that is just slow is not raced by the sweep. A reversal is
 * de-aggregated only once the donation's aggregation is done (never below zero).
 */

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;
type ListParams = { status?: string; limit?: number; cursor?: string };
type Done = "aggregated" | "deaggregated";
type Lease = "aggregationLease" | "deaggregationLease";

interface Local extends DbThis<DonationDoc> {
	redriveMs: number;
	/** A re-drive takes over an aggregate update whose holder has not finished within this (one sweep interval). */
	aggregationLeaseMs: number;
	/** The start-up re-drive (tests wait for it). */
	startupRedrive?: Promise<void>;
}
interface Methods extends SweeperMethods {
	listFor(ctx: Ctx<ListParams>, side: "recipientId" | "donorId"): Promise<{ items: DonationView[]; nextCursor: string | null }>;
	createDonation(ctx: Ctx<DonationRequest>): Promise<unknown>;
	applyPaymentStatus(donationId: string, status: string, paymentId?: string, refund?: Refund): Promise<void>;
	stored(donationId: string, paymentId?: string): Promise<DonationDoc>;
	applyPaidEffects(d: DonationDoc, claimedAggregation: boolean): Promise<void>;
	applyReversalEffects(d: DonationDoc, claimedAggregation: boolean): Promise<void>;
	applyAggregation(d: DonationDoc, sign: Sign, claimed: boolean): Promise<DonationDoc>;
	takeAggregationLease(d: DonationDoc, done: Done, lease: Lease): Promise<boolean>;
	aggregate(d: DonationDoc, sign: Sign): Promise<void>;
	bookRefunded(d: DonationDoc, total: number, generation: number): Promise<void>;
	applyReinstatement(d: DonationDoc, generation: number, stillRefunded: number): Promise<void>;
	creditReinstatement(d: DonationDoc, generation: number, stillRefunded: number): Promise<void>;
	changed(d: DonationDoc): void;
	redrive(everything?: boolean): Promise<number>;
}
type Settings = ServiceSettingSchema & { rest: string };
export type DonationsThis = Service<Settings> & Local & Methods;

const PROVIDERS = ["sandbox", "midtrans", "stripe", "paypal"];
const LIST_PARAMS = {
	limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
	cursor: { type: "string", max: 64, optional: true },
};
const HISTORY_PARAMS = { status: { type: "enum", values: DONATION_STATUSES, optional: true }, ...LIST_PARAMS };

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "donations",
	mixins: [
		DbMixin("donations", [{ fields: "recipientId" }, { fields: "donorId" }, { fields: "paymentId" }, { fields: "effectsDue", sparse: true }]),
		SweeperMixin<DonationsThis>({ name: "redrive", everyMs: (svc) => svc.redriveMs, run: (svc) => svc.redrive() }),
	],
	settings: { rest: "/" },

	actions: {
		/** Start a donation: validates against the streamer's settings and opens a payment. */
		create: {
			rest: "POST /donations",
			status: 201,
			// Never retried by the broker: a second run would make a second donation and payment (clients retry with the same Idempotency-Key).
			retryPolicy: { enabled: false },
			// The Idempotency-Key header: the first response replayed (middlewares/idempotency.ts).
			idempotency: { scope: "donations.create" },
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
			handler(ctx: Ctx<DonationRequest>) {
				return this.createDonation(ctx);
			},
		},

		/** One donation, for its donor or recipient (or an admin). */
		getOne: {
			rest: "GET /donations/:id",
			scopes: ["donations:read"],
			auth: "required",
			permissions: ["donation.party"],
			params: { id: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				// "donation.party" loaded it through `donations.get` (the same view); system calls read it here.
				const checked = loaded(ctx, "donation", ctx.params.id);
				if (checked) return checked;
				const d = await this.store.findById(ctx.params.id);
				if (!d) throw notFound("Donation");
				return donationView(d);
			},
		},

		received: {
			rest: "GET /me/donations/received",
			scopes: ["donations:read"],
			auth: "required",
			params: HISTORY_PARAMS,
			handler(ctx: Ctx<ListParams>) {
				return this.listFor(ctx, "recipientId");
			},
		},

		sent: {
			rest: "GET /me/donations/sent",
			auth: "required",
			params: HISTORY_PARAMS,
			handler(ctx: Ctx<ListParams>) {
				return this.listFor(ctx, "donorId");
			},
		},

		// ---- internal ----

		get: {
			visibility: "public",
			params: { id: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				const d = await this.store.findById(ctx.params.id);
				return d ? donationView(d) : null;
			},
		},

		/** Rebuilds a channel's aggregates from its donations (operators: after a crash mid-update). */
		rebuildAggregates: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ userId: string }>) {
				const owner = ctx.params.userId;
				await this.broker.call("stats.clear", { owner });
				const paid = await this.store.find({ query: { recipientId: owner, status: "paid" }, sort: ["_id"] });
				for (const d of paid) {
					await this.aggregate(d, +1);
					await this.broker.call("stats.forget", { donation: d, sign: +1 });
				}
				return { owner, donations: paid.length };
			},
		},
	},

	channels: {
		"payments.statusChanged": {
			group: "donations",
			async handler(payload: PaymentStatusMessage) {
				await this.applyPaymentStatus(payload.donationId, payload.status, payload.paymentId, payload);
			},
		},
	},

	methods: {
		/** The caller's donations on one side (received or sent), newest first. */
		async listFor(ctx: Ctx<ListParams>, side: "recipientId" | "donorId") {
			const q: Record<string, unknown> = { [side]: ctx.meta.user!.id };
			if (ctx.params.status) q.status = ctx.params.status;
			const page = await this.store.page(q, ctx.params);
			return { items: page.items.map(donationView), nextCursor: page.nextCursor };
		},

		async createDonation(ctx: Ctx<DonationRequest>) {
			const p = ctx.params;
			const signedIn = !!ctx.meta.user;
			const recipient = await ctx.call<Recipient | null, { username: string }>("users.get", { username: p.to.toLowerCase() });
			const problems = donationProblems(p, recipient, signedIn);
			if (problems.length || !recipient) {
				throw new Errors.MoleculerClientError(
					problems[0].message,
					422,
					problems[0].type,
					problems.map((x) => ({ field: x.field, message: x.message, type: x.type })),
				);
			}
			const { providers } = await ctx.call<{ providers: string[] }, Record<string, never>>("payments.providers", {});
			if (!providers.includes(p.provider)) throw invalid("provider", `${p.provider} is not enabled on this server`, "PROVIDER_UNAVAILABLE");
			const doc = newDonation(p, recipient, ctx.meta.user);
			// The payment is opened first: a provider that refuses it (422) or is down (503) leaves nothing stored.
			const payment = await ctx.call<PaymentOpened, ReturnType<typeof paymentRequest>>("payments.create", paymentRequest(doc, p));
			doc.paymentId = payment.id;
			await this.store.insert(doc);
			(ctx.meta as GatewayMeta & { $location?: string }).$location = `/api/donations/${doc._id}`;
			return { donation: donationView(doc), payment: { id: payment.id, provider: payment.provider, status: payment.status, action: payment.action } };
		},

		async applyPaymentStatus(donationId: string, status: string, paymentId?: string, refund: Refund = {}) {
			const now = new Date().toISOString();
			const generation = refund.reinstatements ?? 0;
			if (status === "paid" || status === "refunded" || status === "reversed") {
				// A won dispute starts a new generation of the payment: a message from an older one
				// (a late "reversed" after "paid" again) is stale and changes nothing.
				const seen = await this.store.findById(donationId);
				const known = seen?.reinstatements ?? 0;
				if (seen && generation < known) return;
				if (seen && generation > known) {
					if (status === "paid" && seen.status === "reversed") return this.applyReinstatement(seen, generation, refund.refundedAmount ?? 0);
					await this.store.updateMany({ _id: donationId, ...olderGeneration(generation) }, { $set: { reinstatements: generation } });
				} else if (seen && generation > 0 && status === "paid" && seen.status === "paid") {
					// Redelivered after a crash inside the reinstatement: its credit, if still missing.
					await this.creditReinstatement(seen, generation, refund.refundedAmount ?? 0);
				}
			}
			if (status === "paid" && (refund.refundedAmount ?? 0) > 0) {
				// A partial refund or chargeback: still paid (the paid effects first, if this is the
				// first message to arrive), the refunded part debited.
				await this.applyPaymentStatus(donationId, "paid", paymentId, { reinstatements: generation });
				const d = await this.stored(donationId, paymentId);
				if (d.status === "paid") await this.bookRefunded(d, refund.refundedAmount!, generation);
				return;
			}
			if (status === "paid") {
				// The transition also takes the lease on the aggregate update: the call that made it applies it.
				const claimed = await this.store.updateIf(
					{ _id: donationId, status: "pending" },
					paidUpdate(now, Date.now() + this.aggregationLeaseMs, paymentId),
				);
				const d = await this.stored(donationId, paymentId);
				if (d.status === "paid" || d.status === "refunded" || d.status === "reversed") await this.applyPaidEffects(d, claimed);
				if (d.status === "refunded" || d.status === "reversed") await this.applyReversalEffects(d, false);
			} else if (status === "failed" || status === "expired") {
				if (!(await this.store.updateIf({ _id: donationId, status: "pending" }, { $set: { status: status as DonationStatus, statusAt: now } })))
					await this.stored(donationId, paymentId);
			} else if (status === "refunded" || status === "reversed") {
				const claimed = await this.store.updateIf(
					{ _id: donationId, status: "paid" },
					reversalUpdate(status, now, Date.now() + this.aggregationLeaseMs),
				);
				const d = await this.stored(donationId, paymentId);
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
		async stored(donationId: string, paymentId?: string): Promise<DonationDoc> {
			const d = await this.store.findById(donationId);
			if (!d) throw new Error(`Donation ${donationId} of payment ${paymentId ?? "?"} is not stored (yet)`);
			return d;
		},

		/**
		 * Aggregates (exactly once, see the header: by the lease holder, recorded after applying),
		 * then the ledger credit and the announcement, each at least once and idempotent
		 * downstream, recorded together; `effectsDue` is cleared once the aggregates are done too.
		 */
		async applyPaidEffects(d: DonationDoc, claimedAggregation: boolean) {
			d = await this.applyAggregation(d, +1, claimedAggregation);
			if (d.effects?.credited && d.effects?.announced && d.effects?.aggregationLease === undefined) return;
			if (!d.effects?.credited) await this.broker.call("ledger.credit", { donation: d });
			if (!d.effects?.announced) await this.broker.sendToChannel("donations.paid", { donation: channelView({ ...d, status: "paid" }) });
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
			if (!d.effects?.announced) this.changed(d);
		},

		async applyReversalEffects(d: DonationDoc, claimedAggregation: boolean) {
			d = await this.applyAggregation(d, -1, claimedAggregation);
			if (d.effects?.debited && d.effects?.reversalAnnounced && d.effects?.deaggregationLease === undefined) return;
			// Debits what is not debited yet (a partial refund may have booked part of it already).
			if (!d.effects?.debited) await this.bookRefunded(d, d.amount, d.reinstatements ?? 0);
			if (!d.effects?.reversalAnnounced) await this.broker.sendToChannel("donations.reversed", { donation: channelView(d) });
			const flags = { "effects.debited": true, "effects.reversalAnnounced": true };
			if (
				!(await this.store.updateIf(
					{ _id: d._id, "effects.deaggregated": true },
					{ $set: flags, $unset: { effectsDue: true, "effects.deaggregationLease": true } },
				))
			)
				await this.store.updateMany({ _id: d._id }, { $set: flags });
			if (!d.effects?.reversalAnnounced) this.changed(d);
		},

		/**
		 * Applies (+1) or reverts (-1) a donation in the aggregates, once (see the header): by the
		 * lease holder, recorded after every document was updated, then its markers removed.
		 * Answers the donation with what it recorded.
		 */
		async applyAggregation(d: DonationDoc, sign: Sign, claimed: boolean): Promise<DonationDoc> {
			const done: Done = sign > 0 ? "aggregated" : "deaggregated";
			const lease: Lease = sign > 0 ? "aggregationLease" : "deaggregationLease";
			if (!d.effects?.[done]) {
				if (!claimed && !(await this.takeAggregationLease(d, done, lease))) return d;
				let applied = d;
				if (sign < 0) {
					// Reverted only once applied (never below zero), with the goal it was counted in.
					const fresh = await this.store.findById(d._id);
					if (!fresh?.effects?.aggregated) return d;
					applied = fresh;
				}
				await this.aggregate(applied, sign);
				await this.store.updateMany({ _id: d._id }, { $set: { [`effects.${done}`]: true } });
				d = { ...d, effects: { ...d.effects, [done]: true, [lease]: d.effects?.[lease] ?? Date.now() } };
			}
			if (d.effects?.[lease] !== undefined) await this.broker.call("stats.forget", { donation: d, sign });
			return d;
		},

		/** Takes over the aggregate update of a donation whose lease ran out (its holder died or never took it). */
		takeAggregationLease(d: DonationDoc, done: Done, lease: Lease): Promise<boolean> {
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

		/** Every aggregate document of the donation (stats), then the goal it was counted in, on the donation. */
		async aggregate(d: DonationDoc, sign: Sign) {
			const { goalId } = await this.broker.call<{ goalId: string | null }, { donation: DonationDoc; sign: Sign }>("stats.apply", {
				donation: d,
				sign,
			});
			if (goalId) await this.store.updateMany({ _id: d._id }, { $set: { goalId } });
		},

		/**
		 * Brings the ledger's refunded part of a donation up to `total` (ledger.debitTo books only
		 * the increment, once), then records it on the donation (never lowering it).
		 */
		async bookRefunded(d: DonationDoc, total: number, generation: number) {
			const { refunded, booked } = await this.broker.call<{ refunded: number; booked: number }, Record<string, unknown>>("ledger.debitTo", {
				donation: d,
				total,
				generation,
			});
			for (let i = 0; i < booked; i++) this.changed(d);
			if ((d.refundedAmount ?? 0) < refunded)
				await this.store.updateMany(
					{ _id: d._id, $or: [{ refundedAmount: { $lt: refunded } }, { refundedAmount: { $exists: false } }] },
					{ $set: { refundedAmount: refunded } },
				);
		},

		/**
		 * A won dispute: the reversed donation is paid again. The status change takes the
		 * re-aggregation's lease (as the paid transition does); the ledger gets back what the reversal took,
		 * beyond what stays refunded, once per reinstatement (its key names the generation).
		 */
		async applyReinstatement(d: DonationDoc, generation: number, stillRefunded: number) {
			const now = new Date().toISOString();
			const claimed = await this.store.updateIf(
				{ _id: d._id, status: "reversed", ...olderGeneration(generation) },
				reinstatementUpdate(generation, now, Date.now() + this.aggregationLeaseMs),
			);
			const fresh = await this.stored(d._id, d.paymentId ?? undefined);
			if (fresh.status !== "paid" || (fresh.reinstatements ?? 0) !== generation) return;
			// Counted again through the paid effects (lease, markers, re-drive), so a crash here
			// converges like any paid donation; its credit and announcement are already done.
			await this.applyPaidEffects(fresh, claimed);
			await this.creditReinstatement(fresh, generation, stillRefunded);
		},

		/** The ledger credit of a reinstatement (once per generation), then the refunded part it leaves, on the donation. */
		async creditReinstatement(d: DonationDoc, generation: number, stillRefunded: number) {
			const r = await this.broker.call<{ booked: boolean; refunded: number }, Record<string, unknown>>("ledger.reinstate", {
				donation: d,
				generation,
				stillRefunded,
			});
			if (!r.booked) return;
			await this.store.updateMany({ _id: d._id }, { $set: { refundedAmount: r.refunded } });
			this.changed(d);
		},

		/** The streamer's dashboard refreshes (alerts and the gateway listen). */
		changed(d: DonationDoc) {
			this.broker.broadcast("donations.changed", { recipientId: d.recipientId, recipientUsername: d.recipientUsername });
		},

		/**
		 * Finish what a crash interrupted: effects of paid/reversed donations not yet applied, found
		 * by their `effectsDue` mark. `everything` (on start) also finds donations stored before
		 * that mark existed, with a full scan.
		 */
		async redrive(everything = false) {
			const unfinished = await this.store.find({ query: unfinishedQuery(everything), limit: 500 });
			for (const d of unfinished) {
				try {
					await this.applyPaymentStatus(d._id, d.status, d.paymentId ?? undefined);
				} catch (err) {
					this.logger.warn("Re-drive of donation failed; will retry", d._id, (err as Error).message);
				}
			}
			return unfinished.length;
		},
	},

	events: {
		"$broker.started"() {
			// Channels are connected only once the broker has started: re-drive from here, not started().
			// The full scan for donations stored before the `effectsDue` mark: once on PostgreSQL.
			this.startupRedrive = this.store
				.once("donations 0002 effectsDue marks scan", () => this.redrive(true))
				.then((ran) => (ran ? undefined : this.runSweep("redrive")))
				.catch((err: Error) => this.logger.warn("Re-drive failed", err.message));
		},
	},

	created() {
		this.redriveMs = loadConfig().donations.redriveMs;
		this.aggregationLeaseMs = this.redriveMs;
	},
};

export default schema;
