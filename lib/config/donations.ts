import { intEnv } from "./env";

/** Donations, the ledger and the maintained stats (services/donations/), and donation Idempotency-Keys. */
export interface DonationsConfig {
	/**
	 * How often unfinished donation effects are re-driven (and expired Idempotency-Keys swept); also
	 * how long a node owns a donation's aggregate update before the re-drive takes it over.
	 */
	redriveMs: number;
	idempotency: {
		/** A key left "running" by a node that died is taken over after this (longer than any request may run). */
		leaseMs: number;
		/** How long a key and its stored response are kept. */
		ttlMs: number;
	};
}

export function donationsConfig(env: NodeJS.ProcessEnv): DonationsConfig {
	return {
		redriveMs: intEnv("REDRIVE_INTERVAL_MS", 30_000, env),
		idempotency: { leaseMs: intEnv("IDEMPOTENCY_LEASE_MS", 30_000, env), ttlMs: 24 * 3600_000 },
	};
}
