import { intEnv } from "./env";

/** Posts, likes, comments and follows. */
export interface SocialConfig {
	/** How long a row's notification may stay unsent before the sweep sends it again (and how often it looks). */
	redriveMs: number;
}

export function socialConfig(env: NodeJS.ProcessEnv): SocialConfig {
	return { redriveMs: Math.max(50, intEnv("SOCIAL_REDRIVE_MS", 30_000, env)) };
}
