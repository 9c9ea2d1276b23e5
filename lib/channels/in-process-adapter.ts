import { Adapters } from "@moleculer/channels";
import type { Context, ServiceBroker } from "moleculer";
import { isStorageFault } from "../tools/errors";
import { newId } from "../tools/ids";
import { ChannelJournal, type JournalEntry } from "./journal";

/**
 * The channels adapter of the embedded default (no transporter): messages travel as local
 * Moleculer events, like @moleculer/channels' Fake adapter, but with the delivery guarantees the
 * NATS and Redis adapters give, so a service behaves the same on both:
 *
 *  - nothing is refused under load: each consumer group has its own unbounded queue and takes at
 *    most `maxInFlight` messages at once (the Fake adapter hands the limit to Moleculer's event
 *    bulkhead, whose bounded queue drops the overflow);
 *  - a handler that throws gets the message again, with backoff, up to `maxRetries` times, and
 *    then the message moves to the dead-letter channel with `x-original-channel` and
 *    `x-original-group` headers (the Fake adapter drops it at the first error).
 *
 * With `journal` (a file path: the embedded default's NeDB data folder) every message is written
 * ahead to that journal and acknowledged per consumer group when handled, so what was queued or
 * being handled when the process stopped or crashed is delivered again when it starts
 * (lib/channels/journal.ts). Without it (tests, in-memory storage) the queue lives in memory only,
 * and the services' own re-drive of unfinished work on start is the safety net.
 *
 * When the storage refuses writes (disk full, quota, read-only, I/O error: 503
 * STORAGE_UNAVAILABLE), nothing is acknowledged that was not recorded and nothing is lost:
 *  - a publish that cannot be journaled rejects (the sender keeps its work to re-drive);
 *  - a handler that fails on storage is retried with backoff for as long as it takes, without
 *    counting towards `maxRetries` (a full disk is no reason to dead-letter a message, and the
 *    dead-letter channel could not take it either);
 *  - an acknowledgement or a move to the dead-letter channel that cannot be journaled is tried
 *    again with backoff; until then the message stays unfinished in the journal (a restart
 *    delivers it again).
 */

const FakeAdapter = Adapters.Fake as unknown as new (opts?: unknown) => any;

const HEADER_ORIGINAL_CHANNEL = "x-original-channel";
const HEADER_ORIGINAL_GROUP = "x-original-group";
const HEADER_REDELIVERED_COUNT = "x-redelivered-count";
const METRIC_ERRORS = "moleculer.channels.messages.errors.total";
const METRIC_RETRIES = "moleculer.channels.messages.retries.total";
const METRIC_DEAD_LETTERING = "moleculer.channels.messages.deadLettering.total";

interface Chan {
	id: string;
	name: string;
	group: string;
	maxInFlight?: number | null;
	maxRetries?: number | null;
	deadLettering?: { enabled?: boolean; queueName?: string };
	handler(payload: unknown, raw: unknown): Promise<unknown>;
}

interface Message {
	id: string;
	/** `jid`: the message's id in the journal. */
	raw: { payload: unknown; headers?: Record<string, unknown>; jid?: string };
	attempt: number;
	/** Tries that failed on storage (they set the backoff, not the retry count). */
	stalls?: number;
}

interface Consumer {
	chan: Chan;
	queue: Message[];
	active: number;
	/** Messages waiting for their retry timer. */
	retrying: Map<string, NodeJS.Timeout>;
	stopped: boolean;
	drained: Array<() => void>;
}

/** Delay before the n-th retry (1-based): 100 ms, 200 ms, 400 ms … at most 5 s. */
export function retryDelayMs(attempt: number): number {
	return Math.min(100 * 2 ** Math.max(0, attempt - 1), 5_000);
}

export class InProcessAdapter extends FakeAdapter {
	private readonly consumers = new Map<string, Consumer>();
	private journal: ChannelJournal | null = null;
	/** What the previous run left unfinished, delivered to each group as it subscribes. */
	private replay: JournalEntry[] = [];
	/** Channel → the consumer groups of this broker's services (known before they subscribe). */
	private groups = new Map<string, Set<string>>();

	constructor(opts: Record<string, unknown> & { journal?: string | null } = {}) {
		const { journal, ...rest } = opts;
		super(rest);
		if (journal) this.journal = new ChannelJournal(journal, (channel) => this.groups.get(channel) ?? []);
	}

	async connect() {
		await super.connect();
		if (!this.journal) return;
		this.groups = this.consumerGroups(this.broker);
		this.journal.load();
		const orphans = this.journal.unfinished().filter((e) => !this.groups.get(e.channel)?.size).length;
		if (orphans) this.logger.warn(`${orphans} journaled message(s) for channels no service here consumes are dropped`);
		// Compaction forgets what every group finished (and the orphans); the rest is delivered again.
		// No room for the compacted copy: the old file is whole and stays in use (each group is
		// given only what it has not finished either way).
		try {
			this.journal.compact();
		} catch (err) {
			if (!isStorageFault(err)) throw err;
			this.logger.warn(`Channel journal not compacted: ${(err as Error).message}`);
		}
		this.replay = this.journal.unfinished();
		if (this.replay.length) this.logger.info(`Delivering ${this.replay.length} message(s) the last run had not finished`);
	}

	async disconnect() {
		this.journal?.close();
		await super.disconnect();
	}

	/** Publishes a message: written ahead to the journal (when there is one), then delivered. */
	async publish(channelName: string, payload: unknown, opts: { headers?: Record<string, unknown> } = {}) {
		const jid = this.journal ? newId() : undefined;
		if (jid) this.journal!.published({ id: jid, channel: channelName, payload, headers: opts.headers });
		this.broker.emit(`${this.opts.eventPrefix}.${channelName}`, { payload, headers: opts.headers, ...(jid ? { jid } : {}) }, {});
	}

	/** Every channel's consumer groups, from the services' schemas (as the channels middleware names them). */
	private consumerGroups(broker: ServiceBroker): Map<string, Set<string>> {
		const out = new Map<string, Set<string>>();
		for (const svc of broker.services as any[]) {
			for (const [key, def] of Object.entries((svc.schema?.channels ?? {}) as Record<string, any>)) {
				const name = this.addPrefixTopic(def?.name ?? key);
				const group = def?.group ?? svc.fullName;
				if (!out.has(name)) out.set(name, new Set());
				out.get(name)!.add(group);
			}
		}
		return out;
	}

	/**
	 * A group is done with a message (handled, or parked in the dead-letter channel). An
	 * acknowledgement the journal cannot record is tried again with backoff.
	 */
	private finished(consumer: Consumer, msg: Message, tries = 0) {
		if (!this.journal || !msg.raw.jid) return;
		try {
			this.journal.finished(msg.raw.jid, consumer.chan.group);
		} catch (err) {
			if (consumer.stopped) return; // still unfinished in the journal: delivered again on start
			this.logger.warn(
				`Acknowledgement of a message on '${consumer.chan.name}' (${consumer.chan.group}) not recorded, retrying: ${(err as Error).message}`,
			);
			this.later(consumer, `ack:${msg.id}`, tries + 1, () => this.finished(consumer, msg, tries + 1));
		}
	}

	/** Runs `fn` after the backoff of the n-th try, unless the consumer stops first. */
	private later(consumer: Consumer, key: string, tries: number, fn: () => void) {
		const timer = setTimeout(() => {
			consumer.retrying.delete(key);
			if (!consumer.stopped) fn();
		}, retryDelayMs(tries));
		consumer.retrying.set(key, timer);
	}

	async subscribe(chan: Chan, svc: { fullName: string }) {
		if (chan.maxInFlight == null) chan.maxInFlight = this.opts.maxInFlight;
		if (chan.maxRetries == null) chan.maxRetries = this.opts.maxRetries;
		chan.deadLettering = { ...this.opts.deadLettering, ...chan.deadLettering };
		if (chan.deadLettering!.enabled) chan.deadLettering!.queueName = this.addPrefixTopic(chan.deadLettering!.queueName);

		const consumer: Consumer = { chan, queue: [], active: 0, retrying: new Map(), stopped: false, drained: [] };
		this.consumers.set(chan.id, consumer);
		const service = this.broker.createService({
			name: `${this.opts.servicePrefix}:${svc.fullName}:${chan.name}:${chan.group}`,
			events: {
				[`${this.opts.eventPrefix}.${chan.name}`]: {
					group: chan.group,
					// Concurrency is this adapter's job: Moleculer's bulkhead would drop the overflow.
					bulkhead: { enabled: false },
					handler: (ctx: Context<Message["raw"]>) => this.accept(consumer, { id: ctx.id, raw: ctx.params, attempt: 0 }),
				},
			},
		});
		this.services.set(chan.id, service);
		this.initChannelActiveMessages(chan.id, false);
		for (const e of this.replay) {
			if (e.channel === chan.name && !e.done.has(chan.group))
				this.accept(consumer, { id: `replay:${e.id}`, raw: { payload: e.payload, headers: e.headers, jid: e.id }, attempt: 0 });
		}
	}

	async unsubscribe(chan: Chan & { unsubscribing?: boolean }) {
		if (chan.unsubscribing) return;
		chan.unsubscribing = true;
		const consumer = this.consumers.get(chan.id);
		const service = this.services.get(chan.id);
		if (service) await this.broker.destroyService(service);
		if (!consumer) return;
		consumer.stopped = true;
		for (const timer of consumer.retrying.values()) clearTimeout(timer);
		consumer.retrying.clear();
		consumer.queue.length = 0;
		// Let the messages being handled finish (graceful shutdown), without waiting forever.
		if (consumer.active > 0) {
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, 10_000);
				consumer.drained.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
		this.consumers.delete(chan.id);
		this.activeMessages.delete(chan.id);
	}

	/** Queued and in-flight messages per channel id (operators, tests). */
	pending(): Record<string, { queued: number; active: number; retrying: number }> {
		const out: Record<string, { queued: number; active: number; retrying: number }> = {};
		for (const [id, c] of this.consumers) out[id] = { queued: c.queue.length, active: c.active, retrying: c.retrying.size };
		return out;
	}

	private accept(consumer: Consumer, msg: Message) {
		if (consumer.stopped) return;
		consumer.queue.push(msg);
		this.pump(consumer);
	}

	private pump(consumer: Consumer) {
		const limit = Math.max(1, consumer.chan.maxInFlight ?? 1);
		while (!consumer.stopped && consumer.active < limit && consumer.queue.length > 0) {
			const msg = consumer.queue.shift()!;
			consumer.active++;
			this.addChannelActiveMessages(consumer.chan.id, [msg.id]);
			void this.handle(consumer, msg).finally(() => {
				consumer.active--;
				this.removeChannelActiveMessages(consumer.chan.id, [msg.id]);
				if (consumer.active === 0 && consumer.drained.length) for (const done of consumer.drained.splice(0)) done();
				this.pump(consumer);
			});
		}
	}

	private async handle(consumer: Consumer, msg: Message) {
		const { chan } = consumer;
		try {
			await chan.handler(msg.raw.payload, msg.raw);
			this.finished(consumer, msg);
		} catch (err) {
			this.metricsIncrement(METRIC_ERRORS, chan);
			if (consumer.stopped) return;
			if (isStorageFault(err)) {
				const stalls = (msg.stalls ?? 0) + 1;
				this.logger.warn(`Message on '${chan.name}' (${chan.group}) failed on storage, retrying: ${(err as Error).message}`);
				this.later(consumer, msg.id, stalls, () => this.accept(consumer, { ...msg, stalls }));
				return;
			}
			const next = msg.attempt + 1;
			if (next <= (chan.maxRetries ?? 0)) {
				this.logger.warn(`Message on '${chan.name}' (${chan.group}) failed, retry ${next} of ${chan.maxRetries}: ${(err as Error).message}`);
				this.metricsIncrement(METRIC_RETRIES, chan);
				const headers = { ...msg.raw.headers, [HEADER_REDELIVERED_COUNT]: next };
				const timer = setTimeout(() => {
					consumer.retrying.delete(msg.id);
					this.accept(consumer, { id: msg.id, raw: { ...msg.raw, headers }, attempt: next });
				}, retryDelayMs(next));
				consumer.retrying.set(msg.id, timer);
				return;
			}
			this.logger.error(`Message on '${chan.name}' (${chan.group}) failed ${next} time(s): ${(err as Error).message}`);
			if (chan.deadLettering?.enabled) {
				try {
					await this.moveToDeadLetter(chan, msg);
				} catch (dlErr) {
					// Not parked, so not finished: handled once more later, then parked.
					const stalls = (msg.stalls ?? 0) + 1;
					this.logger.warn(
						`Could not move a message of '${chan.name}' (${chan.group}) to the dead-letter channel, retrying: ${(dlErr as Error).message}`,
					);
					this.later(consumer, msg.id, stalls, () => this.accept(consumer, { ...msg, attempt: msg.attempt, stalls }));
					return;
				}
			}
			this.finished(consumer, msg);
		}
	}

	private async moveToDeadLetter(chan: Chan, msg: Message) {
		const headers = { ...msg.raw.headers, [HEADER_ORIGINAL_CHANNEL]: chan.name, [HEADER_ORIGINAL_GROUP]: chan.group };
		// The dead-letter channel's name is already prefixed.
		await this.publish(chan.deadLettering!.queueName!, msg.raw.payload, { headers });
		this.metricsIncrement(METRIC_DEAD_LETTERING, chan);
		this.logger.warn(`Moved a message of '${chan.name}' (${chan.group}) to '${chan.deadLettering!.queueName}'`);
	}
}
