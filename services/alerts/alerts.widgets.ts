import { newId } from "../../lib/tools/ids";
import { moderate } from "../../lib/domain/moderation";
import { rooms } from "../../lib/domain/rooms";
import { blockedTermsOf } from "../../lib/domain/user-settings";
import { moderatedMessage, shownName } from "../../lib/domain/alerts";
import type { AlertsPart, Ctx, OverlayEventDoc, PaidFor } from "./alerts.types";

/**
 * The events widget (`/overlay/events?token=…`): a channel's latest paid donations and follows,
 * newest first, pushed over the /overlay socket. Each donation or follow is stored once in
 * `overlay_events` (unique `key`, so a redelivered message adds nothing), with the donor's or
 * follower's name and the message moderated like the alert's; the overlay asks for the list when
 * it connects (`events:list`) and gets `events:new` for each one after that.
 */

const KEEP = 20;

export function eventView(e: OverlayEventDoc) {
	return { id: e._id, kind: e.kind, name: e.name, formattedAmount: e.formattedAmount, amount: e.amount, currency: e.currency, message: e.message, at: e.at };
}

const widgets: AlertsPart = {
	actions: {
		/** The events widget's list when it connects (the overlay token's channel). */
		listEvents: {
			socket: "/overlay events:list",
			async handler(ctx: Ctx) {
				const items = await this.recentEvents(ctx.meta.user!.id);
				return { items: items.map(eventView) };
			},
		},
	},

	channels: {
		"social.followed": {
			group: "alerts",
			async handler(payload: { followerId: string; followeeId: string }) {
				const follower = await this.broker.call<{ username: string; displayName?: string } | null, { id: string }>("users.get", {
					id: payload.followerId,
				});
				if (!follower) return;
				const settings = await this.settingsOf(payload.followeeId);
				await this.recordEvent({
					key: `follow:${payload.followerId}:${payload.followeeId}`,
					userId: payload.followeeId,
					kind: "follow",
					name: moderate(follower.displayName || follower.username, blockedTermsOf(settings)).masked,
					formattedAmount: null,
					amount: null,
					currency: null,
					message: null,
					at: new Date().toISOString(),
				});
			},
		},
	},

	methods: {
		async recordDonationEvent(d: PaidFor) {
			const settings = await this.settingsOf(d.recipientId);
			await this.recordEvent({
				key: `donation:${d.id}`,
				userId: d.recipientId,
				kind: "donation",
				name: shownName(d, settings),
				formattedAmount: d.formattedAmount,
				amount: d.amount,
				currency: d.currency,
				message: moderatedMessage(d.originalMessage ?? d.message ?? "", settings) || null,
				at: d.paidAt ?? new Date().toISOString(),
			});
		},

		async recordEvent(ev: Omit<OverlayEventDoc, "_id">) {
			const { doc, created } = await this.stores.overlay_events.insertOrGet({ _id: newId(), ...ev }, { key: ev.key });
			if (!created) return;
			this.pushOverlay([rooms.overlay(ev.userId)], "events:new", eventView(doc));
			// Keep the newest KEEP per channel.
			const old = (await this.stores.overlay_events.find({ query: { userId: ev.userId }, sort: ["-_id"], limit: KEEP + 20 })).slice(KEEP);
			if (old.length) await this.stores.overlay_events.removeMany({ _id: { $in: old.map((o) => o._id) } });
		},

		recentEvents(userId: string) {
			return this.stores.overlay_events.find({ query: { userId }, sort: ["-_id"], limit: KEEP });
		},
	},
};

export default widgets;
