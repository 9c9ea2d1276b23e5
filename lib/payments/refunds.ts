import type { PaymentDoc } from "../domain/payments/docs";
import { paymentRef, refundedSoFar } from "../domain/payments/docs";
import { conflict, invalid } from "../tools/errors";
import type { PaymentsHost } from "./host";
import { providerCall } from "./provider-call";
import { applySandboxEvent } from "./sandbox-deliveries";
import type { SandboxProvider } from "./sandbox";

/**
 * What a refund of `requested` (minor units; undefined = what remains) of a payment is: the amount
 * and the provider idempotency key. The key names the refunded total the refund starts from, so
 * two requests made from the same state (a retry, a double click, two nodes) are one refund at
 * the provider; the next refund starts from the new total and gets a new key. 422
 * REFUND_TOO_LARGE beyond what remains.
 */
export function planRefund(doc: Pick<PaymentDoc, "_id" | "amount" | "status" | "refundedAmount">, requested?: number): { amount: number; key: string } {
	const before = refundedSoFar(doc as PaymentDoc);
	const remaining = doc.amount - before;
	const amount = requested ?? remaining;
	if (!Number.isInteger(amount) || amount < 1 || amount > remaining) {
		throw invalid("amount", `A refund is 1 to ${remaining} (what remains unrefunded)`, "REFUND_TOO_LARGE", { remaining });
	}
	return { amount, key: `refund-${doc._id}-from-${before}` };
}

/**
 * Refund of a paid payment at its provider, in full or in part (who may ask is the service's
 * check). The sandbox refunds through its own signed webhook, applied here (its event id is the
 * refund key, so the webhook dedupe makes a repeat one refund); a real provider is asked (with
 * the refund key) and whatever it reports now is applied, the rest arrives by webhook. A partial
 * refund keeps the payment paid with `refundedAmount`; the last part makes it refunded.
 */
export async function refundAtProvider(host: PaymentsHost, doc: PaymentDoc, requested?: number): Promise<PaymentDoc> {
	if (doc.status !== "paid") throw conflict(`A ${doc.status} payment cannot be refunded`, "INVALID_PAYMENT_STATE", { status: doc.status });
	const provider = host.providers[doc.provider];
	if (!provider) throw invalid("provider", `${doc.provider} is not enabled on this server`, "PROVIDER_UNAVAILABLE");
	const refund = planRefund(doc, requested);
	if (doc.provider === "sandbox") {
		const total = refundedSoFar(doc) + refund.amount;
		await applySandboxEvent(host, provider as SandboxProvider, {
			event_id: refund.key,
			payment_id: doc._id,
			status: "refund",
			...(total < doc.amount ? { refunded_total: total } : {}),
		});
	} else {
		if (!provider.refund) throw invalid("provider", `${doc.provider} refunds are not supported`, "NOT_REFUNDABLE");
		const ev = await providerCall(host.logger, () => provider.refund!(paymentRef(doc), refund));
		if (ev) await host.applyReported(doc, ev);
	}
	return (await host.store.findById(doc._id)) ?? doc;
}
