import { boolEnv, intEnv, runtimeMode } from "./env";
import type { Backoff } from "../domain/notify/backoff";

/** Inboxes, the email outbox and outgoing webhooks. */
export interface NotificationsConfig {
	/** Likes on one target within this window share one notification. */
	likeWindowMs: number;
	/** How long a notification's email step may stay pending before the sweep retries it. */
	emailRetryMs: number;
	/** How often the inbox sweep looks for pending email steps. */
	sweepMs: number;
	mail: {
		/** The whole environment: the transport reads SMTP_URL and SMTP_TIMEOUT_MS (lib/tools/mail-transport.ts). */
		transportEnv: NodeJS.ProcessEnv;
		from: string;
		backoff: Backoff;
		maxAttempts: number;
		sweepMs: number;
	};
	webhooks: {
		/** Refuse private and loopback targets (cloud metadata included): on in production unless an operator allows them. */
		blockPrivate: boolean;
		timeoutMs: number;
		retryWindowMs: number;
		backoff: Backoff;
		sweepMs: number;
	};
}

/**
 * Also called on its own (integrations, mailer): it needs none of the secrets `loadConfig` checks, so
 * those services start under NODE_ENV=production with only their own variables set.
 */
export function notificationsConfig(env: NodeJS.ProcessEnv = process.env): NotificationsConfig {
	return {
		likeWindowMs: Math.max(1000, intEnv("LIKE_GROUP_WINDOW_MS", 10 * 60_000, env)),
		emailRetryMs: Math.max(100, intEnv("NOTIFY_EMAIL_RETRY_MS", 30_000, env)),
		sweepMs: Math.max(50, intEnv("NOTIFY_SWEEP_MS", 15_000, env)),
		mail: {
			transportEnv: env,
			from: env.MAIL_FROM || "MediaShar <no-reply@mediashar.local>",
			backoff: { baseMs: Math.max(10, intEnv("MAIL_RETRY_BASE_MS", 30_000, env)), maxMs: Math.max(10, intEnv("MAIL_RETRY_MAX_MS", 3_600_000, env)) },
			maxAttempts: Math.max(1, intEnv("MAIL_MAX_ATTEMPTS", 30, env)),
			sweepMs: Math.max(20, intEnv("MAIL_SWEEP_MS", 5_000, env)),
		},
		webhooks: {
			blockPrivate: boolEnv("WEBHOOK_BLOCK_PRIVATE", runtimeMode(env) === "production", env),
			timeoutMs: Math.max(100, intEnv("WEBHOOK_TIMEOUT_MS", 10_000, env)),
			retryWindowMs: Math.max(1000, intEnv("WEBHOOK_RETRY_WINDOW_MS", 24 * 3600_000, env)),
			backoff: {
				baseMs: Math.max(10, intEnv("WEBHOOK_RETRY_BASE_MS", 10_000, env)),
				maxMs: Math.max(10, intEnv("WEBHOOK_RETRY_MAX_MS", 3600_000, env)),
			},
			sweepMs: Math.max(20, intEnv("WEBHOOK_SWEEP_MS", 5_000, env)),
		},
	};
}
