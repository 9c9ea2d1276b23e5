import { createHash } from "node:crypto";
import { safeEqualHex } from "../tools/signature";
import { expectOk, providerFetch } from "./http";
import {
	PaymentInputError,
	ProviderError,
	ProviderRefusedError,
	WebhookPayloadError,
	WebhookSignatureError,
	type CreatePaymentInput,
	type CreatedPayment,
	type PaymentProvider,
	type PaymentRef,
	type RefundRequest,
	type PaymentStatus,
	type ProviderEvent,
} from "./types";

/**
 * Midtrans (Indonesia). Snap (hosted page: token + redirect_url) by default; the Core API charge
 * when the donor picks `method: "qris"` (the action carries the QR string) or
 * `method: "bank_transfer"` with a bank (the action carries the virtual-account number).
 * order_id is our payment id; gross_amount is whole rupiah, so only IDR is accepted.
 * Notifications are authenticated by `signature_key` = SHA512(order_id + status_code +
 * gross_amount + server key) in the body. That signature does not cover transaction_status or
 * fraud_status (a genuine `pending` notification edited to `settlement` keeps its signature), so
 * every verified notification is confirmed with `GET /v2/{order_id}/status` — what the official
 * SDK's `transaction.notification()` does — and only the confirmed status and amounts count.
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
	/** On refunds: the refunded amount (the status API also lists each refund in `refunds`). */
	refund_amount?: string;
	refunds?: { refund_amount?: string; refund_chargeback_id?: unknown }[];
	chargeback_amount?: string;
}

/** A Core API answer (charge, refund, cancel): Midtrans's own status_code, and what a charge made. */
interface MidtransAnswer {
	status_code?: string | number;
	status_message?: string;
	transaction_id?: string;
	qr_string?: string;
	actions?: { name?: string; method?: string; url?: string }[];
	va_numbers?: { bank?: string; va_number?: string }[];
	permata_va_number?: string;
}

/** Payment types Midtrans can refund (its Refund API docs); others (virtual accounts, over the counter) cannot be. */
export const MIDTRANS_REFUNDABLE = ["credit_card", "gopay", "shopeepay", "dana", "ovo", "qris", "kredivo", "akulaku"];

/** Whole-rupiah strings ("10000.00") → minor units. */
function idrMinor(v: unknown): number | undefined {
	const n = Number(v);
	return v !== undefined && v !== null && v !== "" && Number.isFinite(n) ? Math.round(n * 100) : undefined;
}

/** The total refunded / charged back a status answer reports (cumulative), in minor units. */
function refundedTotalOf(n: MidtransNotification): number | undefined {
	if (n.transaction_status === "partial_chargeback" && n.chargeback_amount !== undefined) return idrMinor(n.chargeback_amount);
	if (Array.isArray(n.refunds) && n.refunds.length) return n.refunds.reduce((a, r) => a + (idrMinor(r?.refund_amount) ?? 0), 0);
	return idrMinor(n.refund_amount);
}

/** SHA512(order_id + status_code + gross_amount + server key), hex. */
export function midtransSignature(orderId: string, statusCode: string, grossAmount: string, serverKey: string): string {
	return createHash("sha512").update(`${orderId}${statusCode}${grossAmount}${serverKey}`, "utf8").digest("hex");
}

/**
 * What a Midtrans transaction status means for us: `status` while the payment is still pending,
 * `ifPaid` once it has been paid. Paid only on `settlement`, or `capture` with fraud_status
 * `accept`. `deny` is not final (Midtrans: the payer may retry and the transaction can still
 * settle), so a pending payment stays pending; a deny after capture reverses it. A `cancel` of a
 * paid payment is the merchant voiding a captured card (what a refund of it is): refunded.
 * null: nothing to do (pending, authorize, capture under fraud review).
 */
export function mapMidtransStatus(
	transactionStatus: string | undefined,
	fraudStatus: string | undefined,
): { status: PaymentStatus; ifPaid?: PaymentStatus } | null {
	switch (transactionStatus) {
		case "settlement":
			return { status: "paid" };
		case "capture":
			if (fraudStatus === "accept") return { status: "paid" };
			if (fraudStatus === "deny") return { status: "pending", ifPaid: "reversed" };
			return null; // "challenge": wait for the merchant's decision
		case "deny":
			return { status: "pending", ifPaid: "reversed" };
		case "cancel":
			return { status: "failed", ifPaid: "refunded" };
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
		const b = res.body as MidtransAnswer | null;
		// The Core API answers HTTP 200 with its own status_code; 201 means "created, pending".
		if (!b || String(b.status_code) !== "201") {
			throw new ProviderError("midtrans", `Midtrans charge refused: ${b?.status_code ?? "?"} ${b?.status_message ?? ""}`.trim(), res.status, b);
		}
		const providerRef = typeof b.transaction_id === "string" ? b.transaction_id : undefined;
		if (method === "qris") {
			if (typeof b.qr_string !== "string") throw new ProviderError("midtrans", "Midtrans QRIS charge answered without qr_string", res.status);
			const qrUrl = (b.actions ?? []).find((a) => a?.name === "generate-qr-code")?.url;
			return { providerRef, action: { type: "qris", qrString: b.qr_string, qrUrl }, raw: { transaction_id: providerRef } };
		}
		const va = b.va_numbers?.[0]?.va_number ?? b.permata_va_number;
		if (typeof va !== "string") throw new ProviderError("midtrans", "Midtrans bank transfer answered without a VA number", res.status);
		return {
			providerRef,
			action: { type: "bank_transfer", bank: String(b.va_numbers?.[0]?.bank ?? input.bank), vaNumber: va },
			raw: { transaction_id: providerRef },
		};
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
		const partial = n.transaction_status === "partial_refund" || n.transaction_status === "partial_chargeback";
		const refundedTotal = partial ? refundedTotalOf(n) : undefined;
		return {
			// Midtrans notifications have no id of their own: one transaction, one status (and for
			// partial refunds, one refunded total), one event.
			eventId: `${n.order_id}:${n.transaction_id ?? ""}:${n.transaction_status}:${n.fraud_status ?? ""}${partial ? `:${refundedTotal ?? ""}` : ""}`,
			paymentId: n.order_id,
			providerRefs: n.transaction_id ? [n.transaction_id] : [],
			learnedRefs: n.transaction_id ? [n.transaction_id] : [],
			status: mapped.status,
			ifPaid: mapped.ifPaid,
			amount: Number.isFinite(gross) ? Math.round(gross * 100) : undefined,
			currency: n.currency || "IDR",
			type: n.transaction_status,
			...(partial ? { refundedTotal: refundedTotal ?? 0 } : {}),
		};
	}

	/** GET /v2/{order_id}/status with the server key; null when Midtrans has no such transaction. */
	private async status(orderId: string): Promise<MidtransNotification | null> {
		const res = await providerFetch("midtrans", `${this.opts.apiBase}/v2/${encodeURIComponent(orderId)}/status`, { headers: this.headers() });
		const b = res.body as (MidtransNotification & { status_message?: string }) | null;
		// Unknown order: HTTP 404, or (older API) HTTP 200 with status_code "404" in the body.
		if (res.status === 404 || String(b?.status_code) === "404") return null;
		expectOk("midtrans", "status", res);
		if (!b || typeof b !== "object") throw new ProviderError("midtrans", "Midtrans status answered without a body", res.status);
		if (!b.transaction_status) return null;
		return b;
	}

	/**
	 * The notification's status as Midtrans itself reports it. Everything that decides the
	 * outcome (transaction_status, fraud_status, amounts, refunds) comes from the status API; the
	 * notification only says which order to look at. null: nothing to do (still pending, under
	 * review, or an order Midtrans does not know).
	 */
	async confirm(event: unknown): Promise<ProviderEvent | null> {
		const n = event as MidtransNotification;
		if (!n?.order_id) throw new WebhookPayloadError("Midtrans notification without order_id");
		const confirmed = await this.status(n.order_id);
		if (!confirmed) return null;
		if (confirmed.order_id && confirmed.order_id !== n.order_id)
			throw new ProviderError("midtrans", `Midtrans status for ${n.order_id} answered for ${confirmed.order_id}`);
		return this.parseEvent({ ...confirmed, order_id: n.order_id });
	}

	/**
	 * For reconciliation and the expiry sweep. An order Midtrans does not know (HTTP 404: the
	 * payer never opened the Snap page or picked a method) → null, so a payment past its TTL is
	 * expired like any other unpaid one instead of failing the sweep.
	 */
	async fetchStatus(payment: PaymentRef): Promise<ProviderEvent | null> {
		const b = await this.status(payment.id);
		if (!b) return null;
		return this.parseEvent({ ...b, order_id: payment.id });
	}

	/**
	 * Refunds a paid payment. Midtrans refunds only settled transactions of some payment types
	 * (MIDTRANS_REFUNDABLE); a card still in `capture` is voided with `/cancel` instead, as its
	 * docs say; other types (virtual accounts, over the counter) cannot be refunded: 422.
	 */
	async refund(payment: PaymentRef, refund: RefundRequest): Promise<ProviderEvent | null> {
		const current = await this.status(payment.id);
		if (!current) throw new ProviderRefusedError("midtrans", "Midtrans does not know this transaction", "TRANSACTION_NOT_FOUND");
		const useCancel = current.transaction_status === "capture";
		if (!useCancel && current.payment_type && !MIDTRANS_REFUNDABLE.includes(current.payment_type)) {
			throw new ProviderRefusedError("midtrans", `Midtrans cannot refund ${current.payment_type} payments`, "NOT_REFUNDABLE");
		}
		// Midtrans's refund `amount` is a Long of whole rupiah (its Refund API).
		if (refund.amount % 100 !== 0) throw new ProviderRefusedError("midtrans", "Midtrans refunds whole rupiah only", "INVALID_AMOUNT");
		if (useCancel && refund.amount < payment.amount - (payment.refundedAmount ?? 0)) {
			throw new ProviderRefusedError("midtrans", "Midtrans voids a card still in capture only in full", "NOT_REFUNDABLE");
		}
		const path = useCancel ? "cancel" : "refund";
		const res = await providerFetch("midtrans", `${this.opts.apiBase}/v2/${encodeURIComponent(payment.id)}/${path}`, {
			method: "POST",
			headers: this.headers(),
			body: useCancel
				? undefined
				: JSON.stringify({
						refund_key: refund.key,
						amount: refund.amount / 100,
						reason: "Refunded by recipient",
					}),
		});
		expectOk("midtrans", path, res);
		const b = res.body as MidtransAnswer | null;
		const code = Number(b?.status_code);
		if (code >= 200 && code < 300) return null; // the notification settles the status
		const why = `${b?.status_code ?? "?"} ${b?.status_message ?? ""}`.trim();
		// 4xx in Midtrans's own status_code: it refuses this request (412: not allowed in this state).
		if (code >= 400 && code < 500 && ![401, 404, 429].includes(code))
			throw new ProviderRefusedError("midtrans", `Midtrans refused the ${path}: ${why}`, String(b?.status_code), code === 412);
		throw new ProviderError("midtrans", `Midtrans ${path} failed: ${why}`, res.status, b);
	}
}
