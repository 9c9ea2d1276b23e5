import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { newId } from "../../lib/tools/ids";
import { intEnv } from "../../lib/config";
import { isDuplicateKey } from "../../lib/tools/errors";
import { nextDelayMs } from "../../lib/domain/notify/backoff";
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

const schema: ServiceSchema = {
	name: "mailer",
	mixins: [DbMixin("mail_outbox", [{ fields: "key", unique: true }, { fields: "status" }, { fields: "to" }])],
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
			async handler(this: any, ctx: Context<{ key: string; to: string; subject: string; text: string }>) {
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
				try {
					await this.store.insert(doc);
				} catch (err) {
					if (!isDuplicateKey(err)) throw err;
					const existing: MailDoc | null = await this.store.findOne({ key: p.key });
					return { id: existing?._id, status: existing?.status, duplicate: true };
				}
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
			async handler(this: any, ctx: Context<{ to?: string; status?: string; limit?: number; cursor?: string }>) {
				const q: Record<string, unknown> = {};
				if (ctx.params.to) q.to = ctx.params.to;
				if (ctx.params.status) q.status = ctx.params.status;
				const page = await this.store.page(q, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return {
					items: page.items.map((m: MailDoc) => ({
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
			async handler(this: any) {
				const n = await this.store.updateMany({ status: "dead" }, { $set: { status: "pending", attempts: 0, nextAttemptAt: Date.now() } });
				return { requeued: n };
			},
		},
	},

	methods: {
		/** One send attempt, claimed by a lease so two nodes never send the same row at once. */
		async attempt(this: any, id: string) {
			const now = Date.now();
			const claimed = await this.store.updateIf(
				{ _id: id, status: "pending", nextAttemptAt: { $lte: now } },
				{ $set: { nextAttemptAt: now + LEASE_MS } },
			);
			if (!claimed) return;
			const doc: MailDoc | null = await this.store.findById(id);
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

		async sweep(this: any) {
			if (this.sweeping) return;
			this.sweeping = true;
			try {
				const due: MailDoc[] = await this.store.find({
					query: { status: "pending", nextAttemptAt: { $lte: Date.now() } },
					sort: ["nextAttemptAt"],
					limit: 50,
				});
				for (const m of due) await this.attempt(m._id);
			} catch (err) {
				this.logger.warn("Mail sweep failed", (err as Error).message);
			} finally {
				this.sweeping = false;
			}
		},
	},

	created(this: any) {
		this.transport = createMailTransport(process.env, (line: string) => this.logger.info(line)) as MailTransport;
		this.from = process.env.MAIL_FROM || "MediaShar <no-reply@mediashar.local>";
		this.backoff = { baseMs: Math.max(10, intEnv("MAIL_RETRY_BASE_MS", 30_000)), maxMs: Math.max(10, intEnv("MAIL_RETRY_MAX_MS", 3_600_000)) };
		this.maxAttempts = Math.max(1, intEnv("MAIL_MAX_ATTEMPTS", 30));
		this.sweepMs = Math.max(20, intEnv("MAIL_SWEEP_MS", 5_000));
	},

	started(this: any) {
		this.timer = setInterval(() => void this.sweep(), this.sweepMs);
		this.timer.unref?.();
	},

	stopped(this: any) {
		clearInterval(this.timer);
		this.transport?.close();
	},
};

export default schema;
