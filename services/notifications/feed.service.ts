import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { pushToRooms } from "../../mixins/realtime.mixin";
import { newId } from "../../lib/tools/ids";
import { NAMESPACE, rooms } from "../../lib/domain/rooms";
import { eventIdFor, publicDonation } from "../../lib/domain/notify/webhook-event";
import { FEED_EVENT, FEED_RETENTION_MS, feedView, publicPayout, type FeedEventDoc, type FeedEventView } from "../../lib/domain/notify/feed";

/**
 * The channel's event feed for integrations (bots, tools): every gateway serves it on the
 * Socket.IO namespace `/events` (services/gateway/events-namespace.ts) as `event`
 * `{id, type, createdAt, data}`. Types: `donation.paid`, `donation.reversed` (the donations
 * queues), `follow` (`social.followed`) and `payout.paid` (`payouts.paid`, as a queue or as an
 * event, whichever the payouts service sends). Each event is stored first (collection
 * `feed_events`, unique per event id, kept FEED_RETENTION_MS = one hour and pruned by the `prune`
 * sweep), then pushed through `ws.emit` to the room `events:<ownerId>` on every gateway; a socket
 * that reconnects with `auth.since = <last id>` is sent what it missed from the stored rows.
 *
 * Ids are derived from the event's type and subject (lib/domain/notify/webhook-event.ts, the same
 * ids outgoing webhooks carry), so a redelivered message, a second node or a replay give the same
 * id and a bot dedupes on it. Delivery is at least once: a redelivered message is pushed again
 * (the row may exist from a run that crashed before its push).
 */

type Ctx<P = Record<string, unknown>> = Context<P>;
type DonationMsg = { id?: string; recipientId?: string } & Record<string, unknown>;
type PayoutMsg = { id?: string; userId?: string } & Record<string, unknown>;

interface Methods extends SweeperMethods {
	record(type: string, ownerId: string | undefined, subject: string | undefined, data: Record<string, unknown>): Promise<void>;
	onDonation(type: string, donation: DonationMsg | undefined): Promise<void>;
	onPayout(payload: { payout?: PayoutMsg } | PayoutMsg | undefined): Promise<void>;
	prune(): Promise<number>;
}
type Local = DbThis<FeedEventDoc>;
type Settings = ServiceSettingSchema;
type This = Service<Settings> & Local & Methods;

const REPLAY_MAX = 500;
/**
 * A replay from `since` also sends the events stored up to this long before it (the client dedupes
 * them): two nodes' clocks, or two events in one millisecond, may order ids otherwise than they were
 * stored, and a missed event is worse than a repeated one.
 */
const REPLAY_OVERLAP_MS = 2_000;

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "feed",
	mixins: [
		DbMixin("feed_events", [{ fields: "eventId", unique: true }, { fields: "ownerId" }, { fields: "at" }]),
		SweeperMixin<This>({ name: "prune", everyMs: () => 60_000, run: (svc) => svc.prune(), onBrokerStarted: true }),
	],

	actions: {
		/**
		 * The events of `ownerId` after the event `since` (its id; with those of the
		 * REPLAY_OVERLAP_MS before it), oldest first, within the last hour; an unknown or pruned
		 * `since` (or none) gives the whole hour. Asked by the gateway when a socket joins `/events`
		 * with `auth.since`.
		 */
		since: {
			visibility: "public",
			params: { ownerId: { type: "string", min: 1, max: 64 }, since: { type: "string", min: 1, max: 64, optional: true } },
			async handler(ctx: Ctx<{ ownerId: string; since?: string }>): Promise<FeedEventView[]> {
				const floor = Date.now() - FEED_RETENTION_MS;
				const after = ctx.params.since ? await this.store.findOne({ eventId: ctx.params.since, ownerId: ctx.params.ownerId }) : null;
				// From a little before `since`: an event stored just after it on another node may carry an earlier time.
				const from = after ? Math.max(floor, after.at - REPLAY_OVERLAP_MS) : floor;
				const rows = await this.store.find({ query: { ownerId: ctx.params.ownerId, at: { $gte: from } }, sort: ["_id"], limit: REPLAY_MAX + 1 });
				return rows
					.filter((r) => r._id !== after?._id)
					.slice(0, REPLAY_MAX)
					.map(feedView);
			},
		},
	},

	channels: {
		"donations.paid": {
			group: "feed",
			async handler(payload: { donation?: DonationMsg }) {
				await this.onDonation(FEED_EVENT.donationPaid, payload?.donation);
			},
		},
		"donations.reversed": {
			group: "feed",
			async handler(payload: { donation?: DonationMsg }) {
				await this.onDonation(FEED_EVENT.donationReversed, payload?.donation);
			},
		},
		"social.followed": {
			group: "feed",
			async handler(payload: { followerId?: string; followeeId?: string }) {
				if (!payload?.followerId || !payload.followeeId) return;
				const [follower] = await this.broker.call<Array<Record<string, unknown>>, { ids: string[] }>("users.identities", { ids: [payload.followerId] });
				const data = {
					follower: follower ? { username: follower.username, displayName: follower.displayName, avatarUrl: follower.avatarUrl ?? null } : null,
				};
				// One id per follower and channel: following again within the hour is not a second event.
				await this.record(FEED_EVENT.follow, payload.followeeId, `${payload.followerId}:${payload.followeeId}`, data);
			},
		},
		/** The payouts service's announcement, when it sends it as a queue message. */
		"payouts.paid": {
			group: "feed",
			async handler(payload: { payout?: PayoutMsg } | PayoutMsg) {
				await this.onPayout(payload);
			},
		},
	},

	events: {
		/** The same announcement, when the payouts service emits it as an event (the id dedupes both). */
		"payouts.paid": {
			async handler(ctx: Ctx<{ payout?: PayoutMsg } | PayoutMsg>) {
				await this.onPayout(ctx.params);
			},
		},
	},

	methods: {
		async record(type: string, ownerId: string | undefined, subject: string | undefined, data: Record<string, unknown>) {
			if (!ownerId || !subject) return;
			const now = Date.now();
			const doc: FeedEventDoc = {
				_id: newId(now),
				eventId: eventIdFor(type, subject),
				ownerId,
				type,
				at: now,
				createdAt: new Date(now).toISOString(),
				data,
			};
			const { doc: stored } = await this.store.insertOrGet(doc, { eventId: doc.eventId });
			// Pushed on every run: a run that crashed after its insert left it unsent (sockets dedupe on the id).
			pushToRooms(this.broker, [rooms.events(stored.ownerId)], "event", feedView(stored), NAMESPACE.events);
		},

		async onDonation(type: string, donation: DonationMsg | undefined) {
			if (!donation?.id || !donation.recipientId) return;
			await this.record(type, donation.recipientId, donation.id, { donation: publicDonation(donation) });
		},

		async onPayout(payload: { payout?: PayoutMsg } | PayoutMsg | undefined) {
			const payout = (payload && "payout" in payload && payload.payout ? payload.payout : payload) as PayoutMsg | undefined;
			if (!payout?.id) return;
			await this.record(FEED_EVENT.payoutPaid, payout.userId, payout.id, { payout: publicPayout(payout) });
		},

		prune() {
			return this.store.removeMany({ at: { $lt: Date.now() - FEED_RETENTION_MS } });
		},
	},
};

// Typed inside; exported as a plain schema like the other notification services.
export default schema as ServiceSchema;
