import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { newId } from "../../lib/tools/ids";
import { notificationsConfig } from "../../lib/config/notifications";
import { nextDelayMs, type Backoff } from "../../lib/domain/notify/backoff";
import { createMailTransport, type MailTransport } from "../../lib/tools/mail-transport";

/**
 * Email outbox. `mailer.enqueue` stores a row under a caller-chosen unique key (so enqueueing the
 * same email twice sends it once) and tries it at once; failures are retried with exponential
 * backoff by a sweep that also re-drives whatever a restart interrupted. Rows are never deleted:
 * after MAIL_MAX_ATTEMPTS a row is parked as `dead` (visible in `mailer.list`) until an operator
 * calls `mailer.retryDead`. Transport: SMTP when SMTP_URL is set, the service log otherwise.
 */

interface MailDoc {
	_id: string;
	key: string;
	to: string;
	subject: string;
	text: string;
	status: "pending" | "sent" | "dead";
	attempts: number;
	nextAttemptAt: number;
	lastError: string | null;
	messageId?: string | null;
	createdAt: string;
	sentAt: string | null;
}

const LEASE_MS = 60_000;

interface Local extends DbThis<MailDoc> {
	transport: MailTransport;
	from: string;
	backoff: Backoff;
	maxAttempts: number;
	sweepMs: number;
}
interface Methods extends SweeperMethods {
	attempt(id: string): Promise<void>;
	sweep(): Promise<void>;
}
type Settings = ServiceSettingSchema;
type This = Service<Settings> & Local & Methods;

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "mailer",
	mixins: [
		DbMixin("mail_outbox", [{ fields: "key", unique: true }, { fields: "status" }, { fields: "to" }]),
		SweeperMixin<This>({ name: "send", everyMs: (svc) => svc.sweepMs, run: (svc) => svc.sweep() }),
	],
	settings: {},

	actions: {
		/** Queue one email (idempotent per key); sending starts at once. */
		enqueue: {
			visibility: "public",
			params: {
				key: { type: "string", min: 1, max: 200 },
				to: { type: "email", max: 254 },
				subject: { type: "string", min: 1, max: 300 },
				text: { type: "string", min: 1, max: 100_000 },
			},
			async handler(ctx: Context<{ key: string; to: string; subject: string; text: string }>) {
				const p = ctx.params;
				const doc: MailDoc = {
					_id: newId(),
					key: p.key,
					to: p.to,
					subject: p.subject,
					text: p.text,
					status: "pending",
					attempts: 0,
					nextAttemptAt: Date.now(),
					lastError: null,
					createdAt: new Date().toISOString(),
					sentAt: null,
				};
				const { doc: stored, created } = await this.store.insertOrGet(doc, { key: p.key });
				if (!created) return { id: stored._id, status: stored.status, duplicate: true };
				setImmediate(() => this.attempt(doc._id).catch((err: Error) => this.logger.warn("Email attempt failed; the sweep retries it", err.message)));
				return { id: doc._id, status: doc.status };
			},
		},

		/** Operators: outbox rows, newest first, filtered by recipient and status. */
		list: {
			visibility: "public",
			params: {
				to: { type: "string", optional: true, max: 254 },
				status: { type: "enum", values: ["pending", "sent", "dead"], optional: true },
				limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
				cursor: { type: "string", optional: true, max: 64 },
			},
			async handler(ctx: Context<{ to?: string; status?: string; limit?: number; cursor?: string }>) {
				const q: Record<string, unknown> = {};
				if (ctx.params.to) q.to = ctx.params.to;
				if (ctx.params.status) q.status = ctx.params.status;
				const page = await this.store.page(q, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return {
					items: page.items.map((m) => ({
						id: m._id,
						key: m.key,
						to: m.to,
						subject: m.subject,
						status: m.status,
						attempts: m.attempts,
						lastError: m.lastError,
						createdAt: m.createdAt,
						sentAt: m.sentAt,
					})),
					nextCursor: page.nextCursor,
				};
			},
		},

		/** Operators: give parked (dead) emails another round of attempts. */
		retryDead: {
			visibility: "public",
			async handler() {
				const n = await this.store.updateMany({ status: "dead" }, { $set: { status: "pending", attempts: 0, nextAttemptAt: Date.now() } });
				return { requeued: n };
			},
		},
	},

	methods: {
		/** One send attempt, claimed by a lease so two nodes never send the same row at once. */
		async attempt(id: string) {
			const now = Date.now();
			const claimed = await this.store.updateIf(
				{ _id: id, status: "pending", nextAttemptAt: { $lte: now } },
				{ $set: { nextAttemptAt: now + LEASE_MS } },
			);
			if (!claimed) return;
			const doc = await this.store.findById(id);
			if (!doc) return;
			try {
				const info = await this.transport.send({
					from: this.from,
					to: doc.to,
					subject: doc.subject,
					text: doc.text,
					headers: { "X-MediaShar-Mail-Id": doc._id },
				});
				await this.store.updateMany(
					{ _id: id },
					{ $set: { status: "sent", sentAt: new Date().toISOString(), messageId: info.messageId ?? null, lastError: null }, $inc: { attempts: 1 } },
				);
			} catch (err) {
				const attempts = doc.attempts + 1;
				const dead = attempts >= this.maxAttempts;
				const message = String((err as Error).message || err).slice(0, 500);
				this.logger.warn(`Email ${id} to ${doc.to} failed (attempt ${attempts})${dead ? "; parked as dead" : ""}`, message);
				await this.store.updateMany(
					{ _id: id },
					{
						$set: {
							status: dead ? "dead" : "pending",
							attempts,
							lastError: message,
							nextAttemptAt: Date.now() + nextDelayMs(attempts, this.backoff),
						},
					},
				);
			}
		},

		/** Sends what is due (failed attempts whose backoff passed, rows a restart interrupted). */
		async sweep() {
			const due = await this.store.find({
				query: { status: "pending", nextAttemptAt: { $lte: Date.now() } },
				sort: ["nextAttemptAt"],
				limit: 50,
			});
			for (const m of due) await this.attempt(m._id);
		},
	},

	created() {
		const cfg = notificationsConfig().mail;
		this.transport = createMailTransport(cfg.transportEnv, (line: string) => this.logger.info(line));
		this.from = cfg.from;
		this.backoff = cfg.backoff;
		this.maxAttempts = cfg.maxAttempts;
		this.sweepMs = cfg.sweepMs;
	},

	stopped() {
		this.transport?.close();
	},
};

export default schema;
