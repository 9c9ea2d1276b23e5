import type { AppConfig } from "../config";
import { MidtransIrisPayoutProvider } from "./midtrans";
import { PayPalPayoutProvider } from "./paypal";
import { StripePayoutProvider } from "./stripe";
import { SandboxPayoutProvider } from "./sandbox";
import type { PayoutProvider } from "./types";

export * from "./types";
export { SandboxPayoutProvider } from "./sandbox";
export { MidtransIrisPayoutProvider } from "./midtrans";
export { PayPalPayoutProvider } from "./paypal";
export { StripePayoutProvider } from "./stripe";

/**
 * The payout providers this node can use, from configuration: the sandbox unless payments'
 * sandbox is off (production without PAYMENTS_SANDBOX), each real provider only when its keys
 * are set. No prototype: a provider named by a request must not resolve to Object's members.
 */
export function buildPayoutProviders(cfg: AppConfig): Record<string, PayoutProvider | undefined> {
	const out = Object.create(null) as Record<string, PayoutProvider | undefined>;
	const { sandbox } = cfg.payments;
	if (sandbox.enabled) out.sandbox = new SandboxPayoutProvider(sandbox.webhookSecret);
	const iris = cfg.payouts.midtrans;
	const { paypal, stripe } = cfg.payments;
	if (stripe.secretKey)
		out.stripe = new StripePayoutProvider({ secretKey: stripe.secretKey, webhookSecret: cfg.payouts.stripeWebhookSecret, apiBase: stripe.apiBase });
	if (paypal.clientId && paypal.clientSecret) {
		const webhookId = cfg.payouts.paypalWebhookId ?? paypal.webhookId;
		out.paypal = new PayPalPayoutProvider({ clientId: paypal.clientId, clientSecret: paypal.clientSecret, webhookId, apiBase: paypal.apiBase });
	}
	if (iris.apiKey) out.midtrans = new MidtransIrisPayoutProvider({ apiKey: iris.apiKey, merchantKey: iris.merchantKey, apiBase: iris.apiBase });
	return out;
}
