import { sign, verify } from "../tools/signature";
import { headerValue, parseJson, WebhookPayloadError, WebhookSignatureError } from "../payments/types";
import type { PayoutEvent, PayoutOrder, PayoutProvider, PayoutState } from "./types";

/**
 * The built-in sandbox payout provider (development and tests): it accepts every order as
 * `processing`; `POST /api/payouts/sandbox/:id/complete` then has it sign a webhook
 * (`X-Sandbox-Signature`, SANDBOX_WEBHOOK_SECRET, the payment sandbox's scheme) and deliver it to
 * `/api/payouts/webhooks/sandbox`, so the same verification and state machine run as for a
 * real provider (services/payouts keeps the promised deliveries until they land).
 */

export type SandboxPayoutOutcome = "paid" | "failed";
export const SANDBOX_PAYOUT_OUTCOMES: SandboxPayoutOutcome[] = ["paid", "failed"];
export const SANDBOX_SIGNATURE_HEADER = "x-sandbox-signature";

export interface SandboxPayoutEvent {
	event_id: string;
	payout_id: string;
	status: SandboxPayoutOutcome;
}

export class SandboxPayoutProvider implements PayoutProvider {
	readonly name = "sandbox";

	constructor(private readonly webhookSecret: string) {}

	async submit(order: PayoutOrder): Promise<PayoutState> {
		return { ref: `sandbox_${order.payoutId}`, status: "processing" };
	}

	/** The sandbox decides only when told to (`/complete`): until then it has nothing new to say. */
	async fetchStatus(): Promise<PayoutState | null> {
		return null;
	}

	signedWebhook(event: SandboxPayoutEvent, t?: number): { body: string; signature: string } {
		const body = JSON.stringify(event);
		return { body, signature: sign(body, this.webhookSecret, t) };
	}

	async verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]> {
		const check = verify(headerValue(headers, SANDBOX_SIGNATURE_HEADER), rawBody, this.webhookSecret);
		if (!check.ok) throw new WebhookSignatureError(check.reason);
		return [parseJson(rawBody)];
	}

	parseEvent(event: unknown): PayoutEvent | null {
		const e = event as Partial<SandboxPayoutEvent> | null;
		if (!e || typeof e !== "object" || typeof e.event_id !== "string" || typeof e.payout_id !== "string" || !e.event_id || !e.payout_id) {
			throw new WebhookPayloadError("Sandbox payout webhook needs event_id, payout_id and status");
		}
		if (!SANDBOX_PAYOUT_OUTCOMES.includes(e.status as SandboxPayoutOutcome)) {
			throw new WebhookPayloadError(`Sandbox payout status must be one of ${SANDBOX_PAYOUT_OUTCOMES.join(", ")}`);
		}
		return {
			eventId: e.event_id,
			payoutId: e.payout_id,
			status: e.status!,
			ref: `sandbox_${e.payout_id}`,
			reason: e.status === "failed" ? "sandbox: failed" : undefined,
		};
	}
}
