import type Redis from "ioredis";

/**
 * Fixed-window counters shared by the HTTP gateway (moleculer-web `StoreFactory`), the socket
 * send limits and login throttling. Windows are aligned to the clock (floor(now / window)), so
 * every node computing a key for the same moment hits the same Redis counter.
 */
export interface CounterStore {
	/** Adds one hit for `key` in the current window; resolves to the hits so far. */
	hit(key: string, windowMs: number): Promise<number>;
	/** Hits so far without adding one. */
	peek(key: string, windowMs: number): Promise<number>;
	reset(key: string, windowMs: number): Promise<void>;
	close?(): void;
}

export function windowStart(now: number, windowMs: number): number {
	return Math.floor(now / windowMs) * windowMs;
}

/** Seconds until the current window ends (at least 1), for Retry-After. */
export function retryAfterSec(now: number, windowMs: number): number {
	return Math.max(1, Math.ceil((windowStart(now, windowMs) + windowMs - now) / 1000));
}

export class MemoryCounterStore implements CounterStore {
	private readonly counters = new Map<string, { window: number; count: number }>();
	private readonly sweeper: NodeJS.Timeout;

	constructor(private readonly now: () => number = Date.now) {
		this.sweeper = setInterval(() => this.sweep(), 60_000);
		this.sweeper.unref();
	}

	private slot(key: string, windowMs: number) {
		const window = windowStart(this.now(), windowMs);
		const k = `${windowMs}:${key}`;
		let c = this.counters.get(k);
		if (!c || c.window !== window) {
			c = { window, count: 0 };
			this.counters.set(k, c);
		}
		return c;
	}

	async hit(key: string, windowMs: number) {
		const c = this.slot(key, windowMs);
		c.count++;
		return c.count;
	}

	async peek(key: string, windowMs: number) {
		return this.slot(key, windowMs).count;
	}

	async reset(key: string, windowMs: number) {
		this.counters.delete(`${windowMs}:${key}`);
	}

	private sweep() {
		const now = this.now();
		for (const [k, c] of this.counters) {
			const windowMs = Number(k.slice(0, k.indexOf(":")));
			if (c.window + windowMs < now) this.counters.delete(k);
		}
	}

	close() {
		clearInterval(this.sweeper);
	}
}

export class RedisCounterStore implements CounterStore {
	constructor(
		private readonly redis: Redis,
		private readonly prefix = "mediashar:rl",
		private readonly now: () => number = Date.now,
	) {}

	private key(key: string, windowMs: number) {
		return `${this.prefix}:${windowMs}:${windowStart(this.now(), windowMs)}:${key}`;
	}

	async hit(key: string, windowMs: number) {
		const k = this.key(key, windowMs);
		const [[, count]] = (await this.redis
			.multi()
			.incr(k)
			.pexpire(k, windowMs * 2)
			.exec()) as [[unknown, number]];
		return Number(count);
	}

	async peek(key: string, windowMs: number) {
		return Number((await this.redis.get(this.key(key, windowMs))) ?? 0);
	}

	async reset(key: string, windowMs: number) {
		await this.redis.del(this.key(key, windowMs));
	}
}

/** A limit: at most `limit` hits per `windowMs`. */
export interface Limit {
	limit: number;
	windowMs: number;
}

export interface LimitVerdict {
	allowed: boolean;
	remaining: number;
	retryAfterSec: number;
}

/** Checks several limits at once (e.g. a burst and a sustained one); all must allow. */
export async function checkLimits(store: CounterStore, key: string, limits: Limit[], now = Date.now()): Promise<LimitVerdict> {
	let remaining = Infinity;
	let retry = 0;
	for (const l of limits) {
		const hits = await store.hit(`${key}:${l.limit}`, l.windowMs);
		remaining = Math.min(remaining, l.limit - hits);
		if (hits > l.limit) retry = Math.max(retry, retryAfterSec(now, l.windowMs));
	}
	return { allowed: retry === 0, remaining: Math.max(0, remaining), retryAfterSec: retry };
}

/**
 * Open connections per key (a client IP) across every gateway node: a count that goes up on
 * connect and down on disconnect. Each node owns its own share, so a node that dies takes its
 * share with it instead of leaving the count inflated forever.
 */
export interface ConnectionTally {
	/** Connections open for `key` on every live node. */
	count(key: string): Promise<number>;
	add(key: string): Promise<void>;
	remove(key: string): Promise<void>;
}

export class MemoryConnectionTally implements ConnectionTally {
	private readonly open = new Map<string, number>();

	async count(key: string) {
		return this.open.get(key) ?? 0;
	}

	async add(key: string) {
		this.open.set(key, (this.open.get(key) ?? 0) + 1);
	}

	async remove(key: string) {
		const n = (this.open.get(key) ?? 0) - 1;
		if (n > 0) this.open.set(key, n);
		else this.open.delete(key);
	}
}

/** HINCRBY by -1, and the field goes when it reaches 0 (one script, so a concurrent add is never lost). */
const DECREMENT = "local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1) if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end return n";

/**
 * One Redis hash per key, one field per gateway process (`member`, e.g. nodeID|instanceID). A
 * field whose process is no longer live (`isLive`) is not counted; the hash expires an hour after
 * the key's last connection, so what a dead process left behind does not stay either.
 */
export class RedisConnectionTally implements ConnectionTally {
	constructor(
		private readonly redis: Redis,
		private readonly prefix: string,
		private readonly member: string,
		private readonly isLive: (member: string) => boolean,
		private readonly ttlMs = 3_600_000,
	) {}

	private key(key: string) {
		return `${this.prefix}:conn:${key}`;
	}

	async count(key: string) {
		const fields = await this.redis.hgetall(this.key(key));
		let sum = 0;
		for (const [member, n] of Object.entries(fields)) if (member === this.member || this.isLive(member)) sum += Math.max(0, Number(n) || 0);
		return sum;
	}

	async add(key: string) {
		const k = this.key(key);
		await this.redis.multi().hincrby(k, this.member, 1).pexpire(k, this.ttlMs).exec();
	}

	async remove(key: string) {
		await this.redis.eval(DECREMENT, 1, this.key(key), this.member);
	}
}
