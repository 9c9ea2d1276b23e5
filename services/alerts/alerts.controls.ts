import { newId } from "../../lib/tools/ids";
import { formatMoney } from "../../lib/domain/money";
import { moderate } from "../../lib/domain/moderation";
import { rooms } from "../../lib/domain/rooms";
import { alertView, buildPayload, heldView, orderKey, originalMessage, queueKey, REPLAYABLE, type PaidDonation } from "../../lib/domain/alerts";
import { conflict, invalid, notFound } from "../../lib/tools/errors";
import type { AlertsPart, Ctx } from "./alerts.types";

/**
 * The streamer's controls of the alert queue (see alerts.service.ts): test and replay alerts
 * (queued like any other, so they wait their turn), skip what is on screen, pause and resume,
 * read the queue, and approve or reject held donations. Each state change is a conditional
 * update on the alert's status, so a control racing with the queue changes an alert once.
 */

const controls: AlertsPart = {
	actions: {
		/** Queue a test alert for the caller's overlay. */
		test: {
			rest: "POST /alerts/test",
			scopes: ["alerts:write"],
			status: 202,
			// Never retried by the broker: a second run would make a second test alert.
			retryPolicy: { enabled: false },
			auth: "required",
			params: { message: { type: "string", max: 500, optional: true }, amount: { type: "number", integer: true, min: 1, max: 1e12, optional: true } },
			async handler(ctx: Ctx<{ message?: string; amount?: number }>) {
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
				return { alert: alertView(alert) };
			},
		},

		/** Show a paid donation's alert again. */
		replay: {
			rest: "POST /alerts/:donationId/replay",
			scopes: ["alerts:write"],
			status: 202,
			// Never retried by the broker: a second run would make a second replayed alert.
			retryPolicy: { enabled: false },
			auth: "required",
			params: { donationId: { type: "string", max: 64 }, userId: { type: "string", max: 64, optional: true } },
			async handler(ctx: Ctx<{ donationId: string; userId?: string }>) {
				const owner = ctx.meta.user?.id ?? ctx.params.userId;
				if (!owner) throw notFound("Donation");
				const first = await this.store.findOne({ key: `donation:${ctx.params.donationId}` });
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
				return { alert: alertView(alert) };
			},
		},

		/** Drop the alert on screen and move to the next. */
		skip: {
			rest: "POST /alerts/skip",
			scopes: ["alerts:write"],
			auth: "required",
			async handler(ctx: Ctx) {
				const userId = ctx.meta.user!.id;
				const ch = await this.stores.alert_channels.findById(userId);
				if (!ch?.showing) return { skipped: null };
				const id = ch.showing;
				await this.finish(userId, id, "skipped");
				this.pushOverlay([rooms.overlay(userId)], "alert:skip", { id }, ctx);
				return { skipped: id };
			},
		},

		pause: {
			rest: "POST /alerts/pause",
			scopes: ["alerts:write"],
			auth: "required",
			async handler(ctx: Ctx) {
				await this.ensureChannel(ctx.meta.user!.id);
				await this.stores.alert_channels.updateMany({ _id: ctx.meta.user!.id }, { $set: { paused: true } });
				return this.queueState(ctx.meta.user!.id);
			},
		},

		resume: {
			rest: "POST /alerts/resume",
			scopes: ["alerts:write"],
			auth: "required",
			async handler(ctx: Ctx) {
				await this.ensureChannel(ctx.meta.user!.id);
				await this.stores.alert_channels.updateMany({ _id: ctx.meta.user!.id }, { $set: { paused: false } });
				await this.pump(ctx.meta.user!.id);
				return this.queueState(ctx.meta.user!.id);
			},
		},

		queue: {
			rest: "GET /alerts/queue",
			scopes: ["alerts:write"],
			auth: "required",
			async handler(ctx: Ctx) {
				return this.queueState(ctx.meta.user!.id);
			},
		},

		/** Operators (REPL): a channel's queue by user id. */
		queueState: {
			visibility: "public",
			params: { userId: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ userId: string }>) {
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
			async handler(ctx: Ctx<{ limit?: number; cursor?: string }>) {
				const page = await this.store.page({ heldOf: ctx.meta.user!.id }, ctx.params);
				return { items: page.items.map(heldView), nextCursor: page.nextCursor };
			},
		},

		approve: {
			rest: "POST /alerts/:donationId/approve",
			auth: "required",
			params: { donationId: { type: "string", max: 64 } },
			async handler(ctx: Ctx<{ donationId: string }>) {
				const alert = await this.heldAlert(ctx.meta.user!.id, ctx.params.donationId);
				const settings = await this.settingsOf(alert.userId);
				// An approved message still has its blocked terms masked on stream.
				const message = moderate(originalMessage(alert), settings.moderation.blockedTerms).masked;
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
			async handler(ctx: Ctx<{ donationId: string }>) {
				const alert = await this.heldAlert(ctx.meta.user!.id, ctx.params.donationId);
				await this.store.updateIf(
					{ _id: alert._id, status: "held" },
					{ $set: { status: "rejected", finishedAt: new Date().toISOString() }, $unset: { heldOf: true } },
				);
				return { donationId: ctx.params.donationId, status: "rejected" };
			},
		},
	},

	methods: {
		/** The caller's held alert of a donation; 404 for anyone else's, 422 when it is not held. */
		async heldAlert(userId: string, donationId: string) {
			const alert = await this.store.findOne({ key: `donation:${donationId}` });
			if (!alert || alert.userId !== userId) throw notFound("Held donation");
			if (alert.status !== "held") throw invalid("donationId", `This donation is ${alert.status}, not held`, "NOT_HELD");
			return alert;
		},
	},
};

export default controls;
