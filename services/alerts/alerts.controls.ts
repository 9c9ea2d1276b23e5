import { newId } from "../../lib/tools/ids";
import { formatMoney } from "../../lib/domain/money";
import { rooms } from "../../lib/domain/rooms";
import { loaded } from "../../lib/domain/permissions";
import {
	alertView,
	buildPayload,
	heldView,
	moderatedMessage,
	orderKey,
	originalMessage,
	queueKey,
	REPLAYABLE,
	shownName,
	type PaidDonation,
} from "../../lib/domain/alerts";
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
		/** Queue a test alert for the caller's overlay: a variation's look when one is named, else the look its amount chooses. */
		test: {
			rest: "POST /alerts/test",
			scopes: ["alerts:write"],
			status: 202,
			// Never retried by the broker: a second run would make a second test alert.
			retryPolicy: { enabled: false },
			auth: "required",
			params: {
				message: { type: "string", max: 500, optional: true },
				amount: { type: "number", integer: true, min: 1, max: 1e12, optional: true },
				variationId: { type: "string", min: 1, max: 64, optional: true },
			},
			async handler(ctx: Ctx<{ message?: string; amount?: number; variationId?: string }>) {
				const user = ctx.meta.user!;
				const settings = await this.settingsOf(user.id);
				const currency = settings.donations.currency;
				const variation = ctx.params.variationId ? await this.ownVariation(user.id, ctx.params.variationId) : null;
				const amount = ctx.params.amount ?? (variation?.minAmount || 10_000_00);
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
				const text = moderatedMessage(fake.message, settings);
				const look = await this.lookFor(user.id, fake, shownName(fake, settings), text, settings, variation?._id);
				const alert = await this.enqueue({
					_id: id,
					key: `test:${id}`,
					userId: user.id,
					donationId: null,
					type: "test",
					status: "queued",
					order: orderKey(null, id),
					payload: buildPayload(id, fake, text, settings, "test", look),
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
					message: moderatedMessage(first.payload.message, settings),
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

		/** Held alerts of the caller's channel, or (`username`) of a channel the caller moderates. */
		held: {
			rest: "GET /alerts/held",
			auth: "required",
			permissions: ["channel.moderator"],
			params: {
				limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
				cursor: { type: "string", max: 64, optional: true },
				username: { type: "string", min: 1, max: 25, optional: true },
			},
			async handler(ctx: Ctx<{ limit?: number; cursor?: string; username?: string }>) {
				const owner = await this.channelOwnerId(ctx, ctx.params.username);
				const page = await this.store.page({ heldOf: owner }, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: page.items.map(heldView), nextCursor: page.nextCursor };
			},
		},

		/** Approve a held alert: the channel owner, or (`username`) one of its moderators. */
		approve: {
			rest: "POST /alerts/:donationId/approve",
			auth: "required",
			permissions: ["channel.moderator"],
			params: { donationId: { type: "string", max: 64 }, username: { type: "string", min: 1, max: 25, optional: true } },
			async handler(ctx: Ctx<{ donationId: string; username?: string }>) {
				const alert = await this.heldAlert(await this.channelOwnerId(ctx, ctx.params.username), ctx.params.donationId);
				const settings = await this.settingsOf(alert.userId);
				// An approved message still has its blocked terms masked on stream (and its links per the setting).
				const message = moderatedMessage(originalMessage(alert), settings);
				const speech = alert.payload.tts && !alert.payload.ttsUrl;
				const won = await this.store.updateIf(
					{ _id: alert._id, status: "held" },
					{
						$set: { status: "queued", "payload.message": message, queueKey: queueKey(alert), ...(speech ? { ttsDue: alert.userId } : {}) },
						$unset: { heldOf: true },
					},
				);
				if (won && speech) void this.speak({ ...alert, status: "queued", payload: { ...alert.payload, message } });
				if (won) await this.pump(alert.userId);
				return { donationId: ctx.params.donationId, status: "queued" };
			},
		},

		/** Reject a held alert: the channel owner, or (`username`) one of its moderators. */
		reject: {
			rest: "POST /alerts/:donationId/reject",
			auth: "required",
			permissions: ["channel.moderator"],
			params: { donationId: { type: "string", max: 64 }, username: { type: "string", min: 1, max: 25, optional: true } },
			async handler(ctx: Ctx<{ donationId: string; username?: string }>) {
				const alert = await this.heldAlert(await this.channelOwnerId(ctx, ctx.params.username), ctx.params.donationId);
				await this.store.updateIf(
					{ _id: alert._id, status: "held" },
					{ $set: { status: "rejected", finishedAt: new Date().toISOString() }, $unset: { heldOf: true } },
				);
				return { donationId: ctx.params.donationId, status: "rejected" };
			},
		},
	},

	methods: {
		/**
		 * Whose held alerts a call works on: the caller's own channel, or the channel named by
		 * `username`, which the `channel.moderator` rule has checked the caller moderates (and loaded).
		 */
		async channelOwnerId(ctx: Ctx, username?: string) {
			if (!username) return ctx.meta.user!.id;
			const facts = loaded(ctx, "channel", username.toLowerCase());
			if (facts) return facts.owner.id;
			const owner = await ctx.call<{ id: string } | null, { username: string }>("users.get", { username });
			if (!owner) throw notFound("Channel", "CHANNEL_NOT_FOUND");
			return owner.id;
		},

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
