import { createHash, randomBytes } from "node:crypto";
import { startFakeServer, type FakeServer, type RecordedRequest } from "./fake-providers";

/**
 * A local stand-in for Midtrans Payouts (Iris), following its documented API: `POST
 * /api/v1/payouts` with Basic auth (the API key, empty password) and `X-Idempotency-Key` (the same
 * key and body → the same answer, never a second payout; the same key with another body → 409
 * as Iris refuses it), `GET /api/v1/payouts/:reference_no`, and HTTP notifications signed with
 * `Iris-Signature` = SHA512(body + merchant key). `transfers` counts the money it really sent.
 */

export const IRIS_API_KEY = "IRIS-creator-test-key";
export const IRIS_MERCHANT_KEY = "IRIS-merchant-test-key";

interface IrisPayout {
	reference_no: string;
	beneficiary_name: string;
	beneficiary_account: string;
	beneficiary_bank: string;
	amount: string;
	notes: string;
	status: string;
	error_message?: string;
	updated_at: string;
}

export interface FakeIris {
	server: FakeServer;
	url: string;
	payouts: Map<string, IrisPayout>;
	/** Creation requests that made a new payout (a retried idempotent request does not count). */
	created: () => number;
	/** Moves a payout on (Iris's own processing) and POSTs its signed notification to `notifyUrl`. */
	settle(referenceNo: string, status: "completed" | "failed", notifyUrl: string): Promise<number>;
	/** The body and header of a notification, as Iris signs it. */
	notification(p: Pick<IrisPayout, "reference_no" | "amount" | "status" | "error_message">, merchantKey?: string): { body: string; signature: string };
	close(): Promise<void>;
}

export async function startFakeIris(): Promise<FakeIris> {
	const server = await startFakeServer();
	const payouts = new Map<string, IrisPayout>();
	const byKey = new Map<string, { body: string; answer: unknown }>();
	let created = 0;
	const authorized = (req: RecordedRequest) => req.headers.authorization === `Basic ${Buffer.from(`${IRIS_API_KEY}:`).toString("base64")}`;
	server.route("POST /api/v1/payouts", (req) => {
		if (!authorized(req)) return { status: 401, body: { error_message: "unauthorized" } };
		const key = req.headers["x-idempotency-key"] as string | undefined;
		if (key) {
			const seen = byKey.get(key);
			if (seen)
				return seen.body === req.body
					? { status: 201, body: seen.answer }
					: { status: 409, body: { error_message: "idempotency-key is not unique", errors: "idempotency-key is not unique" } };
		}
		const body = JSON.parse(req.body) as { payouts: Omit<IrisPayout, "reference_no" | "status" | "updated_at">[] };
		const out = body.payouts.map((p) => {
			if (!/^\d+\.\d{2}$/.test(p.amount)) throw new Error(`amount must be a decimal string, got ${p.amount}`);
			const row: IrisPayout = { ...p, reference_no: randomBytes(8).toString("hex"), status: "queued", updated_at: new Date().toISOString() };
			payouts.set(row.reference_no, row);
			created++;
			return { status: row.status, reference_no: row.reference_no };
		});
		const answer = { payouts: out };
		if (key) byKey.set(key, { body: req.body, answer });
		return { status: 201, body: answer };
	});
	server.route("GET /api/v1/payouts/:ref", (req) => {
		if (!authorized(req)) return { status: 401, body: { error_message: "unauthorized" } };
		const p = payouts.get((req as RecordedRequest & { params: Record<string, string> }).params.ref);
		return p ? { status: 200, body: p } : { status: 404, body: { error_message: "Payout not found" } };
	});
	const notification: FakeIris["notification"] = (p, merchantKey = IRIS_MERCHANT_KEY) => {
		const body = JSON.stringify({
			reference_no: p.reference_no,
			amount: p.amount,
			status: p.status,
			updated_at: new Date().toISOString(),
			...(p.error_message ? { error_code: "001", error_message: p.error_message } : {}),
		});
		return {
			body,
			signature: createHash("sha512")
				.update(body + merchantKey)
				.digest("hex"),
		};
	};
	return {
		server,
		url: server.url,
		payouts,
		created: () => created,
		async settle(referenceNo, status, notifyUrl) {
			const p = payouts.get(referenceNo);
			if (!p) throw new Error(`no Iris payout ${referenceNo}`);
			p.status = status;
			if (status === "failed") p.error_message = "Beneficiary account not found";
			p.updated_at = new Date().toISOString();
			const n = notification(p);
			const res = await fetch(notifyUrl, {
				method: "POST",
				headers: { "Content-Type": "application/json", "Iris-Signature": n.signature },
				body: n.body,
			});
			await res.text();
			return res.status;
		},
		notification,
		close: () => server.close(),
	};
}
