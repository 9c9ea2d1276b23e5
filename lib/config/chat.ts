import { intEnv } from "./env";

/** Channel chat and direct messages. */
export interface ChatConfig {
	/** Messages per user per 2 s (channel and direct messages together; `RATE_LIMITED` above). */
	rateBurst: number;
	/** Messages per user per 30 s. */
	rateSustained: number;
	/** Coalescing window of `presence` (viewer count) updates, ms. */
	presenceWindowMs: number;
	/** Channel messages older than this many days are deleted (0 keeps them); direct messages are kept. */
	historyDays: number;
}

export function chatConfig(env: NodeJS.ProcessEnv): ChatConfig {
	return {
		rateBurst: intEnv("CHAT_RATE_BURST", 5, env),
		rateSustained: intEnv("CHAT_RATE_SUSTAINED", 20, env),
		presenceWindowMs: intEnv("CHAT_PRESENCE_WINDOW_MS", 300, env),
		historyDays: intEnv("CHAT_HISTORY_DAYS", 30, env),
	};
}
