/**
 * Application settings read from the environment: secrets, provider keys and product knobs.
 * Transport, cache and database selection live in moleculer.config.ts; everything else is here,
 * read once per call so tests can change process.env before starting a broker. Each context
 * has its section in a file of this folder (`social.ts` → `loadConfig().social`); services read
 * their settings from here in `created()`, never from process.env.
 */

import { boolEnv, intEnv, runtimeMode, secret, type RuntimeMode } from "./env";
import { socialConfig, type SocialConfig } from "./social";
import { accountsConfig, type AccountsConfig } from "./accounts";
import { alertsConfig, type AlertsConfig } from "./alerts";
import { paymentsConfig, type PaymentsConfig } from "./payments";
import { chatConfig, type ChatConfig } from "./chat";
import { donationsConfig, type DonationsConfig } from "./donations";
import { notificationsConfig, type NotificationsConfig } from "./notifications";
import { opsConfig, type OpsConfig } from "./ops";
import { gatewayConfig, type GatewayConfig } from "./gateway";
import { ttsConfig, type TtsConfig } from "./tts";
import { payoutsConfig, type PayoutsConfig } from "./payouts";
import { mediaConfig, type MediaConfig } from "./media";
import { discoveryConfig, type DiscoveryConfig } from "./discovery";

export { boolEnv, intEnv, runtimeMode, secret, type RuntimeMode };

export interface AppConfig {
	mode: RuntimeMode;
	jwtSecret: string;
	accessTokenTtlSec: number;
	refreshTokenTtlSec: number;
	publicUrl: string;
	platformFeeBps: number;
	/** Bearer token `/metrics` asks for; unset (development, tests) → `/metrics` is open. */
	metricsToken?: string;
	/** Longest time a request body may take to arrive, ms (408 after it). */
	bodyTimeoutMs: number;
	/** Socket.IO per client IP: open sockets, and handshakes per minute. */
	socketLimits: { perIp: number; handshakesPerMin: number };
	social: SocialConfig;
	accounts: AccountsConfig;
	alerts: AlertsConfig;
	payments: PaymentsConfig;
	chat: ChatConfig;
	donations: DonationsConfig;
	notifications: NotificationsConfig;
	ops: OpsConfig;
	gateway: GatewayConfig;
	tts: TtsConfig;
	payouts: PayoutsConfig;
	media: MediaConfig;
	discovery: DiscoveryConfig;
}

/** Reads and validates every application setting; throws a sentence naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
	const mode = runtimeMode(env);
	const port = intEnv("PORT", 3000, env);
	const cfg: AppConfig = {
		mode,
		jwtSecret: secret("JWT_SECRET", env),
		accessTokenTtlSec: intEnv("ACCESS_TOKEN_TTL_SEC", 15 * 60, env),
		refreshTokenTtlSec: intEnv("REFRESH_TOKEN_TTL_SEC", 30 * 24 * 3600, env),
		publicUrl: (env.PUBLIC_URL || `http://localhost:${port}`).replace(/\/+$/, ""),
		platformFeeBps: intEnv("PLATFORM_FEE_BPS", 0, env),
		payments: paymentsConfig(env, mode),
		metricsToken: env.METRICS_TOKEN || undefined,
		bodyTimeoutMs: intEnv("BODY_TIMEOUT_MS", 10_000, env),
		socketLimits: {
			perIp: intEnv("SOCKET_MAX_PER_IP", 100, env),
			handshakesPerMin: intEnv("SOCKET_HANDSHAKES_PER_IP_PER_MIN", 120, env),
		},
		social: socialConfig(env),
		accounts: accountsConfig(env),
		alerts: alertsConfig(env),
		chat: chatConfig(env),
		donations: donationsConfig(env),
		notifications: notificationsConfig(env),
		ops: opsConfig(env),
		gateway: gatewayConfig(env),
		tts: ttsConfig(env),
		payouts: payoutsConfig(env),
		media: mediaConfig(env),
		discovery: discoveryConfig(env),
	};
	if (cfg.platformFeeBps < 0 || cfg.platformFeeBps > 10_000) {
		throw new Error("PLATFORM_FEE_BPS must be between 0 and 10000 (basis points).");
	}
	if (mode === "production") {
		if (cfg.payments.stripe.secretKey && !cfg.payments.stripe.webhookSecret)
			throw new Error("STRIPE_WEBHOOK_SECRET must be set when STRIPE_SECRET_KEY is.");
		if (cfg.payments.paypal.clientId && !cfg.payments.paypal.webhookId) throw new Error("PAYPAL_WEBHOOK_ID must be set when PAYPAL_CLIENT_ID is.");
		// /metrics describes the whole cluster: never open in production.
		if (!cfg.metricsToken) throw new Error(`METRICS_TOKEN must be set when NODE_ENV=${env.NODE_ENV} (/metrics asks for it as a bearer token).`);
	}
	if (cfg.bodyTimeoutMs <= 0) throw new Error("BODY_TIMEOUT_MS must be a positive number of milliseconds.");
	return cfg;
}
