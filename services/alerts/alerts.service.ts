import type { ServiceSchema } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { SweeperMixin } from "../../mixins/sweeper.mixin";
import { RealtimeMixin } from "../../mixins/realtime.mixin";
import { loadConfig } from "../../lib/config";
import { newId } from "../../lib/tools/ids";
import { rooms } from "../../lib/domain/rooms";
import { withDefaults } from "../../lib/domain/user-settings";
import {
	ackTimeoutMs,
	alertView,
	buildPayload,
	decide,
	deliveredKind,
	marks,
	orderKey,
	ownerRange,
	shownName,
	UNMARK,
	type AlertDoc,
} from "../../lib/domain/alerts";
import { countAlertDelivered, observePaymentToAlert } from "../../lib/tools/metrics";
import controls from "./alerts.controls";
import variations from "./alerts.variations";
import tts, { setUpSpeech } from "./alerts.tts";
import widgets from "./alerts.widgets";
import type { Ctx, Local, Methods, PaidFor, Settings, This } from "./alerts.types";

/**
 * The per-channel alert queue behind the OBS overlay. Paid donations become alerts (after
 * moderation), shown one at a time in payment order: the next goes out when the overlay sends
 * `alert:done`, an unacknowledged alert is sent again after its display time, and an overlay that
 * connects gets whatever is unfinished. The queue lives in the database, so a restart loses nothing.
 * This file is the queue and its delivery; the streamer's controls (test, replay, skip, pause,
 * resume, held alerts) are in alerts.controls.ts, the rules and views in lib/domain/alerts.ts.
 *
 * "One alert at a time" across any number of alerts instances: the channel document's `showing`
 * field is claimed with a conditional update, so only one instance can put an alert on screen.
 *
 * A queued alert carries `queueKey` (owner and order) and a held one `heldOf` (owner), both
 * sparse indexes: the next alert, the queue depth and the held list read only those rows, however
 * many finished alerts a channel has.
 *
 * Crash recovery: a redelivered `donations.paid` finds its alert by its unique key and changes
 * nothing; the `tick` sweep (every ALERT_TICK_MS, and once when the broker has started) resends
 * alerts whose acknowledgement is overdue (conditional on the old deadline, so one instance
 * resends) and starts queues nobody is driving. Before that first tick, alerts stored before the
 * queue marks existed get them (once per database).
 */

const schema: ServiceSchema<Settings, Methods, Local> = {
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
				{ fields: "ttsDue", sparse: true },
			],
			{
				alert_channels: [{ fields: "showing" }],
				alert_variations: [{ fields: "userId" }],
				overlay_events: [{ fields: "key", unique: true }, { fields: "userId" }],
			},
		),
		SweeperMixin<This>({ name: "tick", everyMs: (svc) => svc.config.tickMs, run: (svc) => svc.tick() }),
		RealtimeMixin,
	],
	settings: { rest: "/" },

	actions: {
		/** The overlay finished showing an alert: the next one goes out. */
		done: {
			socket: "/overlay alert:done",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				const userId = ctx.meta.user!.id;
				await this.finish(userId, ctx.params.id, "done");
				return {};
			},
		},

		/** An overlay connected (called by the gateway): resend what is on screen, or start the queue. */
		overlayConnected: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ userId: string }>) {
				const ch = await this.stores.alert_channels.findById(ctx.params.userId);
				if (ch?.showing) {
					const alert = await this.store.findById(ch.showing);
					if (alert && alert.status === "showing") {
						this.send(alert, true);
						return { resent: alert._id };
					}
				}
				await this.pump(ctx.params.userId);
				return {};
			},
		},

		...controls.actions,
		...variations.actions,
		...widgets.actions,
	},

	channels: {
		"donations.paid": {
			group: "alerts",
			async handler(payload: { donation: PaidFor }) {
				await this.onPaid(payload.donation);
				await this.recordDonationEvent(payload.donation);
			},
		},
		...widgets.channels,
		"donations.reversed": {
			group: "alerts",
			async handler(payload: { donation: { id: string; recipientId: string } }) {
				// Money taken back: an alert not yet on screen is dropped.
				await this.store.updateMany(
					{ donationId: payload.donation.id, status: { $in: ["queued", "held"] } },
					{ $set: { status: "cancelled", finishedAt: new Date().toISOString() }, $unset: UNMARK },
				);
			},
		},
	},

	methods: {
		...controls.methods,
		...variations.methods,
		...tts.methods,
		...widgets.methods,

		async settingsOf(userId: string) {
			const user = await this.broker.call<{ settings?: unknown } | null, { id: string }>("users.get", { id: userId });
			return withDefaults(user?.settings);
		},

		async onPaid(d: PaidFor) {
			const settings = await this.settingsOf(d.recipientId);
			const decision = decide(d, settings);
			const id = newId();
			const look = await this.lookFor(d.recipientId, d, shownName(d, settings), decision.message, settings);
			await this.enqueue({
				_id: id,
				key: `donation:${d.id}`,
				userId: d.recipientId,
				donationId: d.id,
				type: "donation",
				status: decision.status,
				order: orderKey(d.paidAt, d.id),
				payload: buildPayload(id, d, decision.message, settings, "donation", look),
				heldReason: decision.heldReason,
				originalMessage: d.originalMessage ?? d.message,
				...(d.hideName || d.donorDisplayName === undefined ? {} : { originalDonorName: d.donorDisplayName }),
				paidAt: d.paidAt ?? null,
				createdAt: new Date().toISOString(),
			});
		},

		/**
		 * Inserts an alert (a duplicate key means it is already queued: redelivery), starts its speech
		 * when it asks for one (never waited for here), and pumps.
		 */
		async enqueue(fresh: AlertDoc) {
			const wantsSpeech = fresh.status === "queued" && fresh.payload.tts && !fresh.payload.ttsUrl;
			const alert: AlertDoc = { ...fresh, ...marks(fresh), ...(wantsSpeech ? { ttsDue: fresh.userId } : {}) };
			await this.ensureChannel(alert.userId);
			const { doc: stored, created } = await this.store.insertOrGet(alert, { key: alert.key });
			if (created && wantsSpeech) void this.speak(stored);
			if (stored.status === "queued") await this.pump(alert.userId);
			return stored;
		},

		async ensureChannel(userId: string) {
			const channels = this.stores.alert_channels;
			if (await channels.findById(userId)) return;
			await channels.insertOrGet({ _id: userId, paused: false, showing: null, sentAt: null, deadline: null }, { _id: userId });
		},

		/** Puts the next queued alert on screen if nothing is showing and the channel is not paused. */
		async pump(userId: string) {
			const channels = this.stores.alert_channels;
			for (let attempt = 0; attempt < 3; attempt++) {
				const ch = await channels.findById(userId);
				if (!ch || ch.paused || ch.showing) return;
				// Queue keys sort by owner, then payment order: the first in range is the next alert.
				const [next] = await this.store.find({ query: { queueKey: ownerRange(userId) }, sort: ["queueKey"], limit: 1 });
				if (!next) return;
				const now = Date.now();
				const claimed = await channels.updateIf(
					{ _id: userId, showing: null, paused: false },
					{ $set: { showing: next._id, sentAt: now, deadline: now + ackTimeoutMs(next.payload, this.config.ackGraceMs) } },
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
				this.send({ ...(await this.withSpeech(next)), status: "showing", sentAt: now }, false);
				return;
			}
		},

		send(alert: AlertDoc, resend: boolean) {
			this.pushOverlay([rooms.overlay(alert.userId)], "alert", alert.payload);
			if (!resend && alert.paidAt && alert.key.startsWith("donation:")) observePaymentToAlert(this.broker, alert.paidAt);
		},

		/** Marks the showing alert finished (done/skipped) and frees the channel for the next. */
		async finish(userId: string, alertId: string, status: "done" | "skipped") {
			const changed = await this.store.updateIf({ _id: alertId, userId, status: "showing" }, { $set: { status, finishedAt: new Date().toISOString() } });
			if (changed && status === "done") countAlertDelivered(this.broker, deliveredKind(await this.store.findById(alertId)));
			const freed = await this.stores.alert_channels.updateIf(
				{ _id: userId, showing: alertId },
				{ $set: { showing: null, sentAt: null, deadline: null } },
			);
			if (changed || freed) await this.pump(userId);
		},

		/** Resends alerts whose acknowledgement is overdue and starts queues nobody is driving. */
		async tick() {
			const channels = this.stores.alert_channels;
			const now = Date.now();
			const overdue = await channels.find({ query: { showing: { $ne: null }, deadline: { $lt: now } }, limit: 200 });
			for (const ch of overdue) {
				const alert = await this.store.findById(ch.showing!);
				if (!alert || alert.status !== "showing") {
					await channels.updateIf({ _id: ch._id, showing: ch.showing }, { $set: { showing: null, sentAt: null, deadline: null } });
					await this.pump(ch._id);
					continue;
				}
				// Conditional on the old deadline, so of several instances only one resends.
				const won = await channels.updateIf(
					{ _id: ch._id, showing: ch.showing, deadline: ch.deadline },
					{ $set: { sentAt: now, deadline: now + ackTimeoutMs(alert.payload, this.config.ackGraceMs) } },
				);
				if (won) {
					await this.store.updateMany({ _id: alert._id }, { $inc: { sends: 1 }, $set: { sentAt: now } });
					this.send(alert, true);
				}
			}
			const waiting = await this.store.find({ query: { queueKey: { $gt: "" } }, limit: 500 });
			const owners = [...new Set(waiting.map((a) => a.userId))];
			for (const userId of owners) await this.pump(userId);
			await this.redriveSpeech();
		},

		/** Alerts waiting in every channel's queue (the queue depth gauge, read at scrape time). */
		queueDepth() {
			return this.store.count({ queueKey: { $gt: "" } });
		},

		async queueState(userId: string) {
			const ch = await this.stores.alert_channels.findById(userId);
			const current = ch?.showing ? await this.store.findById(ch.showing) : null;
			const queued = await this.store.find({ query: { queueKey: ownerRange(userId) }, sort: ["queueKey"], limit: 100 });
			const held = await this.store.count({ heldOf: userId });
			return { paused: !!ch?.paused, current: current ? alertView(current) : null, queued: queued.map(alertView), depth: queued.length, held };
		},

		/** Queued and held alerts stored before their marks existed get them (a scan on start). */
		async addMarks() {
			const unmarked = await this.store.find({
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
		/** A media file was deleted: variations that used it lose it (their alerts go on without it). */
		"media.removed": {
			async handler(ctx: Ctx<{ id: string; ownerId: string }>) {
				await this.mediaRemoved(ctx.params.id, ctx.params.ownerId);
			},
		},

		async "$broker.started"() {
			// The marks first, so the first tick's queues include alerts stored before them.
			await this.store
				.once("alerts 0002 queue marks scan", () => this.addMarks())
				.catch((err: Error) => this.logger.warn("Marking alerts failed", err.message));
			void this.runSweep("tick");
		},
	},

	created() {
		const cfg = loadConfig();
		this.config = cfg.alerts;
		setUpSpeech(this as unknown as This, cfg.tts);
	},

	async stopped() {
		await this.ttsEngine.close?.();
	},
};

export default schema;
