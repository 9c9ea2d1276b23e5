/**
 * The shape every payout provider module implements (as lib/payments does for money in). A
 * provider is plain TypeScript with no broker: the payouts service owns storage, the state
 * machine and re-drives; a provider only sends the order, answers its status, verifies its
 * webhooks and maps its vocabulary onto ours. Every request carries an idempotency key (our
 * payout id), so a re-driven order is the same order at the provider, never a second transfer.
 */

import type { PayoutMethod } from "../domain/payouts/account";

/** What a provider may say of a payout. */
export type PayoutProgress = "processing" | "paid" | "failed";

export interface PayoutOrder {
	/** Our payout id: the provider's reference / idempotency key. */
	payoutId: string;
	/** What the creator receives (minor units). */
	amount: number;
	currency: string;
	method: PayoutMethod;
	holderName: string;
	bankCode?: string;
	accountNumber?: string;
	email?: string;
	description: string;
}

export interface PayoutState {
	/** The provider's id for the payout (transfer, batch, reference). */
	ref?: string;
	status: PayoutProgress;
	/** The provider's reason for a failure. */
	reason?: string;
}

export interface PayoutEvent extends PayoutState {
	/** Unique per provider (dedupe and logs). */
	eventId: string;
	/** Our payout id when the event carries it; else `ref` identifies it. */
	payoutId?: string;
}

export interface PayoutProvider {
	readonly name: string;
	/** Sends the order (idempotent by `payoutId`); what the provider says at once. */
	submit(order: PayoutOrder): Promise<PayoutState>;
	/** Asks the provider about a payout (re-drive of `processing`); null when it knows nothing yet. */
	fetchStatus(payoutId: string, ref: string | undefined): Promise<PayoutState | null>;
	/** Verifies a webhook delivery (throws WebhookSignatureError); the events it carries. */
	verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]>;
	/** One verified event in our vocabulary; null for event types we do not act on. */
	parseEvent(event: unknown): PayoutEvent | null;
	/** Whether a verified event must be confirmed with `fetchStatus` before it counts (the signature does not cover the status). */
	readonly confirmEvents?: boolean;
}
