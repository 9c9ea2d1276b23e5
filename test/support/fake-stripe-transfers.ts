import { randomBytes } from "node:crypto";
import { stripeIdempotencyConflict, type FakeStripe, type RecordedRequest } from "./fake-providers";

/**
 * Stripe Connect transfers on the Stripe fake (test/support/fake-providers.ts), following Stripe's
 * documented API: `POST /v1/transfers` form-encoded (`amount`, `currency`, `destination`,
 * `transfer_group`, `metadata[...]`) where an `Idempotency-Key` seen before answers the first
 * transfer again (other parameters under it → 400 `idempotency_error`), an unknown destination
 * is a 400 `invalid_request_error`, and `GET /v1/transfers/:id`.
 */

export interface FakeTransfer {
	id: string;
	object: "transfer";
	amount: number;
	currency: string;
	destination: string;
	transfer_group: string | null;
	metadata: Record<string, string>;
	reversed: boolean;
}

export function addStripeTransfers(s: FakeStripe, connectedAccounts: string[]) {
	const transfers = new Map<string, FakeTransfer>();
	const byKey = new Map<string, { body: string; id: string }>();
	const authorized = (req: RecordedRequest) => req.headers.authorization === `Bearer ${s.secretKey}`;
	s.route("POST /v1/transfers", (req) => {
		if (!authorized(req)) return { status: 401, body: { error: { message: "Invalid API Key provided" } } };
		const key = String(req.headers["idempotency-key"] ?? "");
		const prior = key ? byKey.get(key) : undefined;
		if (prior && prior.body !== req.body) return stripeIdempotencyConflict();
		if (prior) return { body: transfers.get(prior.id) };
		const f = new URLSearchParams(req.body);
		const destination = f.get("destination") ?? "";
		if (!connectedAccounts.includes(destination)) {
			return {
				status: 400,
				body: {
					error: { type: "invalid_request_error", code: "resource_missing", message: `No such destination: '${destination}'`, param: "destination" },
				},
			};
		}
		const metadata: Record<string, string> = {};
		for (const [k, v] of f) if (k.startsWith("metadata[")) metadata[k.slice(9, -1)] = v;
		const t: FakeTransfer = {
			id: `tr_${randomBytes(12).toString("hex")}`,
			object: "transfer",
			amount: Number(f.get("amount")),
			currency: f.get("currency") ?? "",
			destination,
			transfer_group: f.get("transfer_group"),
			metadata,
			reversed: false,
		};
		transfers.set(t.id, t);
		if (key) byKey.set(key, { body: req.body, id: t.id });
		return { body: t };
	});
	s.route("GET /v1/transfers/:id", (req) => {
		if (!authorized(req)) return { status: 401, body: { error: { message: "Invalid API Key provided" } } };
		const t = transfers.get((req as RecordedRequest & { params: Record<string, string> }).params.id);
		return t ? { body: t } : { status: 404, body: { error: { type: "invalid_request_error", code: "resource_missing" } } };
	});
	return { transfers };
}
