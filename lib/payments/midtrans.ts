import { createHash } from "node:crypto";
import { safeEqualHex } from "../signature";
import { expectOk, providerFetch } from "./http";
import {
	PaymentInputError,
	ProviderError,
	WebhookPayloadError,
	WebhookSignatureError,
	type CreatePaymentInput,
	type CreatedPayment,
	type PaymentProvider,
	type PaymentRef,
	type PaymentStatus,
	type ProviderEvent,
} from "./types";

/**
 * Midtrans (Indonesia). Snap (hosted page: token + redirect_url) by default; the Core API charge
 * when the donor picks `method: "qris"` (the action carries the QR string) or
 * `method: "bank_transfer"` with a bank (the action carries the virtual-account number).
 * order_id is our payment id; gross_amount is whole rupiah, so only IDR is accepted.
 * Notifications are authenticated by `signature_key` = SHA512(order_id + status_code +
 * gross_amount + server key) in the body.
 */

export interface MidtransOptions {
	serverKey: string;
	apiBase: string;
	snapBase: string;
}

export const MIDTRANS_METHODS = ["snap", "qris", "bank_transfer"] as const;
export const MIDTRANS_BANKS = ["bca", "bni", "bri", "cimb", "permata"] as const;

export interface MidtransNotification {
	order_id?: string;
	status_code?: string;
	gross_amount?: string;
	signature_key?: string;
	transaction_status?: string;
	fraud_status?: string;
	transaction_id?: string;
	currency?: string;
	payment_type?: string;
}

/** SHA512(order_id + status_code + gross_amount + server key), hex. */
export function midtransSignature(orderId: string, statusCode: string, grossAmount: string, serverKey: string): string {
	return createHash("sha512").update(`${orderId}${statusCode}${grossAmount}${serverKey}`, "utf8").digest("hex");
}

/**
 * What a Midtrans transaction status means for us: `status` while the payment is still pending,
 * `ifPaid` once it has been paid (a deny, cancel or refund after capture undoes the payment).
 * null: nothing to do (pending, authorize, capture under fraud review).
 */
export function mapMidtransStatus(transactionStatus: string | undefined, fraudStatus: string | undefined): { status: PaymentStatus; ifPaid?: PaymentStatus } | null {
	switch (transactionStatus) {
		case "settlement":
			return { status: "paid" };
		case "capture":
			if (fraudStatus === "accept") return { status: "paid" };
			if (fraudStatus === "deny") return { status: "failed", ifPaid: "reversed" };
			return null; // "challenge": wait for the merchant's decision
		case "deny":
		case "cancel":
			return { status: "failed", ifPaid: "reversed" };
		case "failure":
			return { status: "failed" };
		case "expire":
			return { status: "expired" };
		case "refund":
		case "partial_refund":
			return { status: "refunded", ifPaid: "refunded" };
		case "chargeback":
		case "partial_chargeback":
			return { status: "reversed", ifPaid: "reversed" };
		default:
			return null; // pending, authorize
	}
}

export class MidtransProvider implements PaymentProvider {
	readonly name = "midtrans" as const;

	constructor(private readonly opts: MidtransOptions) {}

	private headers() {
		return {
			Authorization: `Basic ${Buffer.from(`${this.opts.serverKey}:`).toString("base64")}`,
			"Content-Type": "application/json",
			Accept: "application/json",
		};
	}

	/** Snap's endpoint: the base may be the host (…/snap/v1/transactions is appended) or end in /snap. */
	private snapUrl(): string {
		const base = this.opts.snapBase;
		return base.endsWith("/snap") ? `${base}/v1/transactions` : `${base}/snap/v1/transactions`;
	}

	async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
		if (input.currency !== "IDR") throw new PaymentInputError("currency", "Midtrans accepts only IDR", "CURRENCY_NOT_SUPPORTED");
		if (input.amount % 100 !== 0) throw new PaymentInputError("amount", "Midtrans amounts must be whole rupiah");
		const method = input.method ?? "snap";
		if (!(MIDTRANS_METHODS as readonly string[]).includes(method)) {
			throw new PaymentInputError("method", `Midtrans method must be one of ${MIDTRANS_METHODS.join(", ")}`);
		}
		const details = { order_id: input.paymentId, gross_amount: input.amount / 100 };
		const minutes = Math.max(1, Math.round((input.expiresAt.getTime() - Date.now()) / 60_000));
		const customer = input.donorName || input.email ? { first_name: input.donorName?.slice(0, 50), email: input.email } : undefined;
		const items = [{ id: input.donationId, price: details.gross_amount, quantity: 1, name: (input.description || "Donation").slice(0, 50) }];

		if (method === "snap") {
			const res = expectOk(
				"midtrans",
				"create Snap transaction",
				await providerFetch("midtrans", this.snapUrl(), {
					method: "POST",
					headers: this.headers(),
					body: JSON.stringify({
						transaction_details: details,
						item_details: items,
						customer_details: customer,
						expiry: { unit: "minutes", duration: minutes },
						callbacks: { finish: input.resultUrl },
					}),
				}),
			);
			const b = res.body as { token?: string; redirect_url?: string };
			if (!b?.token || !b.redirect_url) throw new ProviderError("midtrans", "Midtrans Snap answered without token or redirect_url", res.status);
			return { providerRef: b.token, action: { type: "redirect", url: b.redirect_url, token: b.token } };
		}

		const body: Record<string, unknown> = {
			transaction_details: details,
			item_details: items,
			customer_details: customer,
			custom_expiry: { expiry_duration: minutes, unit: "minute" },
		};
		if (method === "qris") {
			body.payment_type = "qris";
			body.qris = { acquirer: "gopay" };
		} else {
			const bank = input.bank?.toLowerCase();
			if (!bank || !(MIDTRANS_BANKS as readonly string[]).includes(bank)) {
				throw new PaymentInputError("bank", `bank must be one of ${MIDTRANS_BANKS.join(", ")} for bank_transfer`);
			}
			body.payment_type = "bank_transfer";
			body.bank_transfer = { bank };
		}
		const res = await providerFetch("midtrans", `${this.opts.apiBase}/v2/charge`, { method: "POST", headers: this.headers(), body: JSON.stringify(body) });
		expectOk("midtrans", "charge", res);
		const b = res.body as any;
		// The Core API answers HTTP 200 with its own status_code; 201 means "created, pending".
		if (!b || String(b.status_code) !== "201") {
			throw new ProviderError("midtrans", `Midtrans charge refused: ${b?.status_code ?? "?"} ${b?.status_message ?? ""}`.trim(), res.status, b);
		}
		const providerRef = typeof b.transaction_id === "string" ? b.transaction_id : undefined;
		if (method === "qris") {
			if (typeof b.qr_string !== "string") throw new ProviderError("midtrans", "Midtrans QRIS charge answered without qr_string", res.status);
			const qrUrl = (b.actions ?? []).find((a: any) => a?.name === "generate-qr-code")?.url;
			return { providerRef, action: { type: "qris", qrString: b.qr_string, qrUrl }, raw: { transaction_id: providerRef } };
		}
		const va = b.va_numbers?.[0]?.va_number ?? b.permata_va_number;
		if (typeof va !== "string") throw new ProviderError("midtrans", "Midtrans bank transfer answered without a VA number", res.status);
		return { providerRef, action: { type: "bank_transfer", bank: String(b.va_numbers?.[0]?.bank ?? input.bank), vaNumber: va }, raw: { transaction_id: providerRef } };
	}

	async verifyWebhook(rawBody: string, _headers: Record<string, string | undefined>): Promise<unknown[]> {
		let n: MidtransNotification;
		try {
			n = JSON.parse(rawBody);
		} catch {
			// Without a parsable body there is no signature to check.
			throw new WebhookSignatureError("missing_signature");
		}
		if (!n || typeof n !== "object" || typeof n.signature_key !== "string" || !n.signature_key) throw new WebhookSignatureError("missing_signature");
		if (typeof n.order_id !== "string" || typeof n.status_code !== "string" || typeof n.gross_amount !== "string") {
			throw new WebhookSignatureError("malformed_notification");
		}
		const expected = midtransSignature(n.order_id, n.status_code, n.gross_amount, this.opts.serverKey);
		if (!safeEqualHex(n.signature_key.toLowerCase(), expected)) throw new WebhookSignatureError("signature_mismatch");
		return [n];
	}

	parseEvent(event: unknown): ProviderEvent | null {
		const n = event as MidtransNotification;
		if (!n?.order_id) throw new WebhookPayloadError("Midtrans notification without order_id");
		const mapped = mapMidtransStatus(n.transaction_status, n.fraud_status);
		if (!mapped) return null;
		const gross = Number(n.gross_amount);
		return {
			// Midtrans notifications have no id of their own: one transaction, one status, one event.
			eventId: `${n.order_id}:${n.transaction_id ?? ""}:${n.transaction_status}:${n.fraud_status ?? ""}`,
			paymentId: n.order_id,
			providerRefs: n.transaction_id ? [n.transaction_id] : [],
			learnedRefs: n.transaction_id ? [n.transaction_id] : [],
			status: mapped.status,
			ifPaid: mapped.ifPaid,
			amount: Number.isFinite(gross) ? Math.round(gross * 100) : undefined,
			currency: n.currency || "IDR",
			type: n.transaction_status,
		};
	}

	async fetchStatus(payment: PaymentRef): Promise<ProviderEvent | null> {
		const res = await providerFetch("midtrans", `${this.opts.apiBase}/v2/${encodeURIComponent(payment.id)}/status`, { headers: this.headers() });
		expectOk("midtrans", "status", res);
		const b = res.body as MidtransNotification & { status_message?: string };
		if (!b?.transaction_status) return null; // 404 in the body: the payer never opened it
		return this.parseEvent({ ...b, order_id: payment.id });
	}

	async refund(payment: PaymentRef): Promise<ProviderEvent | null> {
		const res = await providerFetch("midtrans", `${this.opts.apiBase}/v2/${encodeURIComponent(payment.id)}/refund`, {
			method: "POST",
			headers: this.headers(),
			body: JSON.stringify({ refund_key: `refund-${payment.id}`, amount: payment.amount / 100, reason: "Refunded by recipient" }),
		});
		expectOk("midtrans", "refund", res);
		const b = res.body as any;
		if (String(b?.status_code) !== "200") throw new ProviderError("midtrans", `Midtrans refund refused: ${b?.status_code ?? "?"} ${b?.status_message ?? ""}`.trim(), res.status, b);
		return null;
	}
}
