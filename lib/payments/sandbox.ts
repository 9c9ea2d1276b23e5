import { sign, verify } from "../tools/signature";
import {
	headerValue,
	parseJson,
	WebhookPayloadError,
	WebhookSignatureError,
	type CreatePaymentInput,
	type CreatedPayment,
	type PaymentProvider,
	type PaymentStatus,
	type ProviderEvent,
} from "./types";

/**
 * The built-in sandbox: a pretend provider for development and demos. Its checkout page
 * (`/pay/sandbox/:id`) lets the payer settle, deny or expire the payment; the payments service
 * then signs a webhook with SANDBOX_WEBHOOK_SECRET and delivers it to the real webhook endpoint,
 * so the same verification, dedupe and state machine run as for a real provider.
 */

export type SandboxOutcome = "settlement" | "deny" | "expire" | "refund";

export const SANDBOX_OUTCOMES: SandboxOutcome[] = ["settlement", "deny", "expire", "refund"];

const OUTCOME_STATUS: Record<SandboxOutcome, PaymentStatus> = {
	settlement: "paid",
	deny: "failed",
	expire: "expired",
	refund: "refunded",
};

export const SANDBOX_SIGNATURE_HEADER = "x-sandbox-signature";

export interface SandboxEvent {
	event_id: string;
	payment_id: string;
	status: SandboxOutcome;
	/** On a refund: the total refunded so far (minor units, cumulative, as Stripe's amount_refunded); absent = in full. */
	refunded_total?: number;
}

export interface SandboxOptions {
	webhookSecret: string;
	publicUrl: string;
}

export class SandboxProvider implements PaymentProvider {
	readonly name = "sandbox" as const;

	constructor(private readonly opts: SandboxOptions) {}

	async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
		return { action: { type: "redirect", url: `${this.opts.publicUrl}/pay/sandbox/${input.paymentId}` } };
	}

	/** The body and signature header of a sandbox webhook, as the sandbox "provider" sends it. */
	signedWebhook(event: SandboxEvent, t?: number): { body: string; signature: string } {
		const body = JSON.stringify(event);
		return { body, signature: sign(body, this.opts.webhookSecret, t) };
	}

	async verifyWebhook(rawBody: string, headers: Record<string, string | undefined>): Promise<unknown[]> {
		const check = verify(headerValue(headers, SANDBOX_SIGNATURE_HEADER), rawBody, this.opts.webhookSecret);
		if (!check.ok) throw new WebhookSignatureError(check.reason);
		return [parseJson(rawBody)];
	}

	parseEvent(event: unknown): ProviderEvent | null {
		const e = event as Partial<SandboxEvent> | null;
		if (!e || typeof e !== "object" || typeof e.event_id !== "string" || typeof e.payment_id !== "string" || !e.event_id || !e.payment_id) {
			throw new WebhookPayloadError("Sandbox webhook needs event_id, payment_id and status");
		}
		const status = OUTCOME_STATUS[e.status as SandboxOutcome];
		if (!status) throw new WebhookPayloadError(`Sandbox status must be one of ${SANDBOX_OUTCOMES.join(", ")}`);
		const total = e.status === "refund" && Number.isInteger(e.refunded_total) ? { refundedTotal: e.refunded_total } : {};
		return { eventId: e.event_id, paymentId: e.payment_id, status, type: e.status, ...total };
	}
}
