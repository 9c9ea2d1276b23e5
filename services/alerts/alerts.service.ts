import type { Context, ServiceSchema } from "moleculer";
import { DbMixin, type Collection } from "../../mixins/db.mixin";
import { newId } from "../../lib/tools/ids";
import { formatMoney } from "../../lib/domain/money";
import { moderate } from "../../lib/domain/moderation";
import { withDefaults, type UserSettings } from "../../lib/domain/user-settings";
import { ackTimeoutMs, buildPayload, decide, orderKey, type AlertPayload, type PaidDonation } from "../../lib/domain/alerts";
import { conflict, isDuplicateKey, notFound, invalid } from "../../lib/tools/errors";
import { countAlertDelivered, observePaymentToAlert } from "../../lib/tools/metrics";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * The per-channel alert queue behind the OBS overlay. Paid donations become alerts (after
 * moderation), shown one at a time in payment order: the next goes out when the overlay sends
 * `alert:done`, an unacknowledged alert is sent again after its display time, and an overlay that
 * connects gets whatever is unfinished. The queue lives in the database, so a restart loses nothing.
 *
 * "One alert at a time" across any number of alerts instances: the channel document's `showing`
 * field is claimed with a conditional update, so only one instance can put an alert on screen.
 *
 * A queued alert carries `queueKey` (owner and order) and a held one `heldOf` (owner), both
 * sparse indexes: the next alert, the queue depth and the held list read only those rows, however
 * many finished alerts a channel has.
 */

type AlertStatus = "queued" | "showing" | "done" | "skipped" | "held" | "rejected" | "cancelled";

interface AlertDoc {
	_id: string;
	key: string;
	userId: string;
	donationId: string | null;
	type: "donation" | "test";
	status: AlertStatus;
	order: string;
	payload: AlertPayload;
	heldReason?: string | null;
	/** The donor's message before masking (held alerts show it to the streamer). */
	originalMessage?: string;
	/** The donor name before masking, likewise (absent when the name is hidden). */
	originalDonorName?: string;
	/** Alerts stored by earlier versions kept the whole donation. */
	original?: PaidDonation;
	/** `<userId>:<order>` while queued (sparse index). */
	queueKey?: string;
	/** The owner's id while held (sparse index). */
	heldOf?: string;
	sentAt?: number | null;
	sends?: number;
	paidAt?: string | null;
	createdAt: string;
	finishedAt?: string | null;
}

interface ChannelDoc {
	_id: string;
	paused: boolean;
	showing: string | null;
	sentAt: number | null;
	deadline: number | null;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

const ACK_GRACE_MS = Number(process.env.ALERT_ACK_GRACE_MS || 5_000);

const queueKey = (a: Pick<AlertDoc, "userId" | "order">) => `${a.userId}:${a.order}`;
/** Every queue key of one owner (":" sorts just before ";"). */
const ownerRange = (userId: string) => ({ $gte: `${userId}:`, $lt: `${userId};` });
/** The sparse marks of an alert in its current status. */
function marks(a: AlertDoc): Partial<AlertDoc> {
	if (a.status === "queued") return { queueKey: queueKey(a) };
	if (a.status === "held") return { heldOf: a.userId };
	return {};
}
const UNMARK = { queueKey: true, heldOf: true };
/** Alerts that passed moderation: the ones a streamer may show again. */
const REPLAYABLE: AlertStatus[] = ["queued", "showing", "done", "skipped"];
const TICK_MS = Number(process.env.ALERT_TICK_MS || 1_000);

const schema: ServiceSchema<any> = {
	name: "alerts",
	mixins: [
		DbMixin(
			"alerts",
			[
				{ fields: "key", unique: true },
				{ fields: "userId" },
				{ fields: "donationId" },
				{ fields: "queueKey", sparse: true },
				{ fields: "heldOf", sparse: true },
			],
			{
				alert_channels: [{ fields: "showing" }],
			},
		),
	],
	settings: { rest: "/" },

	actions: {
		/** The overlay finished showing an alert: the next one goes out. */
		done: {
			socket: "/overlay alert:done",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const userId = ctx.meta.user!.id;
				await this.finish(userId, ctx.params.id, "done");
				return {};
			},
		},

		/** An overlay connected (called by the gateway): resend what is on screen, or start the queue. */
		overlayConnected: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ userId: string }>) {
				const ch: ChannelDoc | null = await this.stores.alert_channels.findById(ctx.params.userId);
				if (ch?.showing) {
					const alert: AlertDoc | null = await this.store.findById(ch.showing);
					if (alert && alert.status === "showing") {
						await this.send(alert, true);
						return { resent: alert._id };
					}
				}
				await this.pump(ctx.params.userId);
				return {};
			},
		},

		/** Queue a test alert for the caller's overlay. */
		test: {
			rest: "POST /alerts/test",
			status: 202,
			// Never retried by the broker: a second run would make a second test alert.
			retryPolicy: { enabled: false },
			auth: "required",
			params: { message: { type: "string", max: 500, optional: true }, amount: { type: "number", integer: true, min: 1, max: 1e12, optional: true } },
			async handler(this: any, ctx: Ctx<{ message?: string; amount?: number }>) {
				const user = ctx.meta.user!;
				const settings = await this.settingsOf(user.id);
				const currency = settings.donations.currency;
				const amount = ctx.params.amount ?? 10_000_00;
				const fake: PaidDonation = {
					id: newId(),
					donorName: "MediaShar",
					amount,
					currency,
					formattedAmount: formatMoney(amount, currency),
					message: ctx.params.message ?? "This is a test alert",
					createdAt: new Date().toISOString(),
				};
				const id = newId();
				const text = moderate(fake.message, settings.moderation.blockedTerms).masked;
				const alert = await this.enqueue({
					_id: id,
					key: `test:${id}`,
					userId: user.id,
					donationId: null,
					type: "test",
					status: "queued",
					order: orderKey(null, id),
					payload: buildPayload(id, fake, text, settings, "test"),
					createdAt: new Date().toISOString(),
				});
				return { alert: this.view(alert) };
			},
		},

		/** Show a paid donation's alert again. */
		replay: {
			rest: "POST /alerts/:donationId/replay",
			status: 202,
			// Never retried by the broker: a second run would make a second replayed alert.
			retryPolicy: { enabled: false },
			auth: "required",
			params: { donationId: { type: "string", max: 64 }, userId: { type: "string", max: 64, optional: true } },
			async handler(this: any, ctx: Ctx<{ donationId: string; userId?: string }>) {
				const owner = ctx.meta.user?.id ?? ctx.params.userId;
				if (!owner) throw notFound("Donation");
				const first: AlertDoc | null = await this.store.findOne({ key: `donation:${ctx.params.donationId}` });
				if (!first || first.userId !== owner) throw notFound("Donation");
				// Only what already passed moderation (never a held, rejected or cancelled alert), and
				// only while the money is still paid.
				if (!REPLAYABLE.includes(first.status))
					throw conflict(`A ${first.status} alert cannot be replayed`, "NOT_REPLAYABLE", { status: first.status });
				const donation = await ctx.call<{ status: string } | null, { id: string }>("donations.get", { id: ctx.params.donationId });
				if (donation?.status !== "paid")
					throw conflict("Only a paid donation can be shown on the overlay", "DONATION_NOT_PAID", { status: donation?.status ?? null });
				// Masked again with today's blocked terms.
				const settings = await this.settingsOf(owner);
				const id = newId();
				const payload = {
					...first.payload,
					id,
					message: moderate(first.payload.message, settings.moderation.blockedTerms).masked,
					createdAt: new Date().toISOString(),
				};
				const alert = await this.enqueue({
					_id: id,
					key: `replay:${ctx.params.donationId}:${id}`,
					userId: owner,
					donationId: ctx.params.donationId,
					type: "donation",
					status: "queued",
					order: orderKey(null, id),
					payload,
					createdAt: new Date().toISOString(),
				});
				return { alert: this.view(alert) };
			},
		},

		/** Drop the alert on screen and move to the next. */
		skip: {
			rest: "POST /alerts/skip",
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				const userId = ctx.meta.user!.id;
				const ch: ChannelDoc | null = await this.stores.alert_channels.findById(userId);
				if (!ch?.showing) return { skipped: null };
				const id = ch.showing;
				await this.finish(userId, id, "skipped");
				ctx.broadcast("ws.emit", { namespace: "/overlay", rooms: [`overlay:${userId}`], event: "alert:skip", data: { id } });
				return { skipped: id };
			},
		},

		pause: {
			rest: "POST /alerts/pause",
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				await this.ensureChannel(ctx.meta.user!.id);
				await this.stores.alert_channels.updateMany({ _id: ctx.meta.user!.id }, { $set: { paused: true } });
				return this.queueState(ctx.meta.user!.id);
			},
		},

		resume: {
			rest: "POST /alerts/resume",
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				await this.ensureChannel(ctx.meta.user!.id);
				await this.stores.alert_channels.updateMany({ _id: ctx.meta.user!.id }, { $set: { paused: false } });
				await this.pump(ctx.meta.user!.id);
				return this.queueState(ctx.meta.user!.id);
			},
		},

		queue: {
			rest: "GET /alerts/queue",
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				return this.queueState(ctx.meta.user!.id);
			},
		},

		/** Operators (REPL): a channel's queue by user id. */
		queueState: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ userId: string }>) {
				return this.queueState(ctx.params.userId);
			},
		},

		held: {
			rest: "GET /alerts/held",
			auth: "required",
			params: {
				limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(this: any, ctx: Ctx<{ limit?: number; cursor?: string }>) {
				const page = await this.store.page({ heldOf: ctx.meta.user!.id }, ctx.params);
				return { items: page.items.map((a: AlertDoc) => this.heldView(a)), nextCursor: page.nextCursor };
			},
		},

		approve: {
			rest: "POST /alerts/:donationId/approve",
			auth: "required",
			params: { donationId: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ donationId: string }>) {
				const alert = await this.heldAlert(ctx.meta.user!.id, ctx.params.donationId);
				const settings = await this.settingsOf(alert.userId);
				// An approved message still has its blocked terms masked on stream.
				const message = moderate(this.originalMessage(alert), settings.moderation.blockedTerms).masked;
				const won = await this.store.updateIf(
					{ _id: alert._id, status: "held" },
					{ $set: { status: "queued", "payload.message": message, queueKey: queueKey(alert) }, $unset: { heldOf: true } },
				);
				if (won) await this.pump(alert.userId);
				return { donationId: ctx.params.donationId, status: "queued" };
			},
		},

		reject: {
			rest: "POST /alerts/:donationId/reject",
			auth: "required",
			params: { donationId: { type: "string", max: 64 } },
			async handler(this: any, ctx: Ctx<{ donationId: string }>) {
				const alert = await this.heldAlert(ctx.meta.user!.id, ctx.params.donationId);
				await this.store.updateIf(
					{ _id: alert._id, status: "held" },
					{ $set: { status: "rejected", finishedAt: new Date().toISOString() }, $unset: { heldOf: true } },
				);
				return { donationId: ctx.params.donationId, status: "rejected" };
			},
		},
	},

	channels: {
		"donations.paid": {
			group: "alerts",
			async handler(this: any, payload: { donation: PaidDonation & { recipientId: string } }) {
				await this.onPaid(payload.donation);
			},
		},
		"donations.reversed": {
			group: "alerts",
			async handler(this: any, payload: { donation: { id: string; recipientId: string } }) {
				// Money taken back: an alert not yet on screen is dropped.
				await this.store.updateMany(
					{ donationId: payload.donation.id, status: { $in: ["queued", "held"] } },
					{ $set: { status: "cancelled", finishedAt: new Date().toISOString() }, $unset: UNMARK },
				);
			},
		},
	},

	methods: {
		async settingsOf(this: any, userId: string): Promise<UserSettings> {
			const user = await this.broker.call("users.get", { id: userId });
			return withDefaults(user?.settings);
		},

		async onPaid(this: any, d: PaidDonation & { recipientId: string }) {
			const settings = await this.settingsOf(d.recipientId);
			const decision = decide(d, settings);
			const id = newId();
			await this.enqueue({
				_id: id,
				key: `donation:${d.id}`,
				userId: d.recipientId,
				donationId: d.id,
				type: "donation",
				status: decision.status,
				order: orderKey(d.paidAt, d.id),
				payload: buildPayload(id, d, decision.message, settings),
				heldReason: decision.heldReason,
				originalMessage: d.originalMessage ?? d.message,
				...(d.hideName || d.donorDisplayName === undefined ? {} : { originalDonorName: d.donorDisplayName }),
				paidAt: d.paidAt ?? null,
				createdAt: new Date().toISOString(),
			});
		},

		/** Inserts an alert (a duplicate key means it is already queued: redelivery) and pumps. */
		async enqueue(this: any, fresh: AlertDoc): Promise<AlertDoc> {
			const alert: AlertDoc = { ...fresh, ...marks(fresh) };
			await this.ensureChannel(alert.userId);
			let stored = alert;
			try {
				await this.store.insert(alert);
			} catch (err) {
				if (!isDuplicateKey(err)) throw err;
				stored = (await this.store.findOne({ key: alert.key })) ?? alert;
			}
			if (stored.status === "queued") await this.pump(alert.userId);
			return stored;
		},

		async ensureChannel(this: any, userId: string) {
			const channels: Collection<any> = this.stores.alert_channels;
			if (await channels.findById(userId)) return;
			try {
				await channels.insert({ _id: userId, paused: false, showing: null, sentAt: null, deadline: null });
			} catch (err) {
				if (!isDuplicateKey(err)) throw err;
			}
		},

		/** Puts the next queued alert on screen if nothing is showing and the channel is not paused. */
		async pump(this: any, userId: string) {
			const channels: Collection<any> = this.stores.alert_channels;
			for (let attempt = 0; attempt < 3; attempt++) {
				const ch: ChannelDoc | null = await channels.findById(userId);
				if (!ch || ch.paused || ch.showing) return;
				// Queue keys sort by owner, then payment order: the first in range is the next alert.
				const [next]: AlertDoc[] = await this.store.find({ query: { queueKey: ownerRange(userId) }, sort: ["queueKey"], limit: 1 });
				if (!next) return;
				const now = Date.now();
				const claimed = await channels.updateIf(
					{ _id: userId, showing: null, paused: false },
					{ $set: { showing: next._id, sentAt: now, deadline: now + ackTimeoutMs(next.payload, ACK_GRACE_MS) } },
				);
				if (!claimed) return;
				const moved = await this.store.updateIf(
					{ _id: next._id, status: "queued" },
					{ $set: { status: "showing", sentAt: now, sends: 1 }, $unset: { queueKey: true } },
				);
				if (!moved) {
					// Cancelled or approved elsewhere in between: release the slot and look again.
					await channels.updateIf({ _id: userId, showing: next._id }, { $set: { showing: null, sentAt: null, deadline: null } });
					continue;
				}
				await this.send({ ...next, status: "showing", sentAt: now }, false);
				return;
			}
		},

		async send(this: any, alert: AlertDoc, resend: boolean) {
			this.broker.broadcast("ws.emit", { namespace: "/overlay", rooms: [`overlay:${alert.userId}`], event: "alert", data: alert.payload });
			if (!resend && alert.paidAt && alert.key.startsWith("donation:")) observePaymentToAlert(this.broker, alert.paidAt);
		},

		/** Marks the showing alert finished (done/skipped) and frees the channel for the next. */
		async finish(this: any, userId: string, alertId: string, status: "done" | "skipped") {
			const changed = await this.store.updateIf({ _id: alertId, userId, status: "showing" }, { $set: { status, finishedAt: new Date().toISOString() } });
			if (changed && status === "done") {
				const alert: AlertDoc | null = await this.store.findById(alertId);
				const kind =
					alert?.type === "test" ? "test" : alert?.key.startsWith("replay:") ? "replay" : alert?.payload.mediaUrl ? "mediashare" : "donation";
				countAlertDelivered(this.broker, kind);
			}
			const freed = await this.stores.alert_channels.updateIf(
				{ _id: userId, showing: alertId },
				{ $set: { showing: null, sentAt: null, deadline: null } },
			);
			if (changed || freed) await this.pump(userId);
		},

		/** Resends alerts whose acknowledgement is overdue and starts queues nobody is driving. */
		async tick(this: any) {
			const channels: Collection<any> = this.stores.alert_channels;
			const now = Date.now();
			const overdue: ChannelDoc[] = await channels.find({ query: { showing: { $ne: null }, deadline: { $lt: now } }, limit: 200 });
			for (const ch of overdue) {
				const alert: AlertDoc | null = await this.store.findById(ch.showing!);
				if (!alert || alert.status !== "showing") {
					await channels.updateIf({ _id: ch._id, showing: ch.showing }, { $set: { showing: null, sentAt: null, deadline: null } });
					await this.pump(ch._id);
					continue;
				}
				// Conditional on the old deadline, so of several instances only one resends.
				const won = await channels.updateIf(
					{ _id: ch._id, showing: ch.showing, deadline: ch.deadline },
					{ $set: { sentAt: now, deadline: now + ackTimeoutMs(alert.payload, ACK_GRACE_MS) } },
				);
				if (won) {
					await this.store.updateMany({ _id: alert._id }, { $inc: { sends: 1 }, $set: { sentAt: now } });
					await this.send(alert, true);
				}
			}
			const waiting: AlertDoc[] = await this.store.find({ query: { queueKey: { $gt: "" } }, limit: 500 });
			const owners = [...new Set(waiting.map((a) => a.userId))];
			for (const userId of owners) await this.pump(userId);
		},

		/** Alerts waiting in every channel's queue (the queue depth gauge, read at scrape time). */
		queueDepth(this: any): Promise<number> {
			return this.store.count({ queueKey: { $gt: "" } });
		},

		async queueState(this: any, userId: string) {
			const ch: ChannelDoc | null = await this.stores.alert_channels.findById(userId);
			const current: AlertDoc | null = ch?.showing ? await this.store.findById(ch.showing) : null;
			const queued: AlertDoc[] = await this.store.find({ query: { queueKey: ownerRange(userId) }, sort: ["queueKey"], limit: 100 });
			const held = await this.store.count({ heldOf: userId });
			return { paused: !!ch?.paused, current: current ? this.view(current) : null, queued: queued.map((a) => this.view(a)), depth: queued.length, held };
		},

		async heldAlert(this: any, userId: string, donationId: string): Promise<AlertDoc> {
			const alert: AlertDoc | null = await this.store.findOne({ key: `donation:${donationId}` });
			if (!alert || alert.userId !== userId) throw notFound("Held donation");
			if (alert.status !== "held") throw invalid("donationId", `This donation is ${alert.status}, not held`, "NOT_HELD");
			return alert;
		},

		view(a: AlertDoc) {
			return {
				id: a._id,
				donationId: a.donationId,
				type: a.type,
				status: a.status,
				donorName: a.payload.donorName,
				formattedAmount: a.payload.formattedAmount,
				amount: a.payload.amount,
				currency: a.payload.currency,
				message: a.payload.message,
				mediaUrl: a.payload.mediaUrl ?? null,
				sends: a.sends ?? 0,
				createdAt: a.createdAt,
			};
		},

		heldView(this: any, a: AlertDoc) {
			return {
				...this.view(a),
				heldReason: a.heldReason ?? null,
				originalMessage: this.originalMessage(a),
				originalDonorName: a.originalDonorName ?? a.payload.donorName,
			};
		},

		originalMessage(a: AlertDoc): string {
			return a.originalMessage ?? a.original?.originalMessage ?? a.payload.message;
		},

		/** Queued and held alerts stored before their marks existed get them (a scan on start). */
		async addMarks(this: any) {
			const unmarked: AlertDoc[] = await this.store.find({
				query: {
					$or: [
						{ status: "queued", queueKey: { $exists: false } },
						{ status: "held", heldOf: { $exists: false } },
					],
				},
			});
			for (const a of unmarked) await this.store.updateIf({ _id: a._id, status: a.status }, { $set: marks(a) });
			if (unmarked.length) this.logger.info(`Marked ${unmarked.length} queued/held alert(s) stored before the queue marks`);
		},
	},

	events: {
		async "$broker.started"(this: any) {
			await this.store
				.once("alerts 0002 queue marks scan", () => this.addMarks())
				.catch((err: Error) => this.logger.warn("Marking alerts failed", err.message));
			void this.tick().catch((err: Error) => this.logger.warn("Alert tick failed", err.message));
		},
	},

	started(this: any) {
		this.timer = setInterval(() => {
			if (this.ticking) return;
			this.ticking = true;
			this.tick()
				.catch((err: Error) => this.logger.warn("Alert tick failed", err.message))
				.finally(() => (this.ticking = false));
		}, TICK_MS);
		this.timer.unref();
	},

	stopped(this: any) {
		clearInterval(this.timer);
	},
};

export default schema;
