import { formatMoney } from "../money";
import type { PaymentRef, PaymentStatus, ProviderName } from "../../payments/types";
import type { SandboxOutcome } from "../../payments/sandbox";

/**
 * What the payments service stores (collections `payments`, `payment_events`,
 * `sandbox_deliveries`), what it sends on `payments.statusChanged`, and what it answers.
 */

export interface PaymentDoc {
	_id: string;
	donationId: string;
	provider: ProviderName;
	status: PaymentStatus;
	amount: number;
	currency: string;
	method: string | null;
	action: unknown;
	providerRef: string | null;
	providerRefs: string[];
	createdAt: string;
	updatedAt: string;
	expiresAt: string;
	statusAt: string;
	previousStatus: PaymentStatus | null;
	paidAt?: string;
	/** Set by every change until its `payments.statusChanged` is sent (the outbox mark, lib/db/outbox.ts). */
	effectsDue?: true;
	notifiedStatus: PaymentStatus | null;
	/** Refunded or charged back so far (minor units): < amount while paid, = amount once refunded/reversed. */
	refundedAmount?: number;
	/** What was refunded before a reversal, restored when the dispute is won. */
	refundedBeforeReversal?: number;
	/** Incremented by every change (status or refunded amount). */
	rev?: number;
	/** Times a won dispute reinstated the payment. */
	reinstatements?: number;
}

/** One provider event applied (or found not to apply): the webhook dedupe record, unique `key`. */
export interface PaymentEventDoc {
	_id: string;
	key: string;
	provider: ProviderName;
	eventId: string;
	type: string | null;
	paymentId: string;
	reported: PaymentStatus;
	result: string;
	receivedAt: string;
}

/** A sandbox webhook the sandbox has promised (202) and not yet delivered. */
export interface SandboxDelivery {
	_id: string;
	paymentId: string;
	url: string;
	event: { event_id: string; payment_id: string; status: SandboxOutcome; refunded_total?: number };
	attempts: number;
	nextAt: number;
	createdAt: string;
}

export interface StatusChangedMessage {
	paymentId: string;
	donationId: string;
	provider: ProviderName;
	status: PaymentStatus;
	previousStatus: PaymentStatus | null;
	at: string;
	/** Refunded / charged back so far (a partial refund keeps `status: "paid"`). */
	refundedAmount: number;
	/** Times a won dispute reinstated the payment (orders a late `reversed` after `paid` again). */
	reinstatements: number;
	rev: number;
}

/** What applying a reported status did (`applied`, `no_change`, `too_early`, `invalid_transition`, ...). */
export interface Applied {
	doc: PaymentDoc;
	result: string;
}

/** The part of a collection the payments modules use (mixins/db.mixin.ts Collection fits). */
export interface DocStore<T> {
	find(params: { query?: Record<string, unknown>; sort?: string[]; limit?: number }): Promise<T[]>;
	findOne(query: Record<string, unknown>): Promise<T | null>;
	findById(id: string): Promise<T | null>;
	insert(doc: T): Promise<T>;
	insertOrGet(doc: T, existing: Record<string, unknown>): Promise<{ doc: T; created: boolean }>;
	updateMany(query: Record<string, unknown>, update: Record<string, unknown>): Promise<number>;
	updateIf(query: Record<string, unknown>, update: Record<string, unknown>): Promise<boolean>;
	removeMany(query: Record<string, unknown>): Promise<number>;
}

/** Refunded / charged back so far: a payment refunded or reversed in full before the field existed counts its amount. */
export function refundedSoFar(doc: PaymentDoc): number {
	return doc.refundedAmount ?? (doc.status === "refunded" || doc.status === "reversed" ? doc.amount : 0);
}

/** The `payments.statusChanged` message for the payment's current state. */
export function statusMessage(doc: PaymentDoc): StatusChangedMessage {
	return {
		paymentId: doc._id,
		donationId: doc.donationId,
		provider: doc.provider,
		status: doc.status,
		previousStatus: doc.previousStatus ?? null,
		at: doc.statusAt,
		refundedAmount: refundedSoFar(doc),
		reinstatements: doc.reinstatements ?? 0,
		rev: doc.rev ?? 0,
	};
}

/** What a provider client is told about a stored payment. */
export function paymentRef(doc: PaymentDoc): PaymentRef {
	return {
		id: doc._id,
		providerRef: doc.providerRef ?? undefined,
		providerRefs: doc.providerRefs ?? [],
		amount: doc.amount,
		currency: doc.currency,
		action: (doc.action as PaymentRef["action"]) ?? undefined,
		refundedAmount: doc.refundedAmount ?? 0,
	};
}

/** The payment as the API answers it (the checkout page, `payments.create`, `payments.recheck`). */
export function paymentView(doc: PaymentDoc) {
	return {
		id: doc._id,
		donationId: doc.donationId,
		provider: doc.provider,
		status: doc.status,
		amount: doc.amount,
		currency: doc.currency,
		formattedAmount: formatMoney(doc.amount, doc.currency),
		method: doc.method ?? null,
		action: doc.action ?? null,
		createdAt: doc.createdAt,
		...(doc.paidAt ? { paidAt: doc.paidAt } : {}),
		refundedAmount: refundedSoFar(doc),
		expiresAt: doc.expiresAt,
		statusAt: doc.statusAt,
	};
}

export type PaymentView = ReturnType<typeof paymentView>;
