import type { Logger } from "moleculer";
import type { Applied, DocStore, PaymentDoc, PaymentEventDoc, SandboxDelivery } from "../domain/payments/docs";
import type { PaymentProvider, ProviderEvent } from "./types";

/**
 * What the payments modules (checkout, webhooks, refunds, sweeps, sandbox deliveries) need from
 * the payments service (services/payments/payments.service.ts): its collections, the providers
 * this node has, its log, and the few steps one concern hands to another. The service is the host.
 */
export interface PaymentsHost {
	store: DocStore<PaymentDoc>;
	stores: { payment_events: DocStore<PaymentEventDoc>; sandbox_deliveries: DocStore<SandboxDelivery> };
	/** By provider name, without a prototype: a name from a request ("constructor") resolves to nothing. */
	providers: Record<string, PaymentProvider | undefined>;
	logger: Logger;
	/** Set when the service stops: loops end early, their work is picked up by the next start. */
	stopping: boolean;
	/** Applies a status a provider reported (lib/domain/payments/apply.ts) and notifies. */
	applyReported(doc: PaymentDoc, ev: ProviderEvent): Promise<Applied>;
	/** Verifies and applies one webhook delivery (lib/payments/webhooks.ts). */
	receiveWebhook(providerName: string, rawBody: string, headers: Record<string, string | undefined>): Promise<unknown>;
	/** Sends payments.statusChanged for the payment's current state, then clears its mark. */
	notify(doc: PaymentDoc): Promise<void>;
	/** Keeps background work so stopping can wait for it. */
	track(p: Promise<unknown>): void;
}
