/** Operators' endpoints (health, metrics, API docs). */
export interface OpsConfig {
	/**
	 * HEALTH_REQUIRED_SERVICES as set (a comma-separated list; unset: every service whose code is in
	 * this checkout), read by lib/ops/health.ts `requiredServices`.
	 */
	healthRequiredServices?: string;
}

export function opsConfig(env: NodeJS.ProcessEnv): OpsConfig {
	return { healthRequiredServices: env.HEALTH_REQUIRED_SERVICES };
}
