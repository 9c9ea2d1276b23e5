import type { Applied, PaymentDoc } from "../domain/payments/docs";
import { paymentRef } from "../domain/payments/docs";
import { badRequest, conflict, notFound } from "../tools/errors";
import { newId } from "../tools/ids";
import type { PaymentsHost } from "./host";
import { providerCall, providerFailure } from "./provider-call";
import { PayerActionRequired, WebhookPayloadError, WebhookSignatureError, type ProviderEvent, type ProviderName } from "./types";

/**
 * Provider webhooks: verify the delivery's signature (nothing changes without it), confirm with the
 * provider's API what the signature does not cover, dedupe by event id (`payment_events`, unique
 * `key`), find the payment, apply the transition. An event that arrives before the settlement it
 * undoes answers 409, so the provider delivers it again later.
 */

export type EventResult =
	| { received: true; duplicate: true }
	| { received: true; ignored: "event_type" | "unknown_payment" | "provider_mismatch" }
	| { received: true; paymentId: string; status: string; result: string };

export type WebhookResult = EventResult | { received: true; results: EventResult[] };

export async function receiveWebhook(
	host: PaymentsHost,
	providerName: string,
	rawBody: string,
	headers: Record<string, string | undefined>,
): Promise<WebhookResult> {
	const provider = host.providers[providerName];
	if (!provider) throw notFound(`Webhook endpoint for ${providerName}`, "PROVIDER_UNAVAILABLE");
	let events: unknown[];
	try {
		events = await providerCall(host.logger, () => provider.verifyWebhook(rawBody, headers));
	} catch (err) {
		if (err instanceof WebhookSignatureError) {
			host.logger.warn(`Rejected ${providerName} webhook: ${err.reason}`);
			throw badRequest("Webhook signature is missing or not valid", "INVALID_SIGNATURE", { reason: err.reason });
		}
		if (err instanceof WebhookPayloadError) throw badRequest(err.message, "INVALID_BODY");
		throw err;
	}
	const results: EventResult[] = [];
	for (const raw of events) {
		let ev: ProviderEvent | null;
		try {
			// A provider whose signature does not cover the status (Midtrans) is asked for it.
			ev = provider.confirm ? await providerCall(host.logger, () => provider.confirm!(raw)) : provider.parseEvent(raw);
		} catch (err) {
			if (err instanceof WebhookPayloadError) throw badRequest(err.message, "INVALID_BODY");
			throw err;
		}
		results.push(ev ? await handleEvent(host, provider.name, ev) : { received: true, ignored: "event_type" });
	}
	return results.length === 1 ? results[0] : { received: true, results };
}

/** One verified event: dedupe by event id, find the payment, apply the transition. */
export async function handleEvent(host: PaymentsHost, providerName: ProviderName, ev: ProviderEvent): Promise<EventResult> {
	const events = host.stores.payment_events;
	const key = `${providerName}:${ev.eventId}`;
	if (await events.findOne({ key })) return { received: true, duplicate: true };
	const doc = await findForEvent(host, ev);
	if (!doc) {
		// Not ours (another integration on the same provider account) or long gone: a 4xx
		// would only make the provider retry for days, so it is acknowledged and logged.
		host.logger.info(`Ignored ${providerName} event ${ev.eventId}: no matching payment`);
		return { received: true, ignored: "unknown_payment" };
	}
	if (doc.provider !== providerName) {
		host.logger.warn(`Ignored ${providerName} event ${ev.eventId} for a ${doc.provider} payment ${doc._id}`);
		return { received: true, ignored: "provider_mismatch" };
	}
	const outcome = ev.captureRef ? await captureApproved(host, doc, ev) : await host.applyReported(doc, ev);
	if (outcome.result === "too_early") {
		throw conflict("This payment has not settled yet; deliver this event again later", "PAYMENT_NOT_SETTLED", {
			paymentId: doc._id,
			status: doc.status,
		});
	}
	// Recorded after the transition: a crash in between means the provider's retry is
	// applied again, which the conditional update turns into a no-op.
	const { created } = await events.insertOrGet(
		{
			_id: newId(),
			key,
			provider: providerName,
			eventId: ev.eventId,
			type: ev.type ?? null,
			paymentId: doc._id,
			reported: ev.status,
			result: outcome.result,
			receivedAt: new Date().toISOString(),
		},
		{ key },
	);
	if (!created) return { received: true, duplicate: true };
	return { received: true, paymentId: doc._id, status: outcome.doc.status, result: outcome.result };
}

export async function findForEvent(host: PaymentsHost, ev: ProviderEvent): Promise<PaymentDoc | null> {
	// An event that names a payment id is about that payment only: an id we do not know
	// belongs to another system sharing the provider account, not to a look-alike of ours.
	if (ev.paymentId) return host.store.findById(ev.paymentId);
	const refs = (ev.providerRefs ?? []).filter((r) => typeof r === "string" && r.length > 0);
	if (refs.length) return host.store.findOne({ providerRefs: { $in: refs } });
	return null;
}

/** The payer approved at the provider (PayPal CHECKOUT.ORDER.APPROVED): capture at once and apply. */
export async function captureApproved(host: PaymentsHost, doc: PaymentDoc, ev: ProviderEvent): Promise<Applied> {
	const provider = host.providers[doc.provider];
	if (doc.status !== "pending" || !provider?.capture) return { doc, result: "no_change" };
	try {
		const captured = await provider.capture(paymentRef(doc), ev.captureRef!);
		return captured ? await host.applyReported(doc, captured) : { doc, result: "no_change" };
	} catch (err) {
		if (!(err instanceof PayerActionRequired)) throw providerFailure(host.logger, err);
		// Declined funding source: the payer is sent back to PayPal when they return to us.
		await host.store.updateIf({ _id: doc._id, status: "pending" }, { $set: { action: err.action, updatedAt: new Date().toISOString() } });
		return { doc, result: "payer_action" };
	}
}
