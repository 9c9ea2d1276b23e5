import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type Collection, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { newId, randomToken } from "../../lib/tools/ids";
import { notificationsConfig } from "../../lib/config/notifications";
import { invalid, notFound } from "../../lib/tools/errors";
import { sign } from "../../lib/tools/signature";
import { nextDelayMs, type Backoff } from "../../lib/domain/notify/backoff";
import { checkWebhookUrl, systemResolver, type ResolvedAddress } from "../../lib/tools/webhook-url";
import { postWebhook } from "../../lib/tools/webhook-http";
import { eventIdFor, publicDonation, type PayoutMsg } from "../../lib/domain/notify/webhook-event";
import { publicPayout } from "../../lib/domain/notify/feed";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Outgoing webhooks for integrators. A channel owner registers one URL; on `donation.paid`,
 * `donation.reversed`, `payout.paid` and `payout.failed` it receives a POST signed with `X-MediaShar-Signature: t=..,v1=..`
 * (HMAC-SHA256 over `${t}.${body}` with the endpoint's secret, lib/tools/signature.ts).
 * Durable path: the event is first written as a delivery row (the outbox, unique per event id),
 * then `integrations.deliver` rings the doorbell; a sweep retries due rows with exponential
 * backoff until a 2xx or WEBHOOK_RETRY_WINDOW_MS (24 h) and re-drives anything a restart
 * interrupted. Each event has a stable `id` (same on every retry) so receivers can dedupe.
 */

interface WebhookDoc {
	_id: string;
	userId: string;
	url: string;
	secret: string;
	createdAt: string;
	updatedAt: string;
}

interface AttemptLog {
	at: string;
	statusCode: number | null;
	error: string | null;
	durationMs: number;
}

interface DeliveryDoc {
	_id: string;
	eventId: string;
	userId: string;
	type: string;
	body: string;
	status: "pending" | "delivered" | "failed";
	attempts: number;
	nextAttemptAt: number;
	expiresAt: number;
	lastStatusCode: number | null;
	lastError: string | null;
	log: AttemptLog[];
	createdAt: string;
	deliveredAt: string | null;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;
/** A donation as the donations channels carry it (publicDonation picks what integrators see). */
type DonationMsg = { id?: string; recipientId?: string } & Record<string, unknown>;

interface Local extends DbThis<WebhookDoc, { webhook_deliveries: Collection<DeliveryDoc> }> {
	blockPrivate: boolean;
	timeoutMs: number;
	retryWindowMs: number;
	backoff: Backoff;
	sweepMs: number;
}
interface Methods extends SweeperMethods {
	newSecret(): string;
	hookView(h: WebhookDoc): { url: string; secret: string; createdAt: string; updatedAt: string };
	deliveryView(d: DeliveryDoc): Record<string, unknown>;
	enqueue(type: string, donation: DonationMsg | undefined): Promise<void>;
	enqueueEvent(type: string, ownerId: string, subjectId: string, data: Record<string, unknown>): Promise<void>;
	ring(id: string): Promise<void>;
	attempt(id: string): Promise<void>;
	post(hook: WebhookDoc, d: DeliveryDoc): Promise<number>;
	resolveHost(host: string): Promise<ResolvedAddress[]>;
	sweep(): Promise<void>;
}
type Settings = ServiceSettingSchema & { rest: string };
type This = Service<Settings> & Local & Methods;

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "integrations",
	mixins: [
		DbMixin("webhooks", [{ fields: "userId", unique: true }], {
			webhook_deliveries: [{ fields: "eventId", unique: true }, { fields: "userId" }, { fields: "status" }],
		}),
		SweeperMixin<This>({ name: "deliver", everyMs: (svc) => svc.sweepMs, run: (svc) => svc.sweep() }),
	],
	settings: { rest: "/" },

	actions: {
		/** Register or change the caller's webhook URL; the secret survives a URL change. */
		setWebhook: {
			rest: "PUT /me/webhook",
			auth: "required",
			params: { url: { type: "string", min: 1, max: 2048, trim: true }, rotateSecret: { type: "boolean", optional: true } },
			async handler(ctx: Ctx<{ url: string; rotateSecret?: boolean }>) {
				const verdict = checkWebhookUrl(ctx.params.url, this.blockPrivate);
				if (!verdict.ok) throw invalid("url", verdict.reason, "INVALID_WEBHOOK_URL");
				const userId = ctx.meta.user!.id;
				const now = new Date().toISOString();
				const url = verdict.url.toString();
				const existing = await this.store.findOne({ userId });
				if (existing) {
					const $set: Record<string, unknown> = { url, updatedAt: now };
					if (ctx.params.rotateSecret) $set.secret = this.newSecret();
					await this.store.updateMany({ _id: existing._id }, { $set });
				} else {
					const fresh: WebhookDoc = { _id: newId(), userId, url, secret: this.newSecret(), createdAt: now, updatedAt: now };
					// Two racing PUTs: the other one created it; apply our URL on top.
					const { created } = await this.store.insertOrGet(fresh, { userId });
					if (!created) await this.store.updateMany({ userId }, { $set: { url, updatedAt: now } });
				}
				const hook = await this.store.findOne({ userId });
				if (!hook) throw notFound("Webhook");
				return this.hookView(hook);
			},
		},

		/** The caller's webhook `{url, secret}`. */
		getWebhook: {
			rest: "GET /me/webhook",
			auth: "required",
			async handler(ctx: Ctx) {
				const hook = await this.store.findOne({ userId: ctx.meta.user!.id });
				if (!hook) throw notFound("Webhook");
				return this.hookView(hook);
			},
		},

		/** Remove the webhook (204, idempotent); pending deliveries stop. */
		removeWebhook: {
			rest: "DELETE /me/webhook",
			status: 204,
			auth: "required",
			async handler(ctx: Ctx) {
				await this.store.removeMany({ userId: ctx.meta.user!.id });
				return null;
			},
		},

		/** The caller's delivery log, newest first: status, attempts and each attempt's outcome. */
		deliveries: {
			rest: "GET /me/webhook/deliveries",
			auth: "required",
			params: {
				status: { type: "enum", values: ["pending", "delivered", "failed"], optional: true },
				limit: { type: "number", integer: true, min: 1, max: 100, convert: true, optional: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(ctx: Ctx<{ status?: string; limit?: number; cursor?: string }>) {
				const q: Record<string, unknown> = { userId: ctx.meta.user!.id };
				if (ctx.params.status) q.status = ctx.params.status;
				const page = await this.stores.webhook_deliveries.page(q, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: page.items.map((d) => this.deliveryView(d)), nextCursor: page.nextCursor };
			},
		},

		/** Send one delivery again now (e.g. after fixing the receiver); the event id stays the same. */
		redeliver: {
			rest: "POST /me/webhook/deliveries/:id/redeliver",
			status: 202,
			// Never retried by the broker: a second run would make a second delivery.
			retryPolicy: { enabled: false },
			auth: "required",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				const userId = ctx.meta.user!.id;
				const d = await this.stores.webhook_deliveries.findOne({ _id: ctx.params.id, userId });
				if (!d) throw notFound("Delivery");
				const now = Date.now();
				await this.stores.webhook_deliveries.updateMany(
					{ _id: d._id },
					{ $set: { status: "pending", nextAttemptAt: now, expiresAt: now + this.retryWindowMs } },
				);
				await this.ring(d._id);
				return this.deliveryView({ ...d, status: "pending", nextAttemptAt: now });
			},
		},
	},

	channels: {
		"donations.paid": {
			group: "integrations",
			async handler(payload: { donation?: DonationMsg }) {
				await this.enqueue("donation.paid", payload?.donation);
			},
		},
		"donations.reversed": {
			group: "integrations",
			async handler(payload: { donation?: DonationMsg }) {
				await this.enqueue("donation.reversed", payload?.donation);
			},
		},
		// Payouts (services/payouts): the owner's `payout.paid` / `payout.failed`.
		"payouts.paid": {
			group: "integrations",
			async handler(payload: { payout?: PayoutMsg }) {
				if (payload?.payout?.id && payload.payout.userId)
					await this.enqueueEvent("payout.paid", payload.payout.userId, payload.payout.id, { payout: publicPayout(payload.payout) });
			},
		},
		"payouts.failed": {
			group: "integrations",
			async handler(payload: { payout?: PayoutMsg }) {
				if (payload?.payout?.id && payload.payout.userId)
					await this.enqueueEvent("payout.failed", payload.payout.userId, payload.payout.id, { payout: publicPayout(payload.payout) });
			},
		},
		/** Doorbell: the row in the database is the work; this just makes the first attempt prompt. */
		"integrations.deliver": {
			group: "integrations",
			async handler(payload: { id: string }) {
				if (payload?.id) await this.attempt(payload.id);
			},
		},
	},

	methods: {
		newSecret() {
			return `whsec_${randomToken(24)}`;
		},
		hookView(h: WebhookDoc) {
			return { url: h.url, secret: h.secret, createdAt: h.createdAt, updatedAt: h.updatedAt };
		},
		deliveryView(d: DeliveryDoc) {
			return {
				id: d._id,
				eventId: d.eventId,
				type: d.type,
				status: d.status,
				attempts: d.attempts,
				lastStatusCode: d.lastStatusCode,
				lastError: d.lastError,
				nextAttemptAt: d.status === "pending" ? new Date(d.nextAttemptAt).toISOString() : null,
				createdAt: d.createdAt,
				deliveredAt: d.deliveredAt,
				log: d.log,
			};
		},

		/** Writes the outbox row for an event (once per event id), then rings the doorbell. */
		async enqueue(type: string, donation: DonationMsg | undefined) {
			if (!donation?.id || !donation.recipientId) return;
			await this.enqueueEvent(type, donation.recipientId, donation.id, { donation: publicDonation(donation) });
		},

		/** The outbox row of one event for `ownerId`'s endpoint (once per type and subject id). */
		async enqueueEvent(type: string, ownerId: string, subjectId: string, data: Record<string, unknown>) {
			const hook = await this.store.findOne({ userId: ownerId });
			if (!hook) return;
			const eventId = eventIdFor(type, subjectId);
			const now = Date.now();
			const body = JSON.stringify({ id: eventId, type, createdAt: new Date(now).toISOString(), data });
			const doc: DeliveryDoc = {
				_id: newId(),
				eventId,
				userId: ownerId,
				type,
				body,
				status: "pending",
				attempts: 0,
				nextAttemptAt: now,
				expiresAt: now + this.retryWindowMs,
				lastStatusCode: null,
				lastError: null,
				log: [],
				createdAt: new Date(now).toISOString(),
				deliveredAt: null,
			};
			// A redelivered channel message finds its row: nothing more to do.
			const { created } = await this.stores.webhook_deliveries.insertOrGet(doc, { eventId });
			if (created) await this.ring(doc._id);
		},

		async ring(id: string) {
			try {
				await this.broker.sendToChannel("integrations.deliver", { id });
			} catch (err) {
				this.logger.warn("Webhook doorbell failed; the sweep will deliver", (err as Error).message);
			}
		},

		/** One attempt, under a lease so two nodes never post the same delivery at once. */
		async attempt(id: string) {
			const col = this.stores.webhook_deliveries;
			const now = Date.now();
			const claimed = await col.updateIf(
				{ _id: id, status: "pending", nextAttemptAt: { $lte: now } },
				{ $set: { nextAttemptAt: now + this.timeoutMs + 5_000 } },
			);
			if (!claimed) return;
			const d = await col.findById(id);
			if (!d) return;
			const hook = await this.store.findOne({ userId: d.userId });
			if (!hook) {
				await col.updateMany({ _id: id }, { $set: { status: "failed", lastError: "webhook removed" } });
				return;
			}
			const started = Date.now();
			let statusCode: number | null = null;
			let error: string | null = null;
			try {
				const code = await this.post(hook, d);
				statusCode = code;
				if (code < 200 || code >= 300) error = `HTTP ${code}`;
			} catch (err) {
				error = String((err as Error).message || err).slice(0, 300);
			}
			const entry: AttemptLog = { at: new Date(started).toISOString(), statusCode, error, durationMs: Date.now() - started };
			const attempts = d.attempts + 1;
			const push = { log: { $each: [entry], $slice: -20 } };
			if (!error) {
				await col.updateMany(
					{ _id: id },
					{
						$set: { status: "delivered", attempts, lastStatusCode: statusCode, lastError: null, deliveredAt: new Date().toISOString() },
						$push: push,
					},
				);
				return;
			}
			const next = Date.now() + nextDelayMs(attempts, this.backoff);
			const giveUp = next > d.expiresAt;
			await col.updateMany(
				{ _id: id },
				{ $set: { status: giveUp ? "failed" : "pending", attempts, lastStatusCode: statusCode, lastError: error, nextAttemptAt: next }, $push: push },
			);
		},

		/**
		 * POSTs the stored body with a fresh signature; answers the HTTP status. The name is
		 * resolved here, for this attempt, and the socket connects to the address that was checked.
		 */
		async post(hook: WebhookDoc, d: DeliveryDoc): Promise<number> {
			const verdict = checkWebhookUrl(hook.url, this.blockPrivate);
			if (!verdict.ok) throw new Error(verdict.reason);
			return postWebhook(verdict.url, {
				body: d.body,
				timeoutMs: this.timeoutMs,
				blockPrivate: this.blockPrivate,
				resolve: (host: string) => this.resolveHost(host),
				headers: {
					"Content-Type": "application/json",
					"User-Agent": "MediaShar-Webhooks/1",
					"X-MediaShar-Event": d.type,
					"X-MediaShar-Delivery": d.eventId,
					"X-MediaShar-Signature": sign(d.body, hook.secret),
				},
			});
		},

		/** Name resolution for deliveries (the system resolver; tests replace this method). */
		resolveHost(host: string): Promise<ResolvedAddress[]> {
			return systemResolver(host);
		},

		/** Attempts what is due: failures whose backoff passed, and rows a restart interrupted. */
		async sweep() {
			const due = await this.stores.webhook_deliveries.find({
				query: { status: "pending", nextAttemptAt: { $lte: Date.now() } },
				sort: ["nextAttemptAt"],
				limit: 20,
			});
			await Promise.all(due.map((d) => this.attempt(d._id).catch((err: Error) => this.logger.warn("Webhook attempt failed", err.message))));
		},
	},

	created() {
		const cfg = notificationsConfig().webhooks;
		// Private and loopback targets (cloud metadata included) are refused in production unless an
		// operator allows them; development and tests post to receivers on 127.0.0.1.
		this.blockPrivate = cfg.blockPrivate;
		this.timeoutMs = cfg.timeoutMs;
		this.retryWindowMs = cfg.retryWindowMs;
		this.backoff = cfg.backoff;
		this.sweepMs = cfg.sweepMs;
	},
};

// Typed inside; exported as a plain schema because tests mix it into schemas of their own.
export default schema as ServiceSchema;
