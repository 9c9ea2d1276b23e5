import { amountProblem } from "../domain/money";
import type { PaymentDoc } from "../domain/payments/docs";
import { idTime, isId, randomId } from "../tools/ids";
import { invalid } from "../tools/errors";
import type { PaymentsHost } from "./host";
import { providerCall } from "./provider-call";
import { PROVIDER_NAMES } from "./types";

export interface CreateParams {
	paymentId?: string;
	donationId: string;
	amount: number;
	currency: string;
	provider: string;
	method?: string;
	bank?: string;
	donorName?: string;
	email?: string;
	description?: string;
}

export interface CheckoutOptions {
	/** Pending payments expire after this (seconds). */
	ttlSec: number;
	/** The page a payer lands on after a hosted checkout. */
	resultUrl: (paymentId: string) => string;
}

/**
 * Opens the payment for a donation at its provider: one per donation (unique `donationId`), a
 * repeat answers the existing one. The provider is called before anything is stored, with the
 * payment id as its idempotency key and times taken from the id, so a retry sends the same request.
 */
export async function createPayment(host: PaymentsHost, p: CreateParams, opts: CheckoutOptions): Promise<PaymentDoc> {
	const existing = await host.store.findOne({ donationId: p.donationId });
	if (existing) return existing;
	if (!(PROVIDER_NAMES as string[]).includes(p.provider)) {
		throw invalid("provider", `provider must be one of ${PROVIDER_NAMES.join(", ")}`, "VALIDATION_ERROR");
	}
	const provider = host.providers[p.provider];
	if (!provider) throw invalid("provider", `${p.provider} is not enabled on this server`, "PROVIDER_UNAVAILABLE");
	const problem = amountProblem(p.amount, p.currency);
	if (problem) throw invalid("amount", problem);

	const id = p.paymentId ?? randomId();
	const now = new Date();
	// Times sent to the provider come from the id's own creation time, so a retry of this
	// call (same id, the provider's idempotency key) sends exactly the same request.
	const createdAt = isId(id) && idTime(id) <= now.getTime() ? new Date(idTime(id)) : now;
	const expiresAt = new Date(createdAt.getTime() + opts.ttlSec * 1000);
	// The provider is called before anything is stored: a failed call leaves no half-made
	// payment, and a racing duplicate only leaves an unused provider session behind.
	const created = await providerCall(host.logger, () =>
		provider.createPayment({
			paymentId: id,
			donationId: p.donationId,
			amount: p.amount,
			currency: p.currency,
			method: p.method,
			bank: p.bank,
			donorName: p.donorName || undefined,
			email: p.email,
			description: p.description,
			resultUrl: opts.resultUrl(id),
			createdAt,
			expiresAt,
		}),
	);
	const at = now.toISOString();
	const doc: PaymentDoc = {
		_id: id,
		donationId: p.donationId,
		provider: provider.name,
		status: "pending",
		amount: p.amount,
		currency: p.currency,
		method: p.method ?? null,
		action: created.action,
		providerRef: created.providerRef ?? null,
		providerRefs: created.providerRef ? [created.providerRef] : [],
		createdAt: at,
		updatedAt: at,
		expiresAt: (created.expiresAt ?? expiresAt).toISOString(),
		statusAt: at,
		previousStatus: null,
		notifiedStatus: null,
		refundedAmount: 0,
		rev: 0,
		reinstatements: 0,
	};
	// A racing create for the same donation: the row that won is the payment.
	return (await host.store.insertOrGet(doc, { donationId: p.donationId })).doc;
}
