import Redis from "ioredis";

/** One ioredis client per purpose, from REDIS_URL; null when Redis is not configured. */
export function redisUrl(env: NodeJS.ProcessEnv = process.env): string | null {
	return env.REDIS_URL || null;
}

export function createRedis(url: string, name: string): Redis {
	return new Redis(url, { connectionName: `mediashar-${name}`, maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
}
