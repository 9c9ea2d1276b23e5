import { randomBytes } from "node:crypto";
import type { FakePayPal, RecordedRequest } from "./fake-providers";

/**
 * PayPal Payouts on the PayPal fake (test/support/fake-providers.ts: its OAuth tokens and
 * verify-webhook-signature), following PayPal's documented API: `POST /v1/payments/payouts`
 * (a `PayPal-Request-Id` seen before answers the first response; a `sender_batch_id` used before
 * is refused with 400 `USER_BUSINESS_ERROR`/`DUPLICATE_REQUEST_ID` as PayPal does), `GET
 * /v1/payments/payouts/:batch_id`, and `PAYMENT.PAYOUTS-ITEM.*` webhook events.
 */

export interface FakePayoutBatch {
	payout_batch_id: string;
	sender_batch_id: string;
	item: { payout_item_id: string; transaction_status: string; receiver: string; amount: { value: string; currency: string }; sender_item_id: string };
}

export function addPayPalPayouts(pp: FakePayPal) {
	const batches = new Map<string, FakePayoutBatch>();
	const byRequestId = new Map<string, unknown>();
	const senderIds = new Set<string>();
	let created = 0;
	const bearer = (req: RecordedRequest) => /^Bearer A21AA/.test(String(req.headers.authorization ?? ""));
	const view = (b: FakePayoutBatch) => ({
		batch_header: {
			payout_batch_id: b.payout_batch_id,
			batch_status: b.item.transaction_status === "PENDING" ? "PENDING" : "SUCCESS",
			sender_batch_header: { sender_batch_id: b.sender_batch_id },
		},
		items: [
			{
				payout_item_id: b.item.payout_item_id,
				transaction_status: b.item.transaction_status,
				payout_batch_id: b.payout_batch_id,
				payout_item: { receiver: b.item.receiver, amount: b.item.amount, sender_item_id: b.item.sender_item_id },
			},
		],
	});
	pp.route("POST /v1/payments/payouts", (req) => {
		if (!bearer(req)) return { status: 401, body: { error: "invalid_token" } };
		const requestId = req.headers["paypal-request-id"] as string | undefined;
		if (requestId && byRequestId.has(requestId)) return { status: 201, body: byRequestId.get(requestId) };
		const body = JSON.parse(req.body);
		const senderId = body.sender_batch_header?.sender_batch_id as string;
		if (senderIds.has(senderId))
			return {
				status: 400,
				body: { name: "USER_BUSINESS_ERROR", message: "Batch with given sender_batch_id already exists", details: [{ issue: "DUPLICATE_REQUEST_ID" }] },
			};
		senderIds.add(senderId);
		const it = body.items[0];
		const b: FakePayoutBatch = {
			payout_batch_id: randomBytes(6).toString("hex").toUpperCase(),
			sender_batch_id: senderId,
			item: {
				payout_item_id: randomBytes(6).toString("hex").toUpperCase(),
				transaction_status: "PENDING",
				receiver: it.receiver,
				amount: it.amount,
				sender_item_id: it.sender_item_id,
			},
		};
		batches.set(b.payout_batch_id, b);
		created++;
		const answer = { batch_header: { payout_batch_id: b.payout_batch_id, batch_status: "PENDING", sender_batch_header: body.sender_batch_header } };
		if (requestId) byRequestId.set(requestId, answer);
		return { status: 201, body: answer };
	});
	pp.route("GET /v1/payments/payouts/:id", (req) => {
		if (!bearer(req)) return { status: 401, body: { error: "invalid_token" } };
		const b = batches.get((req as RecordedRequest & { params: Record<string, string> }).params.id);
		return b ? { body: view(b) } : { status: 404, body: { name: "INVALID_RESOURCE_ID" } };
	});
	return {
		batches,
		created: () => created,
		/** A `PAYMENT.PAYOUTS-ITEM.<suffix>` event for the batch's item (the item's status moved too). */
		event(batchId: string, suffix: "SUCCEEDED" | "FAILED" | "UNCLAIMED") {
			const b = batches.get(batchId)!;
			b.item.transaction_status = suffix === "SUCCEEDED" ? "SUCCESS" : suffix;
			return {
				id: `WH-${randomBytes(8).toString("hex")}`,
				event_version: "1.0",
				resource_type: "payouts_item",
				event_type: `PAYMENT.PAYOUTS-ITEM.${suffix}`,
				resource: {
					...view(b).items[0],
					...(suffix === "FAILED" ? { errors: { name: "RECEIVER_UNREGISTERED", message: "Receiver is unregistered" } } : {}),
				},
			};
		},
	};
}
