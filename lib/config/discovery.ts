import { intEnv } from "./env";

/** Creator search and explore (services/discovery/). */
export interface DiscoveryConfig {
	/** How often a search node reads the accounts changed since its last look (catches events it missed). */
	resyncMs: number;
	/** Accounts per page when a search node rebuilds its index from the users store at start. */
	rebuildPage: number;
}

export function discoveryConfig(env: NodeJS.ProcessEnv): DiscoveryConfig {
	return {
		resyncMs: Math.max(100, intEnv("SEARCH_RESYNC_MS", 30_000, env)),
		rebuildPage: Math.min(5000, Math.max(100, intEnv("SEARCH_REBUILD_PAGE", 2000, env))),
	};
}
