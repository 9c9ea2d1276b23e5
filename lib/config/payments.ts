import { boolEnv, intEnv, secret, type RuntimeMode } from "./env";

/** Payments: the providers' keys, the payment lifetime and the background sweeps (services/payments). */
export interface PaymentsConfig {
	/** Pending payments expire after this (seconds). */
	ttlSec: number;
	/** The expiry sweep and status re-drive interval (ms). */
	sweepMs: number;
	/** Extra time a real provider's payment gets for the provider's own expiry webhook (ms). */
	expiryGraceMs: number;
	/** Where the sandbox POSTs its webhooks; empty → the gateway that took the request. */
	sandboxWebhookUrl: string;
	/** This node's HTTP port, for the sandbox's webhook address when the request did not carry one. */
	port: number;
	sandbox: { enabled: boolean; webhookSecret: string };
	stripe: { secretKey?: string; webhookSecret?: string; apiBase: string };
	midtrans: { serverKey?: string; apiBase: string; snapBase: string };
	paypal: { clientId?: string; clientSecret?: string; webhookId?: string; apiBase: string };
}

export function paymentsConfig(env: NodeJS.ProcessEnv, mode: RuntimeMode): PaymentsConfig {
	const sandboxEnabled = mode !== "production" || boolEnv("PAYMENTS_SANDBOX", false, env);
	return {
		ttlSec: intEnv("PAYMENT_TTL_SEC", 30 * 60, env),
		sweepMs: Math.max(intEnv("PAYMENT_SWEEP_SEC", 5, env), 1) * 1000,
		expiryGraceMs: Math.max(intEnv("PAYMENT_EXPIRY_GRACE_SEC", 300, env), 0) * 1000,
		sandboxWebhookUrl: env.SANDBOX_WEBHOOK_URL || "",
		port: intEnv("PORT", 3000, env),
		sandbox: {
			enabled: sandboxEnabled,
			webhookSecret: sandboxEnabled ? secret("SANDBOX_WEBHOOK_SECRET", env) : "",
		},
		stripe: {
			secretKey: env.STRIPE_SECRET_KEY || undefined,
			webhookSecret: env.STRIPE_WEBHOOK_SECRET || undefined,
			apiBase: (env.STRIPE_API_BASE || "https://api.stripe.com").replace(/\/+$/, ""),
		},
		midtrans: {
			serverKey: env.MIDTRANS_SERVER_KEY || undefined,
			apiBase: (env.MIDTRANS_API_BASE || "https://api.sandbox.midtrans.com").replace(/\/+$/, ""),
			snapBase: (env.MIDTRANS_SNAP_BASE || "https://app.sandbox.midtrans.com/snap").replace(/\/+$/, ""),
		},
		paypal: {
			clientId: env.PAYPAL_CLIENT_ID || undefined,
			clientSecret: env.PAYPAL_CLIENT_SECRET || undefined,
			webhookId: env.PAYPAL_WEBHOOK_ID || undefined,
			apiBase: (env.PAYPAL_API_BASE || "https://api-m.sandbox.paypal.com").replace(/\/+$/, ""),
		},
	};
}
