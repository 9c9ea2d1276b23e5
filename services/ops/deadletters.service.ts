import { createHash } from "node:crypto";
import type { Context, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type DbThis } from "../../mixins/db.mixin";
import { newId } from "../../lib/tools/ids";
import { conflict, notFound } from "../../lib/tools/errors";
import { countDeadLetter } from "../../lib/tools/metrics";

/**
 * The dead-letter queue, kept where an operator can see it. @moleculer/channels moves a message
 * that failed `maxRetries` times to the DEAD_LETTER channel with `x-original-channel` and
 * `x-original-group` headers; this service stores each one with its payload and headers, and
 * offers list / get / retry (re-publish to the original channel) / discard for the REPL's `dlq`.
 */

export const DEAD_LETTER_CHANNEL = "DEAD_LETTER";

export type DeadLetterStatus = "parked" | "retried" | "discarded";

export interface DeadLetterDoc {
	_id: string;
	/** Hash of channel, group, payload and the broker's message id: a redelivery is stored once. */
	key: string;
	channel: string;
	group: string | null;
	payload: unknown;
	headers: Record<string, unknown>;
	status: DeadLetterStatus;
	receivedAt: string;
	retries: number;
	retriedAt: string | null;
	discardedAt: string | null;
}

type Ctx<P = Record<string, unknown>> = Context<P>;

type Local = DbThis<DeadLetterDoc>;
interface Methods {
	park(payload: unknown, headers: Record<string, unknown>, sourceId: string | number | null): Promise<DeadLetterDoc | null>;
	load(id: string): Promise<DeadLetterDoc>;
	view(d: DeadLetterDoc, full?: boolean): Record<string, unknown>;
	channelsAdapter(): ChannelAdapterView | undefined;
}
type Settings = ServiceSettingSchema;

/** What the channels adapter hands a handler beside the payload (NATS JetStream message, Redis entry, ...). */
interface RawMessage {
	seq?: string | number;
	id?: string | number;
	info?: { streamSequence?: string | number };
}

/** The adapter parts read here (@moleculer/channels does not type them on the broker). */
interface ChannelAdapterView {
	opts?: { prefix?: string };
	parseMessageHeaders(raw: unknown): Record<string, unknown> | null;
}

const ID = { type: "string", min: 1, max: 64 };

/** Headers worth keeping: the original channel/group and the sender's request id; never $meta blobs. */
export function keptHeaders(headers: Record<string, unknown> | null | undefined): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(headers ?? {})) {
		if (k === "$meta" || k === "$headers") continue;
		out[k] = typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : String(v);
	}
	return out;
}

/** A stable id of one dead-lettered message (the adapter's sequence/id when it has one). */
export function deadLetterKey(channel: string, group: string | null, payload: unknown, sourceId: string | number | null | undefined): string {
	const h = createHash("sha256");
	h.update(`${channel}\n${group ?? ""}\n${sourceId ?? ""}\n${JSON.stringify(payload ?? null)}`);
	return h.digest("hex").slice(0, 40);
}

/** The adapter names channels "<namespace>.<channel>"; operators and `sendToChannel` use the bare name. */
export function stripPrefix(channel: string, prefix: string | null | undefined): string {
	return prefix && channel.startsWith(`${prefix}.`) ? channel.slice(prefix.length + 1) : channel;
}

function sourceIdOf(raw: unknown): string | number | null {
	if (!raw || typeof raw !== "object") return null;
	const m = raw as RawMessage;
	return m.seq ?? m.info?.streamSequence ?? m.id ?? null;
}

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "deadletters",
	mixins: [DbMixin("deadletters", [{ fields: "key", unique: true }, { fields: "status" }, { fields: "channel" }])],

	actions: {
		/** Dead-lettered messages, newest first, by status (default parked) and channel. */
		list: {
			visibility: "public",
			params: {
				status: { type: "enum", values: ["parked", "retried", "discarded"], optional: true },
				channel: { type: "string", max: 200, optional: true },
				limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(ctx: Ctx<{ status?: string; channel?: string; limit?: number; cursor?: string }>) {
				const q: Record<string, unknown> = {};
				if (ctx.params.status) q.status = ctx.params.status;
				if (ctx.params.channel) q.channel = ctx.params.channel;
				const page = await this.store.page(q, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: page.items.map((d) => this.view(d)), nextCursor: page.nextCursor };
			},
		},

		/** One message with its payload and headers. */
		get: {
			visibility: "public",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				return this.view(await this.load(ctx.params.id), true);
			},
		},

		/** Re-publishes a parked message to its original channel (once; a second retry is a 409). */
		retry: {
			visibility: "public",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.load(ctx.params.id);
				const now = new Date().toISOString();
				const won = await this.store.updateIf(
					{ _id: doc._id, status: "parked" },
					{ $set: { status: "retried", retriedAt: now }, $inc: { retries: 1 } },
				);
				if (!won) throw conflict(`Message is ${doc.status}, not parked`, "NOT_PARKED");
				try {
					await this.broker.sendToChannel(doc.channel, doc.payload, { ctx, headers: { "x-dead-letter-id": doc._id } });
				} catch (err) {
					await this.store.updateMany(
						{ _id: doc._id, status: "retried" },
						{ $set: { status: "parked", retriedAt: doc.retriedAt }, $inc: { retries: -1 } },
					);
					throw err;
				}
				this.logger.info(`Dead letter ${doc._id} re-published to '${doc.channel}'`);
				return this.view(await this.load(doc._id));
			},
		},

		/** Marks a parked message as handled by hand; it stays listed under status "discarded". */
		discard: {
			visibility: "public",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.load(ctx.params.id);
				const won = await this.store.updateIf(
					{ _id: doc._id, status: "parked" },
					{ $set: { status: "discarded", discardedAt: new Date().toISOString() } },
				);
				if (!won) throw conflict(`Message is ${doc.status}, not parked`, "NOT_PARKED");
				return this.view(await this.load(doc._id));
			},
		},
	},

	channels: {
		[DEAD_LETTER_CHANNEL]: {
			group: "deadletters",
			// Storing must not itself end in the dead-letter queue: keep retrying instead.
			maxRetries: 100,
			deadLettering: { enabled: false },
			async handler(payload: unknown, raw: unknown) {
				const headers = this.channelsAdapter()?.parseMessageHeaders(raw) ?? {};
				await this.park(payload, headers, sourceIdOf(raw));
			},
		},
	},

	methods: {
		/** Stores one dead-lettered message; a redelivered copy is ignored (unique key). */
		async park(payload: unknown, headers: Record<string, unknown>, sourceId: string | number | null): Promise<DeadLetterDoc | null> {
			const channel = stripPrefix(String(headers["x-original-channel"] ?? "unknown"), this.channelsAdapter()?.opts?.prefix);
			const group = headers["x-original-group"] != null ? String(headers["x-original-group"]) : null;
			const doc: DeadLetterDoc = {
				_id: newId(),
				key: deadLetterKey(channel, group, payload, sourceId),
				channel,
				group,
				payload,
				headers: keptHeaders(headers),
				status: "parked",
				receivedAt: new Date().toISOString(),
				retries: 0,
				retriedAt: null,
				discardedAt: null,
			};
			const { created } = await this.store.insertOrGet(doc, { key: doc.key });
			if (!created) return null;
			countDeadLetter(this.broker, channel);
			this.logger.warn(`Message from '${channel}' (group ${group ?? "-"}) parked in the dead-letter queue as ${doc._id}`);
			return doc;
		},

		async load(id: string): Promise<DeadLetterDoc> {
			const doc = await this.store.findById(id);
			if (!doc) throw notFound("Dead-lettered message");
			return doc;
		},

		channelsAdapter() {
			return (this.broker as unknown as { channelAdapter?: ChannelAdapterView }).channelAdapter;
		},
		view(d: DeadLetterDoc, full = false) {
			const v: Record<string, unknown> = {
				id: d._id,
				channel: d.channel,
				group: d.group,
				status: d.status,
				receivedAt: d.receivedAt,
				retries: d.retries,
				retriedAt: d.retriedAt,
				discardedAt: d.discardedAt,
			};
			if (full) Object.assign(v, { payload: d.payload, headers: d.headers });
			return v;
		},
	},
};

export default schema;
