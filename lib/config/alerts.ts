import { intEnv } from "./env";

/** The overlay alert queue (services/alerts). */
export interface AlertsConfig {
	/** Extra time an overlay has to acknowledge an alert (beyond its display time) before it is sent again. */
	ackGraceMs: number;
	/** How often overdue alerts and undriven queues are looked for. */
	tickMs: number;
}

export function alertsConfig(env: NodeJS.ProcessEnv): AlertsConfig {
	return { ackGraceMs: intEnv("ALERT_ACK_GRACE_MS", 5_000, env), tickMs: intEnv("ALERT_TICK_MS", 1_000, env) };
}
