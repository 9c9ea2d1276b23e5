import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { counterNamespace, createCounters } from "../../../../lib/db/counters";
import { MemoryCounterStore, RedisCounterStore } from "../../../../lib/tools/rate-limit";
import { hasRedisServer, startRedisServer } from "../../../support/redis";

describe("createCounters without REDIS_URL", () => {
	it("counts in this process's memory, with no Redis client", async () => {
		const counters = createCounters("test", "rl", {});
		try {
			expect(counters.redis).toBeNull();
			expect(counters.store).toBeInstanceOf(MemoryCounterStore);
			expect(await counters.store.hit("k", 60_000)).toBe(1);
			expect(await counters.store.hit("k", 60_000)).toBe(2);
			// Two factories are two memories: nothing is shared without Redis.
			const other = createCounters("test", "rl", {});
			expect(await other.store.hit("k", 60_000)).toBe(1);
			other.close();
		} finally {
			counters.close();
		}
	});

	it("the key namespace is NAMESPACE, mediashar by default", () => {
		expect(counterNamespace({})).toBe("mediashar");
		expect(counterNamespace({ NAMESPACE: "staging" })).toBe("staging");
	});
});

describe.skipIf(!hasRedisServer)("createCounters with REDIS_URL", () => {
	let redis: Awaited<ReturnType<typeof startRedisServer>>;
	beforeAll(async () => {
		redis = await startRedisServer();
	});
	afterAll(() => redis?.stop());

	it("counts in Redis under <NAMESPACE>:<keyPrefix>, shared by every factory (every node)", async () => {
		const env = { REDIS_URL: redis.url, NAMESPACE: "unit" };
		const a = createCounters("test-a", "rl", env);
		const b = createCounters("test-b", "rl", env);
		try {
			expect(a.store).toBeInstanceOf(RedisCounterStore);
			expect(a.redis).not.toBeNull();
			expect(await a.store.hit("ip:1.2.3.4", 60_000)).toBe(1);
			expect(await b.store.hit("ip:1.2.3.4", 60_000)).toBe(2);
			const keys = await a.redis!.keys("*");
			expect(keys.length).toBeGreaterThan(0);
			for (const k of keys) expect(k.startsWith("unit:rl:")).toBe(true);
			// The client is named after its purpose (CLIENT LIST shows it).
			expect(await a.redis!.client("GETNAME")).toBe("mediashar-test-a");
		} finally {
			a.close();
			b.close();
		}
		await expect(a.redis!.ping()).rejects.toThrow();
	});
});
