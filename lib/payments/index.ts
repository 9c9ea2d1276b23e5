import type { AppConfig } from "../config";
import { MidtransProvider } from "./midtrans";
import { PayPalProvider } from "./paypal";
import { SandboxProvider } from "./sandbox";
import { StripeProvider } from "./stripe";
import type { PaymentProvider, ProviderName } from "./types";

export * from "./types";
export { SandboxProvider } from "./sandbox";
export { StripeProvider } from "./stripe";
export { MidtransProvider } from "./midtrans";
export { PayPalProvider } from "./paypal";

/**
 * The providers this node can use, from configuration: the sandbox unless it is switched off,
 * and each real provider only when its keys are set.
 */
export function buildProviders(cfg: AppConfig): Partial<Record<ProviderName, PaymentProvider>> {
	const out: Partial<Record<ProviderName, PaymentProvider>> = {};
	if (cfg.sandbox.enabled) out.sandbox = new SandboxProvider({ webhookSecret: cfg.sandbox.webhookSecret, publicUrl: cfg.publicUrl });
	if (cfg.stripe.secretKey) {
		out.stripe = new StripeProvider({ secretKey: cfg.stripe.secretKey, webhookSecret: cfg.stripe.webhookSecret, apiBase: cfg.stripe.apiBase });
	}
	if (cfg.midtrans.serverKey) {
		out.midtrans = new MidtransProvider({ serverKey: cfg.midtrans.serverKey, apiBase: cfg.midtrans.apiBase, snapBase: cfg.midtrans.snapBase });
	}
	if (cfg.paypal.clientId && cfg.paypal.clientSecret) {
		out.paypal = new PayPalProvider({
			clientId: cfg.paypal.clientId,
			clientSecret: cfg.paypal.clientSecret,
			webhookId: cfg.paypal.webhookId,
			apiBase: cfg.paypal.apiBase,
			returnUrl: `${cfg.publicUrl}/api/payments/paypal/return`,
		});
	}
	return out;
}
