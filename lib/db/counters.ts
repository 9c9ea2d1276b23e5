import type Redis from "ioredis";
import { createRedis, redisUrl } from "./redis";
import { MemoryCounterStore, RedisCounterStore, type CounterStore } from "../tools/rate-limit";

/**
 * The counter store every limit uses (HTTP rate limits, chat send limits, login throttling):
 * Redis when `REDIS_URL` is set, so every node counts the same hits, else this process's
 * memory. `redis` is the client (null in memory), for callers that keep more state beside the
 * counters (the gateway's socket tally). `close()` ends both.
 */
export interface Counters {
	store: CounterStore;
	redis: Redis | null;
	close(): void;
}

/**
 * `purpose` names the Redis connection (`mediashar-<purpose>` in CLIENT LIST); `keyPrefix` is the
 * part of every key after the namespace (`<NAMESPACE>:<keyPrefix>:…`).
 */
export function createCounters(purpose: string, keyPrefix: string, env: NodeJS.ProcessEnv = process.env): Counters {
	const url = redisUrl(env);
	if (!url) {
		const store = new MemoryCounterStore();
		return { store, redis: null, close: () => store.close?.() };
	}
	const redis = createRedis(url, purpose);
	const store = new RedisCounterStore(redis, `${counterNamespace(env)}:${keyPrefix}`);
	return {
		store,
		redis,
		close: () => redis.disconnect(),
	};
}

/** The key namespace shared by every node of one deployment (`NAMESPACE`, default `mediashar`). */
export function counterNamespace(env: NodeJS.ProcessEnv = process.env): string {
	return env.NAMESPACE || "mediashar";
}
