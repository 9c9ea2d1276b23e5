import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type Collection, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { RealtimeMixin, type RealtimeMethods } from "../../mixins/realtime.mixin";
import { rooms } from "../../lib/domain/rooms";
import { newId } from "../../lib/tools/ids";
import { loadConfig } from "../../lib/config";
import { notFound } from "../../lib/tools/errors";
import {
	commentDrafts,
	dmDraft,
	donationDraft,
	followDraft,
	likeGroupKey,
	likeTitle,
	mentionDrafts,
	payoutDraft,
	type PayoutLike,
	type Actor,
	type CommentMsg,
	type DmMsg,
	type DonationLike,
	type Draft,
	type MentionMsg,
	notificationView,
	type LikeGroup,
	type NotificationView,
} from "../../lib/domain/notify/render";
import { notificationEmail } from "../../lib/domain/notify/mail-templates";
import { donationReceiptMail, receiptKey } from "../../lib/domain/notify/receipt-mail";
import { recipientWantsEmail, type Recipient } from "../../lib/domain/notify/email-prefs";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Each user's inbox. Fed by channel messages (donations, follows, comments, likes, chat mentions
 * and DMs); every row carries the unique `sourceKey` of the message that made it, so a
 * redelivered message changes nothing. New rows are pushed live as `notification` to room
 * `user:<id>` on every gateway node, and emailed when the user opted in for that type
 * (`settings.email[type]`). The email step is recorded on the row (`emailState`) and re-driven by
 * a sweep, so a crash between "stored" and "emailed" delays the email instead of losing it.
 * Likes on one target within LIKE_GROUP_WINDOW_MS share one notification.
 *
 * Two sparse marks keep the busy queries small however large an inbox grows: `unreadOf` (the
 * owner's id, present while unread) answers the unread count and list, and `emailDue` (present
 * while an email step is pending) is what the sweep reads.
 */

interface NotificationDoc {
	_id: string;
	userId: string;
	type: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	read: boolean;
	/** The owner's id while unread (sparse index): unread counts read only unread rows. */
	unreadOf?: string;
	sourceKey: string;
	group?: LikeGroup;
	/** Like groups: likes arriving before this time (ms) join the group. */
	openUntil?: number;
	emailState: "pending" | "done" | "skipped";
	emailDueAt: number;
	/** emailDueAt while the email step is pending (sparse index), for the sweep. */
	emailDue?: number;
	createdAt: string;
	updatedAt: string;
}

/** One (liker, target) contribution to a like group: leased while counted, `done` after. */
interface SourceDoc {
	_id: string;
	at: number;
	done?: boolean;
	leaseUntil: number;
}

interface LikeMsg {
	userId: string;
	targetType: string;
	targetId: string;
	targetOwnerId: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

interface Local extends DbThis<NotificationDoc, { notification_sources: Collection<SourceDoc> }> {
	likeWindowMs: number;
	emailGraceMs: number;
	sweepMs: number;
	publicUrl: string;
}
interface Methods extends SweeperMethods, RealtimeMethods {
	view(n: NotificationDoc): NotificationView;
	actors(ids: string[]): Promise<Actor[]>;
	deliver(draft: Draft): Promise<void>;
	recipient(userId: string): Promise<Recipient | null>;
	emailFields(user: Recipient | null, type: string, nowMs: number): Pick<NotificationDoc, "emailState" | "emailDueAt" | "emailDue">;
	deliverLike(msg: LikeMsg): Promise<void>;
	contributeLike(msg: LikeMsg, key: string, name: string, recipient: Recipient | null): Promise<void>;
	pushNotification(doc: NotificationDoc): void;
	pushUnread(userId: string): Promise<void>;
	unread(userId: string): Promise<number>;
	emailStep(doc: NotificationDoc, known?: Recipient | null): Promise<void>;
	sendReceipt(donation: DonationLike & { paidAt?: string | null }): Promise<void>;
	addMarks(): Promise<void>;
	sweep(): Promise<void>;
}
type Settings = ServiceSettingSchema & { rest: string };
type This = Service<Settings> & Local & Methods;

const ID = { type: "string", min: 1, max: 64 };
/** How long one delivery of a like may take before a redelivery takes over. */
const LIKE_LEASE_MS = 10_000;
const READ = { $set: { read: true }, $unset: { unreadOf: true } };

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "notifications",
	mixins: [
		RealtimeMixin,
		SweeperMixin<This>({ name: "email", everyMs: (svc) => svc.sweepMs, run: (svc) => svc.sweep() }),
		DbMixin(
			"notifications",
			[{ fields: "sourceKey", unique: true }, { fields: "userId" }, { fields: "unreadOf", sparse: true }, { fields: "emailDue", sparse: true }],
			{
				notification_sources: [],
			},
		),
	],
	settings: { rest: "/" },

	actions: {
		/** The caller's inbox, newest first; `unread=true` for unread only. */
		list: {
			rest: "GET /notifications",
			auth: "required",
			params: {
				unread: { type: "boolean", convert: true, optional: true },
				limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(ctx: Ctx<{ unread?: boolean; limit?: number; cursor?: string }>) {
				const userId = ctx.meta.user!.id;
				const query: Record<string, unknown> = ctx.params.unread ? { unreadOf: userId } : { userId };
				const page = await this.store.page(query, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: page.items.map((n) => this.view(n)), nextCursor: page.nextCursor };
			},
		},

		/** Mark one notification read (only the caller's own; anything else is 404). */
		markRead: {
			rest: "POST /notifications/:id/read",
			auth: "required",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const userId = ctx.meta.user!.id;
				const doc = await this.store.findOne({ _id: ctx.params.id, userId });
				if (!doc) throw notFound("Notification");
				if (!doc.read && (await this.store.updateIf({ _id: doc._id, userId, read: false }, READ))) await this.pushUnread(userId);
				return this.view({ ...doc, read: true });
			},
		},

		/** Mark the whole inbox read. */
		markAllRead: {
			rest: "POST /notifications/read-all",
			auth: "required",
			async handler(ctx: Ctx) {
				const userId = ctx.meta.user!.id;
				const updated = await this.store.updateMany({ unreadOf: userId }, READ);
				if (updated > 0) await this.pushUnread(userId);
				return { updated };
			},
		},

		/** `{count}` of unread notifications. */
		unreadCount: {
			rest: "GET /notifications/unread-count",
			auth: "required",
			async handler(ctx: Ctx) {
				return { count: await this.unread(ctx.meta.user!.id) };
			},
		},
	},

	channels: {
		"donations.paid": {
			group: "notifications",
			async handler(payload: { donation: DonationLike }) {
				if (payload?.donation?.recipientId) await this.deliver(donationDraft("paid", payload.donation));
				if (payload?.donation?.donorId) await this.sendReceipt(payload.donation);
			},
		},
		"donations.reversed": {
			group: "notifications",
			async handler(payload: { donation: DonationLike }) {
				if (payload?.donation?.recipientId) await this.deliver(donationDraft("reversed", payload.donation));
			},
		},
		"social.followed": {
			group: "notifications",
			async handler(payload: { followerId: string; followeeId: string }) {
				const [actor] = await this.actors([payload.followerId]);
				if (actor) await this.deliver(followDraft(actor, payload.followeeId));
			},
		},
		"social.commented": {
			group: "notifications",
			async handler(payload: CommentMsg) {
				const [actor] = await this.actors([payload.userId]);
				if (!actor) return;
				for (const draft of commentDrafts(payload, actor)) await this.deliver(draft);
			},
		},
		"social.liked": {
			group: "notifications",
			async handler(payload: { userId: string; targetType: string; targetId: string; targetOwnerId: string }) {
				await this.deliverLike(payload);
			},
		},
		"chat.mentioned": {
			group: "notifications",
			async handler(payload: MentionMsg) {
				for (const draft of mentionDrafts(payload)) await this.deliver(draft);
			},
		},
		"payouts.paid": {
			group: "notifications",
			async handler(payload: { payout: PayoutLike }) {
				if (payload?.payout?.userId) await this.deliver(payoutDraft("paid", payload.payout));
			},
		},
		"payouts.failed": {
			group: "notifications",
			async handler(payload: { payout: PayoutLike }) {
				if (payload?.payout?.userId) await this.deliver(payoutDraft("failed", payload.payout));
			},
		},
		"chat.dm": {
			group: "notifications",
			async handler(payload: DmMsg) {
				if (payload?.to && payload.to !== payload.from?.id) await this.deliver(dmDraft(payload));
			},
		},
	},

	methods: {
		view(n: NotificationDoc) {
			return notificationView(n);
		},

		async actors(ids: string[]): Promise<Actor[]> {
			const list = await this.broker.call<Actor[], { ids: string[] }>("users.identities", { ids });
			return ids
				.map((id) => list.find((u) => u.id === id))
				.filter((u): u is Actor => !!u)
				.map((u) => ({ id: u.id, username: u.username, displayName: u.displayName }));
		},

		/** Stores a draft once (unique sourceKey), pushes it live, then runs the email step. */
		async deliver(draft: Draft) {
			const now = new Date().toISOString();
			const recipient = await this.recipient(draft.userId);
			const doc: NotificationDoc = {
				_id: newId(),
				...draft,
				read: false,
				unreadOf: draft.userId,
				...this.emailFields(recipient, draft.type, Date.now()),
				createdAt: now,
				updatedAt: now,
			};
			const { doc: stored, created } = await this.store.insertOrGet(doc, { sourceKey: draft.sourceKey });
			if (!created) {
				// Redelivery: the row exists; finish its email step if a crash interrupted it.
				if (stored.emailState === "pending") await this.emailStep(stored);
				return;
			}
			this.pushNotification(doc);
			if (doc.emailState === "pending") await this.emailStep(doc, recipient);
		},

		/** The recipient as the email step needs it (null: unknown user). */
		recipient(userId: string) {
			return this.broker.call<Recipient | null, { id: string }>("users.get", { id: userId });
		},

		/**
		 * A new row's email fields: pending (with its `emailDue` mark) when the recipient wants this
		 * type by email, else skipped at once, which saves the row a second write.
		 */
		emailFields(user: Recipient | null, type: string, nowMs: number): Pick<NotificationDoc, "emailState" | "emailDueAt" | "emailDue"> {
			const emailDueAt = nowMs + this.emailGraceMs;
			return recipientWantsEmail(user, type) ? { emailState: "pending", emailDueAt, emailDue: emailDueAt } : { emailState: "skipped", emailDueAt };
		},

		/** Likes on one target inside one window share a notification ("alice and 4 others…"). */
		async deliverLike(msg: LikeMsg) {
			if (!msg?.targetOwnerId || msg.userId === msg.targetOwnerId) return;
			const [actor] = await this.actors([msg.userId]);
			const name = actor ? actor.displayName || actor.username : "Someone";
			const key = likeGroupKey(msg.targetOwnerId, msg.targetType, msg.targetId);
			const recipient = await this.recipient(msg.targetOwnerId);
			// One notification contribution per (liker, target), whatever the redeliveries or re-likes.
			// The source row holds a short lease while the like is being counted and is marked done
			// after: a redelivery during the lease waits (the channel retries it), one after a failure
			// takes the lease over and finishes the job instead of dropping it.
			const sources = this.stores.notification_sources;
			const sourceId = `like:${msg.userId}:${msg.targetType}:${msg.targetId}`;
			const leaseUntil = Date.now() + LIKE_LEASE_MS;
			const { doc: source, created } = await sources.insertOrGet({ _id: sourceId, at: Date.now(), done: false, leaseUntil }, { _id: sourceId });
			if (!created) {
				// Rows written before the `done` field are finished ones.
				if (source.done !== false) return;
				const free =
					source.leaseUntil <= Date.now() &&
					(await sources.updateIf({ _id: sourceId, done: false, leaseUntil: source.leaseUntil }, { $set: { leaseUntil } }));
				if (!free) throw new Error(`The like of ${msg.userId} on ${msg.targetType} ${msg.targetId} is being counted; will retry`);
			}
			await this.contributeLike(msg, key, name, recipient);
			await sources.updateMany({ _id: sourceId }, { $set: { done: true } });
		},

		/** Puts one like into the open group of its target, or opens a group. */
		async contributeLike(msg: LikeMsg, key: string, name: string, recipient: Recipient | null) {
			for (let round = 0; round < 5; round++) {
				const nowMs = Date.now();
				const now = new Date(nowMs).toISOString();
				const group: LikeGroup = { targetType: msg.targetType, targetId: msg.targetId, names: [name], count: 1 };
				const doc: NotificationDoc = {
					_id: newId(),
					userId: msg.targetOwnerId,
					type: "like",
					title: likeTitle(group.names, 1, msg.targetType),
					body: "",
					data: { targetType: msg.targetType, targetId: msg.targetId },
					read: false,
					unreadOf: msg.targetOwnerId,
					sourceKey: key,
					group,
					openUntil: nowMs + this.likeWindowMs,
					...this.emailFields(recipient, "like", nowMs),
					createdAt: now,
					updatedAt: now,
				};
				const { doc: open, created } = await this.store.insertOrGet(doc, { sourceKey: key });
				if (created) {
					this.pushNotification(doc);
					if (doc.emailState === "pending") await this.emailStep(doc, recipient);
					return;
				}
				if ((open.openUntil ?? 0) <= nowMs) {
					// The window passed: close that group (rename its key) and open a new one.
					await this.store.updateIf({ _id: open._id, sourceKey: key }, { $set: { sourceKey: `${key}:${open._id}` } });
					continue;
				}
				// Count this like into the open group (atomic $inc/$push) and re-push it.
				await this.store.updateMany(
					{ _id: open._id },
					{
						$inc: { "group.count": 1 },
						$push: { "group.names": { $each: [name], $slice: -5 } },
						$set: { read: false, unreadOf: open.userId, updatedAt: now },
					},
				);
				const updated = await this.store.findById(open._id);
				if (updated) this.pushNotification(updated);
				return;
			}
			throw new Error(`Could not group a like on ${msg.targetType} ${msg.targetId}; will retry`);
		},

		/** The new or regrouped notification, then the badge count, on every tab of its owner. */
		pushNotification(doc: NotificationDoc) {
			this.push([rooms.user(doc.userId)], "notification", this.view(doc));
			void this.pushUnread(doc.userId);
		},

		/** Badge counters on every open tab: `notification:unread {count}`. */
		async pushUnread(userId: string) {
			try {
				const count = await this.unread(userId);
				this.push([rooms.user(userId)], "notification:unread", { count });
			} catch (err) {
				this.logger.warn("Unread count push failed", (err as Error).message);
			}
		},

		unread(userId: string): Promise<number> {
			return this.store.count({ unreadOf: userId });
		},

		/** Emails the notification when its recipient opted in for its type; records the outcome. */
		async emailStep(doc: NotificationDoc, known?: Recipient | null) {
			const user = known ?? (await this.recipient(doc.userId));
			const wants = recipientWantsEmail(user, doc.type);
			if (wants) {
				const mail = notificationEmail(this.view(doc), this.publicUrl, user.username);
				await this.broker.call("mailer.enqueue", { key: `notification:${doc._id}`, to: user.email, ...mail });
			}
			await this.store.updateMany(
				{ _id: doc._id, emailState: "pending" },
				{ $set: { emailState: wants ? "done" : "skipped" }, $unset: { emailDue: true } },
			);
		},

		/**
		 * The paid donation's receipt to its signed-in donor, in the donor's language. The mailer's
		 * unique key makes a redelivered `donations.paid` send nothing twice. Not for a suspended
		 * account, one without an address, or one that turned receipts off (`settings.email["donation.receipt"]: false`).
		 */
		async sendReceipt(donation) {
			const donor = (await this.recipient(donation.donorId!)) as (Recipient & { lang?: "id" | "en" }) | null;
			if (!donor?.email || donor.bannedAt || donor.settings?.email?.["donation.receipt"] === false) return;
			if (donation.amount === undefined || !donation.currency) return;
			const mail = donationReceiptMail(
				donor.lang === "id" ? "id" : "en",
				{
					donorUsername: donor.username,
					recipientUsername: donation.recipientUsername ?? "",
					donationId: donation.id,
					amount: donation.amount,
					currency: donation.currency,
					message: donation.message,
					paidAt: donation.paidAt,
				},
				this.publicUrl,
			);
			await this.broker.call("mailer.enqueue", { key: receiptKey(donation.id), to: donor.email, ...mail });
		},

		/** Rows stored before the `unreadOf`/`emailDue` marks existed get them (once; a scan on start). */
		async addMarks() {
			const unmarked = await this.store.find({
				query: {
					$or: [
						{ read: false, unreadOf: { $exists: false } },
						{ emailState: "pending", emailDue: { $exists: false } },
					],
				},
			});
			for (const doc of unmarked) {
				if (!doc.read) await this.store.updateIf({ _id: doc._id, read: false }, { $set: { unreadOf: doc.userId } });
				if (doc.emailState === "pending") await this.store.updateIf({ _id: doc._id, emailState: "pending" }, { $set: { emailDue: doc.emailDueAt } });
			}
			if (unmarked.length) this.logger.info(`Marked ${unmarked.length} notification(s) stored before the unread/email marks`);
		},

		/** Re-drives email steps that a crash or an unavailable mailer left pending. */
		async sweep() {
			const now = Date.now();
			const due = await this.store.find({ query: { emailDue: { $lte: now } }, limit: 50 });
			for (const doc of due) {
				// Claim by moving the due time, so another node's sweep skips it.
				const next = now + this.emailGraceMs;
				const claimed = await this.store.updateIf(
					{ _id: doc._id, emailState: "pending", emailDue: doc.emailDue },
					{ $set: { emailDueAt: next, emailDue: next } },
				);
				if (claimed) await this.emailStep(doc).catch((err: Error) => this.logger.warn("Notification email step failed; will retry", err.message));
			}
		},
	},

	created() {
		const cfg = loadConfig();
		this.likeWindowMs = cfg.notifications.likeWindowMs;
		this.emailGraceMs = cfg.notifications.emailRetryMs;
		this.sweepMs = cfg.notifications.sweepMs;
		this.publicUrl = cfg.publicUrl;
	},

	async started() {
		await this.store.once("notifications 0002 unread/email marks scan", () => this.addMarks());
	},
};

export default schema;
