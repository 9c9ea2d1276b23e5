import type { PaymentDoc } from "../domain/payments/docs";
import { paymentRef } from "../domain/payments/docs";
import { conflict, invalid } from "../tools/errors";
import { newId } from "../tools/ids";
import type { PaymentsHost } from "./host";
import { providerCall } from "./provider-call";
import { applySandboxEvent } from "./sandbox-deliveries";
import type { SandboxProvider } from "./sandbox";

/**
 * Full refund of a paid payment at its provider (who may ask is the service's check). The sandbox
 * refunds through its own signed webhook, applied here; a real provider is asked (with the
 * payment's idempotency key) and whatever it reports now is applied, the rest arrives by webhook.
 * Partial refunds and chargebacks come from the provider (lib/domain/payments/apply.ts).
 */
export async function refundAtProvider(host: PaymentsHost, doc: PaymentDoc): Promise<PaymentDoc> {
	if (doc.status !== "paid") throw conflict(`A ${doc.status} payment cannot be refunded`, "INVALID_PAYMENT_STATE", { status: doc.status });
	const provider = host.providers[doc.provider];
	if (!provider) throw invalid("provider", `${doc.provider} is not enabled on this server`, "PROVIDER_UNAVAILABLE");
	if (doc.provider === "sandbox") {
		await applySandboxEvent(host, provider as SandboxProvider, { event_id: newId(), payment_id: doc._id, status: "refund" });
	} else {
		if (!provider.refund) throw invalid("provider", `${doc.provider} refunds are not supported`, "NOT_REFUNDABLE");
		const ev = await providerCall(host.logger, () => provider.refund!(paymentRef(doc)));
		if (ev) await host.applyReported(doc, ev);
	}
	return (await host.store.findById(doc._id)) ?? doc;
}
