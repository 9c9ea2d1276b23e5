import { CURRENCIES } from "../domain/money";
import { intEnv, secret } from "./env";

/** Payouts: money out to creators (services/payouts). */
export interface PayoutsConfig {
	/** Credits younger than this are held (the chargeback window), ms. */
	holdMs: number;
	/** A new or changed payout account may be paid out to only after this, ms. */
	accountCooldownMs: number;
	/** Smallest payout per currency, minor units (PAYOUT_MIN_<CURRENCY>). */
	minimum: Record<string, number>;
	/** Payouts up to this amount are approved without an operator (PAYOUT_AUTO_APPROVE_MAX_<CURRENCY>; 0 = never). */
	autoApproveMax: Record<string, number>;
	/** The provider that executes approved payouts (PAYOUT_PROVIDER; default the sandbox). */
	provider: string;
	/** How often the sweep re-drives unfinished effects and asks the provider about stuck payouts, ms. */
	sweepMs: number;
	/** A payout whose effects are still due this long after its last change is re-driven by the sweep, ms. */
	redriveMs: number;
	/** A payout `processing` for longer than this is asked about at its provider, ms. */
	stuckMs: number;
	/** Midtrans Payouts (Iris): on when its API key is set. */
	midtrans: { apiKey?: string; merchantKey?: string; apiBase: string };
	/** PayPal Payouts uses the payments' PayPal keys; its webhook may have its own id (else PAYPAL_WEBHOOK_ID). */
	paypalWebhookId?: string;
	/** Stripe Connect transfers use STRIPE_SECRET_KEY; their webhook endpoint has its own signing secret. */
	stripeWebhookSecret?: string;
}

/** Rp 50.000 in IDR, 10.00 in two-decimal currencies (1000 minor units; ¥1000 in JPY). */
function defaultMinimum(code: string): number {
	return code === "IDR" ? 50_000_00 : 1000;
}

export function payoutsConfig(env: NodeJS.ProcessEnv): PayoutsConfig {
	const minimum: Record<string, number> = {};
	const autoApproveMax: Record<string, number> = {};
	for (const code of Object.keys(CURRENCIES)) {
		minimum[code] = Math.max(1, intEnv(`PAYOUT_MIN_${code}`, defaultMinimum(code), env));
		autoApproveMax[code] = Math.max(0, intEnv(`PAYOUT_AUTO_APPROVE_MAX_${code}`, 0, env));
	}
	return {
		holdMs: Math.max(0, intEnv("PAYOUT_HOLD_SEC", 259_200, env)) * 1000,
		accountCooldownMs: Math.max(0, intEnv("PAYOUT_ACCOUNT_COOLDOWN_SEC", 86_400, env)) * 1000,
		minimum,
		autoApproveMax,
		provider: env.PAYOUT_PROVIDER || "sandbox",
		sweepMs: Math.max(50, intEnv("PAYOUT_SWEEP_MS", 30_000, env)),
		redriveMs: Math.max(0, intEnv("PAYOUT_REDRIVE_MS", 30_000, env)),
		stuckMs: Math.max(0, intEnv("PAYOUT_STUCK_SEC", 600, env)) * 1000,
		paypalWebhookId: env.PAYPAL_PAYOUT_WEBHOOK_ID || undefined,
		stripeWebhookSecret: env.STRIPE_PAYOUT_WEBHOOK_SECRET || undefined,
		midtrans: {
			apiKey: env.MIDTRANS_IRIS_API_KEY || undefined,
			merchantKey: env.MIDTRANS_IRIS_MERCHANT_KEY || undefined,
			apiBase: (env.MIDTRANS_IRIS_API_BASE || "https://app.sandbox.midtrans.com/iris").replace(/\/+$/, ""),
		},
	};
}

/**
 * The key payout account details are sealed with (lib/tools/sealed.ts). Read only by the payouts
 * service, so nodes without it need no key; required outside development and tests.
 */
export function payoutEncryptionKey(env: NodeJS.ProcessEnv = process.env): string {
	return secret("PAYOUT_ENCRYPTION_KEY", env);
}
