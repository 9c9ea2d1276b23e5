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
	const { sandbox, stripe, midtrans, paypal } = cfg.payments;
	if (sandbox.enabled) out.sandbox = new SandboxProvider({ webhookSecret: sandbox.webhookSecret, publicUrl: cfg.publicUrl });
	if (stripe.secretKey) {
		out.stripe = new StripeProvider({ secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, apiBase: stripe.apiBase });
	}
	if (midtrans.serverKey) {
		out.midtrans = new MidtransProvider({ serverKey: midtrans.serverKey, apiBase: midtrans.apiBase, snapBase: midtrans.snapBase });
	}
	if (paypal.clientId && paypal.clientSecret) {
		out.paypal = new PayPalProvider({
			clientId: paypal.clientId,
			clientSecret: paypal.clientSecret,
			webhookId: paypal.webhookId,
			apiBase: paypal.apiBase,
			returnUrl: `${cfg.publicUrl}/api/payments/paypal/return`,
		});
	}
	return out;
}
