import http from "node:http";
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

/**
 * Local stand-ins for the payment providers' HTTP APIs, on 127.0.0.1 and an ephemeral port.
 * They answer with the fields MediaShar reads, check the credentials it must send, and record
 * every request so tests can assert on what was sent. Nothing here talks to the internet.
 *
 * Where a fake and the provider's documentation or official SDK disagree, the fake is wrong.
 * Each fake can replay the provider's real sequences: Stripe a decline before a success, partial
 * refunds and disputes (inquiry, funds withdrawn, won); Midtrans a deny before a settlement, a
 * genuine pending notification with a forged status, partial refunds, HTTP 404 for an order it
 * does not know; PayPal INSTRUMENT_DECLINED on capture and partial refunds.
 */

export interface RecordedRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: http.IncomingHttpHeaders;
	body: string;
}

export type Handler = (req: RecordedRequest) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>;

export interface FakeServer {
	url: string;
	requests: RecordedRequest[];
	/** Routes as "METHOD /path" with `:param` segments; later registrations win. */
	route(spec: string, handler: Handler): void;
	close(): Promise<void>;
}

function matches(spec: string, method: string, path: string): Record<string, string> | null {
	const [m, p] = spec.split(" ");
	if (m !== method) return null;
	const a = p.split("/");
	const b = path.split("/");
	if (a.length !== b.length) return null;
	const params: Record<string, string> = {};
	for (let i = 0; i < a.length; i++) {
		if (a[i].startsWith(":")) params[a[i].slice(1)] = decodeURIComponent(b[i]);
		else if (a[i] !== b[i]) return null;
	}
	return params;
}

export async function startFakeServer(): Promise<FakeServer> {
	const routes: { spec: string; handler: Handler }[] = [];
	const requests: RecordedRequest[] = [];
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on("data", (c) => chunks.push(c));
		req.on("end", async () => {
			const u = new URL(req.url ?? "/", "http://127.0.0.1");
			const rec: RecordedRequest = {
				method: req.method ?? "GET",
				path: u.pathname,
				query: u.searchParams,
				headers: req.headers,
				body: Buffer.concat(chunks).toString("utf8"),
			};
			requests.push(rec);
			for (let i = routes.length - 1; i >= 0; i--) {
				const params = matches(routes[i].spec, rec.method, rec.path);
				if (!params) continue;
				try {
					const out = await routes[i].handler(Object.assign(rec, { params }));
					res.writeHead(out.status ?? 200, { "Content-Type": "application/json" });
					res.end(JSON.stringify(out.body ?? {}));
				} catch (err) {
					res.writeHead(500, { "Content-Type": "application/json" });
					res.end(JSON.stringify({ message: (err as Error).message }));
				}
				return;
			}
			res.writeHead(404, { "Content-Type": "application/json" });
			res.end(JSON.stringify({ message: `no fake route for ${rec.method} ${rec.path}` }));
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const port = (server.address() as AddressInfo).port;
	return {
		url: `http://127.0.0.1:${port}`,
		requests,
		route(spec, handler) {
			routes.push({ spec, handler });
		},
		close() {
			server.closeAllConnections();
			return new Promise((resolve) => server.close(() => resolve()));
		},
	};
}

const params = (req: RecordedRequest) => (req as RecordedRequest & { params: Record<string, string> }).params;

// ---------------------------------------------------------------- Stripe

export interface FakeStripe extends FakeServer {
	secretKey: string;
	/** Checkout sessions created, by id, with their decoded form fields. */
	sessions: Map<string, { id: string; form: URLSearchParams; status: string; payment_status: string; payment_intent: string | null }>;
	/** Refunds created, by PaymentIntent, with their amounts. */
	refunds: Map<string, number[]>;
	/** When set, POST /v1/refunds answers this Stripe error (e.g. `charge_already_refunded`) with HTTP 400. */
	refundError: { code: string; message: string } | null;
}

/** A Stripe event as Stripe sends it (`object: "event"`, the object under data.object). */
export function stripeEvent(type: string, object: Record<string, unknown>, id = `evt_${randomBytes(12).toString("hex")}`) {
	return {
		id,
		object: "event",
		api_version: "2026-10-28.endive",
		created: Math.floor(Date.now() / 1000),
		livemode: false,
		pending_webhooks: 1,
		type,
		data: { object },
	};
}

/**
 * Stripe's real sequences for one Checkout Session whose payment is `paymentId` (sent in the
 * session and PaymentIntent metadata, as we create them). Each returns the events in order.
 */
export function stripeSequences(paymentId: string, opts: { sessionId: string; amount: number; currency: string; pi?: string; charge?: string }) {
	const pi = opts.pi ?? `pi_${randomBytes(8).toString("hex")}`;
	const charge = opts.charge ?? `ch_${randomBytes(8).toString("hex")}`;
	const meta = { payment_id: paymentId };
	const session = (over: Record<string, unknown>) => ({
		id: opts.sessionId,
		object: "checkout.session",
		client_reference_id: paymentId,
		metadata: meta,
		payment_intent: pi,
		amount_total: opts.amount,
		currency: opts.currency,
		...over,
	});
	const chargeObj = (over: Record<string, unknown>) => ({
		id: charge,
		object: "charge",
		payment_intent: pi,
		metadata: meta,
		amount: opts.amount,
		currency: opts.currency,
		...over,
	});
	const dispute = (status: string) => ({
		id: `dp_${charge}`,
		object: "dispute",
		charge,
		payment_intent: pi,
		amount: opts.amount,
		currency: opts.currency,
		status,
		metadata: {},
	});
	return {
		pi,
		charge,
		/** A declined card, then a successful retry in the same session. */
		declineThenSuccess: () => [
			stripeEvent("payment_intent.payment_failed", {
				id: pi,
				object: "payment_intent",
				metadata: meta,
				status: "requires_payment_method",
				last_payment_error: { code: "card_declined", decline_code: "generic_decline" },
			}),
			stripeEvent("checkout.session.completed", session({ status: "complete", payment_status: "paid" })),
			stripeEvent("payment_intent.succeeded", {
				id: pi,
				object: "payment_intent",
				metadata: meta,
				amount_received: opts.amount,
				currency: opts.currency,
				status: "succeeded",
			}),
		],
		paid: () => [
			stripeEvent("payment_intent.succeeded", {
				id: pi,
				object: "payment_intent",
				metadata: meta,
				amount_received: opts.amount,
				currency: opts.currency,
				status: "succeeded",
			}),
		],
		expired: () => [stripeEvent("checkout.session.expired", session({ status: "expired", payment_status: "unpaid" }))],
		/** charge.refunded after each refund: amount_refunded is cumulative. */
		refunds: (...amounts: number[]) => {
			let total = 0;
			return amounts.map((a) => {
				total += a;
				return stripeEvent("charge.refunded", chargeObj({ amount_refunded: total, refunded: total >= opts.amount }));
			});
		},
		/** An inquiry (no funds withdrawn), then closed without becoming a dispute. */
		inquiry: () => [
			stripeEvent("charge.dispute.created", dispute("warning_needs_response")),
			stripeEvent("charge.dispute.closed", dispute("warning_closed")),
		],
		/** A dispute: created (funds withdrawn) … */
		disputeWithdrawn: () => [
			stripeEvent("charge.dispute.created", dispute("needs_response")),
			stripeEvent("charge.dispute.funds_withdrawn", dispute("needs_response")),
		],
		/** … and won: funds reinstated, then closed as won. */
		disputeWon: () => [stripeEvent("charge.dispute.funds_reinstated", dispute("won")), stripeEvent("charge.dispute.closed", dispute("won"))],
		disputeLost: () => [stripeEvent("charge.dispute.closed", dispute("lost"))],
	};
}

/** Stripe's answer to a retry under the same Idempotency-Key with different parameters. */
export function stripeIdempotencyConflict() {
	return {
		status: 400,
		body: {
			error: {
				type: "idempotency_error",
				message: "Keys for idempotent requests can only be used with the same parameters they were first used with.",
			},
		},
	};
}

export async function startFakeStripe(secretKey = "sk_test_fake"): Promise<FakeStripe> {
	const s = (await startFakeServer()) as FakeStripe;
	s.secretKey = secretKey;
	s.sessions = new Map();
	s.refunds = new Map();
	s.refundError = null;
	const authorized = (req: RecordedRequest) => req.headers.authorization === `Bearer ${secretKey}`;
	const byIdempotency = new Map<string, { id: string; body: string }>();
	const refundsByKey = new Map<string, Record<string, unknown>>();
	s.route("POST /v1/checkout/sessions", (req) => {
		if (!authorized(req)) return { status: 401, body: { error: { message: "Invalid API Key provided" } } };
		const key = String(req.headers["idempotency-key"] ?? "");
		const prior = key ? byIdempotency.get(key) : undefined;
		if (prior && prior.body !== req.body) return stripeIdempotencyConflict();
		const form = new URLSearchParams(req.body);
		const createdSec = Math.floor(Date.now() / 1000);
		const expiresAt = Number(form.get("expires_at"));
		if (form.has("expires_at") && (expiresAt < createdSec + 30 * 60 || expiresAt > createdSec + 24 * 3600)) {
			return {
				status: 400,
				body: {
					error: {
						type: "invalid_request_error",
						param: "expires_at",
						message: "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
					},
				},
			};
		}
		const id = prior?.id || `cs_test_${randomBytes(8).toString("hex")}`;
		if (!prior) {
			s.sessions.set(id, { id, form, status: "open", payment_status: "unpaid", payment_intent: null });
			if (key) byIdempotency.set(key, { id, body: req.body });
		}
		return {
			body: {
				id,
				object: "checkout.session",
				url: `https://checkout.stripe.test/c/pay/${id}`,
				expires_at: Number(form.get("expires_at")),
				status: "open",
			},
		};
	});
	s.route("GET /v1/checkout/sessions/:id", (req) => {
		if (!authorized(req)) return { status: 401, body: { error: { message: "Invalid API Key provided" } } };
		const sess = s.sessions.get(params(req).id);
		if (!sess) return { status: 404, body: { error: { message: "No such checkout.session" } } };
		return {
			body: {
				id: sess.id,
				object: "checkout.session",
				status: sess.status,
				payment_status: sess.payment_status,
				payment_intent: sess.payment_intent,
				client_reference_id: sess.form.get("client_reference_id"),
				metadata: { payment_id: sess.form.get("metadata[payment_id]") },
				amount_total: Number(sess.form.get("line_items[0][price_data][unit_amount]")),
				currency: sess.form.get("line_items[0][price_data][currency]"),
			},
		};
	});
	s.route("POST /v1/refunds", (req) => {
		if (!authorized(req)) return { status: 401, body: { error: { message: "Invalid API Key provided" } } };
		if (s.refundError) return { status: 400, body: { error: { type: "invalid_request_error", ...s.refundError } } };
		const form = new URLSearchParams(req.body);
		const pi = form.get("payment_intent");
		if (!pi)
			return {
				status: 400,
				body: { error: { type: "invalid_request_error", code: "parameter_missing", message: "Must provide charge or payment_intent." } },
			};
		// Stripe: a retry under the same Idempotency-Key answers the first refund again, and makes none.
		const key = String(req.headers["idempotency-key"] ?? "");
		const prior = key ? refundsByKey.get(key) : undefined;
		if (prior) return { body: prior };
		const amount = Number(form.get("amount") || 0);
		s.refunds.set(pi, [...(s.refunds.get(pi) ?? []), amount]);
		const refund = { id: `re_${randomBytes(6).toString("hex")}`, object: "refund", status: "succeeded", payment_intent: pi, amount };
		if (key) refundsByKey.set(key, refund);
		return { body: refund };
	});
	return s;
}

// ---------------------------------------------------------------- Midtrans

export interface FakeMidtrans extends FakeServer {
	serverKey: string;
	/** Transaction status answered by GET /v2/:order_id/status (absent: HTTP 404, as Midtrans answers). */
	statuses: Map<string, Record<string, unknown>>;
	/** Order ids whose status check answers HTTP 503 (Midtrans having a bad moment). */
	failing: Set<string>;
	/**
	 * Replays one step of a real sequence: sets the order's status at "Midtrans" and returns the
	 * HTTP notification Midtrans sends for it (signed with the server key).
	 */
	step(
		orderId: string,
		fields: {
			transaction_status: string;
			gross_amount: string;
			fraud_status?: string;
			payment_type?: string;
			refund_amount?: string;
			refunds?: { refund_amount: string }[];
		},
	): Record<string, string>;
}

export async function startFakeMidtrans(serverKey = "SB-Mid-server-fake"): Promise<FakeMidtrans> {
	const s = (await startFakeServer()) as FakeMidtrans;
	s.serverKey = serverKey;
	s.statuses = new Map();
	s.failing = new Set();
	s.step = (orderId, fields) => {
		const prior = s.statuses.get(orderId) ?? {};
		const transaction_id = String(prior.transaction_id ?? `tx-${orderId}`);
		const { refunds, ...flat } = fields;
		s.statuses.set(orderId, {
			...prior,
			payment_type: "qris",
			currency: "IDR",
			transaction_id,
			...flat,
			...(refunds ? { refunds } : {}),
			status_code: statusCodeOf(fields.transaction_status),
		});
		return midtransNotification(serverKey, { order_id: orderId, transaction_id, ...fields });
	};
	const authorized = (req: RecordedRequest) => req.headers.authorization === `Basic ${Buffer.from(`${serverKey}:`).toString("base64")}`;
	const unauthorized = { status: 401, body: { status_code: "401", status_message: "Access denied due to unauthorized transaction" } };
	// Midtrans takes an order_id or a transaction_id wherever its paths name one.
	const lookup = (idOrTx: string): [string, Record<string, unknown>] | undefined => {
		const st = s.statuses.get(idOrTx);
		if (st) return [idOrTx, st];
		return [...s.statuses.entries()].find(([, v]) => v.transaction_id === idOrTx);
	};
	s.route("POST /snap/v1/transactions", (req) => {
		if (!authorized(req)) return unauthorized;
		const token = randomBytes(16).toString("hex");
		return { status: 201, body: { token, redirect_url: `https://app.midtrans.test/snap/v4/redirection/${token}` } };
	});
	s.route("POST /v2/charge", (req) => {
		if (!authorized(req)) return unauthorized;
		const b = JSON.parse(req.body);
		const base = {
			status_code: "201",
			status_message: "Success, transaction is created",
			transaction_id: `tx-${randomBytes(6).toString("hex")}`,
			order_id: b.transaction_details.order_id,
			gross_amount: `${b.transaction_details.gross_amount}.00`,
			currency: "IDR",
			transaction_status: "pending",
		};
		if (b.payment_type === "qris") {
			return {
				body: {
					...base,
					payment_type: "qris",
					qr_string: `00020101021226FAKEQR${base.order_id}`,
					actions: [{ name: "generate-qr-code", method: "GET", url: `${s.url}/v2/qris/${base.transaction_id}/qr-code` }],
				},
			};
		}
		if (b.payment_type === "bank_transfer") {
			const bank = b.bank_transfer?.bank;
			if (bank === "permata") return { body: { ...base, payment_type: "bank_transfer", permata_va_number: "8562000123456789" } };
			return { body: { ...base, payment_type: "bank_transfer", va_numbers: [{ bank, va_number: "12345678901" }] } };
		}
		return { body: { status_code: "400", status_message: "payment_type is not supported" } };
	});
	s.route("GET /v2/:orderId/status", (req) => {
		if (!authorized(req)) return unauthorized;
		if (s.failing.has(params(req).orderId)) return { status: 503, body: { status_code: "503", status_message: "Service unavailable" } };
		const found = lookup(params(req).orderId);
		// Midtrans answers an order it does not know with HTTP 404 (and status_code "404").
		if (!found) return { status: 404, body: { status_code: "404", status_message: "Transaction doesn't exist.", id: randomBytes(8).toString("hex") } };
		const [orderId, st] = found;
		return {
			body: { status_code: statusCodeOf(String(st.transaction_status)), status_message: "Success, transaction is found", order_id: orderId, ...st },
		};
	});
	// Cancel: for a card still in `capture` (or a pending payment); a settled one must be refunded instead.
	s.route("POST /v2/:orderId/cancel", (req) => {
		if (!authorized(req)) return unauthorized;
		const st = lookup(params(req).orderId)?.[1];
		if (!st) return { status: 404, body: { status_code: "404", status_message: "Transaction doesn't exist." } };
		if (!["capture", "pending", "authorize"].includes(String(st.transaction_status)))
			return { body: { status_code: "412", status_message: "Merchant cannot modify the status of the transaction" } };
		st.transaction_status = "cancel";
		return {
			body: { status_code: "200", status_message: "Success, transaction is canceled", order_id: params(req).orderId, transaction_status: "cancel" },
		};
	});
	// Refund: only settled transactions of refundable payment types (Midtrans's Refund API).
	s.route("POST /v2/:orderId/refund", (req) => {
		if (!authorized(req)) return unauthorized;
		const st = lookup(params(req).orderId)?.[1];
		if (!st) return { status: 404, body: { status_code: "404", status_message: "Transaction doesn't exist." } };
		if (st.transaction_status !== "settlement" && st.transaction_status !== "partial_refund")
			return { body: { status_code: "412", status_message: "Merchant cannot modify the status of the transaction" } };
		if (!["credit_card", "gopay", "shopeepay", "dana", "ovo", "qris", "kredivo", "akulaku"].includes(String(st.payment_type)))
			return { body: { status_code: "412", status_message: "Payment type does not support refund" } };
		const b = JSON.parse(req.body || "{}");
		return {
			body: {
				status_code: "200",
				status_message: "Success, refund request is approved",
				order_id: params(req).orderId,
				refund_key: b.refund_key,
				refund_amount: String(b.amount ?? st.gross_amount),
			},
		};
	});
	return s;
}

/** Midtrans's status_code for a transaction_status (what its notifications and status API carry). */
function statusCodeOf(transactionStatus: string): string {
	if (["settlement", "capture", "refund", "partial_refund", "chargeback", "partial_chargeback", "cancel"].includes(transactionStatus)) return "200";
	if (transactionStatus === "pending" || transactionStatus === "authorize") return "201";
	if (transactionStatus === "expire") return "407";
	return "202"; // deny, failure
}

/** A Midtrans HTTP notification body for an order, signed with the server key (or not). */
export function midtransNotification(
	serverKey: string,
	fields: {
		order_id: string;
		transaction_status: string;
		gross_amount: string;
		status_code?: string;
		fraud_status?: string;
		transaction_id?: string;
		payment_type?: string;
		refund_amount?: string;
	},
	forge = false,
) {
	const status_code = fields.status_code ?? statusCodeOf(fields.transaction_status);
	const n: Record<string, string> = {
		transaction_time: "2026-01-01 10:00:00",
		transaction_id: fields.transaction_id ?? `tx-${fields.order_id}`,
		status_message: "midtrans payment notification",
		status_code,
		payment_type: fields.payment_type ?? "qris",
		order_id: fields.order_id,
		merchant_id: "G000000000",
		gross_amount: fields.gross_amount,
		currency: "IDR",
		transaction_status: fields.transaction_status,
		...(fields.fraud_status ? { fraud_status: fields.fraud_status } : {}),
		...(fields.refund_amount ? { refund_amount: fields.refund_amount } : {}),
	};
	const key = forge ? "not-the-server-key" : serverKey;
	// Computed independently of lib/payments/midtrans.ts so the test checks the real formula.
	n.signature_key = createHash("sha512")
		.update(n.order_id + n.status_code + n.gross_amount + key)
		.digest("hex");
	return n;
}

// ---------------------------------------------------------------- PayPal

export interface FakePayPal extends FakeServer {
	clientId: string;
	clientSecret: string;
	webhookId: string;
	tokensIssued: number;
	orders: Map<
		string,
		{
			id: string;
			status: string;
			custom_id: string;
			amount: { currency_code: string; value: string };
			capture?: { id: string; status: string };
			declineNext?: string;
			refunded?: number;
		}
	>;
	/** Headers of a webhook delivery this fake "PayPal" would accept for `body`. */
	signWebhook(body: string, webhookId?: string): Record<string, string>;
}

export async function startFakePayPal(opts: { clientId?: string; clientSecret?: string; webhookId?: string; tokenTtlSec?: number } = {}): Promise<FakePayPal> {
	const s = (await startFakeServer()) as FakePayPal;
	s.clientId = opts.clientId ?? "paypal-client";
	s.clientSecret = opts.clientSecret ?? "paypal-secret";
	s.webhookId = opts.webhookId ?? "WH-FAKE-ID";
	s.tokensIssued = 0;
	s.orders = new Map();
	const signingKey = randomBytes(16).toString("hex");
	const tokens = new Set<string>();
	const sigFor = (id: string, time: string, webhookId: string, body: string) =>
		createHmac("sha256", signingKey).update(`${id}|${time}|${webhookId}|${body}`).digest("base64");
	s.signWebhook = (body, webhookId = s.webhookId) => {
		const id = randomBytes(8).toString("hex");
		const time = new Date().toISOString();
		return {
			"paypal-transmission-id": id,
			"paypal-transmission-time": time,
			"paypal-transmission-sig": sigFor(id, time, webhookId, body),
			"paypal-cert-url": `${s.url}/v1/notifications/certs/CERT-fake`,
			"paypal-auth-algo": "SHA256withRSA",
		};
	};
	const bearer = (req: RecordedRequest) => tokens.has(String(req.headers.authorization ?? "").replace(/^Bearer /, ""));
	const unauthorized = { status: 401, body: { error: "invalid_token", error_description: "Token signature verification failed" } };
	s.route("POST /v1/oauth2/token", (req) => {
		if (req.headers.authorization !== `Basic ${Buffer.from(`${s.clientId}:${s.clientSecret}`).toString("base64")}`)
			return { status: 401, body: { error: "invalid_client" } };
		if (req.body !== "grant_type=client_credentials") return { status: 400, body: { error: "unsupported_grant_type" } };
		const t = `A21AA${randomBytes(12).toString("hex")}`;
		tokens.add(t);
		s.tokensIssued++;
		return { body: { access_token: t, token_type: "Bearer", expires_in: opts.tokenTtlSec ?? 32400 } };
	});
	s.route("POST /v2/checkout/orders", (req) => {
		if (!bearer(req)) return unauthorized;
		const b = JSON.parse(req.body);
		const id = randomBytes(8).toString("hex").toUpperCase();
		const pu = b.purchase_units[0];
		s.orders.set(id, { id, status: "PAYER_ACTION_REQUIRED", custom_id: pu.custom_id, amount: pu.amount });
		return {
			status: 200,
			body: {
				id,
				status: "PAYER_ACTION_REQUIRED",
				links: [
					{ rel: "self", href: `${s.url}/v2/checkout/orders/${id}` },
					{ rel: "payer-action", href: `https://www.paypal.test/checkoutnow?token=${id}` },
				],
			},
		};
	});
	const orderBody = (o: FakePayPal["orders"] extends Map<string, infer V> ? V : never) => ({
		id: o.id,
		status: o.status,
		purchase_units: [
			{
				custom_id: o.custom_id,
				payments: o.capture ? { captures: [{ id: o.capture.id, status: o.capture.status, amount: o.amount, custom_id: o.custom_id }] } : undefined,
			},
		],
	});
	s.route("POST /v2/checkout/orders/:id/capture", (req) => {
		if (!bearer(req)) return unauthorized;
		const o = s.orders.get(params(req).id);
		if (!o) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
		if (o.capture) return { status: 422, body: { name: "UNPROCESSABLE_ENTITY", details: [{ issue: "ORDER_ALREADY_CAPTURED" }] } };
		if (o.status !== "APPROVED") return { status: 422, body: { name: "UNPROCESSABLE_ENTITY", details: [{ issue: "ORDER_NOT_APPROVED" }] } };
		if (o.declineNext) {
			// The funding source failed: the payer must go back and pick another (PayPal's "restart").
			const issue = o.declineNext;
			o.declineNext = undefined;
			o.status = "PAYER_ACTION_REQUIRED";
			return {
				status: 422,
				body: {
					name: "UNPROCESSABLE_ENTITY",
					details: [
						{ issue, description: "The instrument presented was either declined by the processor or bank, or it can't be used for this payment." },
					],
					message: "The requested action could not be performed, semantically incorrect, or failed business validation.",
					links: [
						{ href: `https://www.paypal.test/checkoutnow?token=${o.id}`, rel: "redirect", method: "GET" },
						{ href: `https://developer.paypal.com/docs/api/orders/v2/#error-${issue}`, rel: "information_link", method: "GET" },
					],
				},
			};
		}
		o.status = "COMPLETED";
		o.capture = { id: `CAP${randomBytes(6).toString("hex").toUpperCase()}`, status: "COMPLETED" };
		return { status: 201, body: orderBody(o) };
	});
	s.route("GET /v2/checkout/orders/:id", (req) => {
		if (!bearer(req)) return unauthorized;
		const o = s.orders.get(params(req).id);
		if (!o) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
		return { body: orderBody(o) };
	});
	s.route("POST /v2/payments/captures/:id/refund", (req) => {
		if (!bearer(req)) return unauthorized;
		const o = [...s.orders.values()].find((x) => x.capture?.id === params(req).id);
		if (!o) return { status: 404, body: { name: "RESOURCE_NOT_FOUND", details: [{ issue: "INVALID_RESOURCE_ID" }] } };
		const captured = Math.round(Number(o.amount.value) * 100);
		if ((o.refunded ?? 0) >= captured)
			return {
				status: 422,
				body: {
					name: "UNPROCESSABLE_ENTITY",
					details: [{ issue: "CAPTURE_FULLY_REFUNDED", description: "The capture has already been fully refunded" }],
				},
			};
		const b = JSON.parse(req.body || "{}");
		const amount = b.amount ? Math.round(Number(b.amount.value) * 100) : captured - (o.refunded ?? 0);
		o.refunded = (o.refunded ?? 0) + amount;
		return { status: 201, body: { id: `REF${randomBytes(6).toString("hex").toUpperCase()}`, status: "COMPLETED" } };
	});
	s.route("POST /v1/notifications/verify-webhook-signature", (req) => {
		if (!bearer(req)) return unauthorized;
		const b = JSON.parse(req.body);
		const required = ["auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id", "webhook_event"];
		if (required.some((k) => b[k] === undefined)) return { status: 400, body: { name: "VALIDATION_ERROR" } };
		const ok =
			b.webhook_id === s.webhookId &&
			b.transmission_sig === sigFor(b.transmission_id, b.transmission_time, b.webhook_id, JSON.stringify(b.webhook_event));
		return { body: { verification_status: ok ? "SUCCESS" : "FAILURE" } };
	});
	return s;
}

/** A PAYMENT.CAPTURE.REFUNDED event as PayPal sends it: the refund, with the capture's refunded total so far. */
export function paypalRefundEvent(
	captureId: string,
	refund: { currency: string; value: string; totalRefunded: string; customId?: string },
	id = `WH-${randomBytes(8).toString("hex")}`,
) {
	return {
		id,
		event_version: "1.0",
		resource_type: "refund",
		event_type: "PAYMENT.CAPTURE.REFUNDED",
		resource: {
			id: `REF${randomBytes(6).toString("hex").toUpperCase()}`,
			status: "COMPLETED",
			amount: { currency_code: refund.currency, value: refund.value },
			seller_payable_breakdown: {
				gross_amount: { currency_code: refund.currency, value: refund.value },
				total_refunded_amount: { currency_code: refund.currency, value: refund.totalRefunded },
			},
			...(refund.customId ? { custom_id: refund.customId } : {}),
			links: [{ rel: "up", method: "GET", href: `https://api-m.paypal.test/v2/payments/captures/${captureId}` }],
		},
	};
}

/** Marks a fake PayPal order approved, as if the payer clicked "Pay Now". */
export function approvePayPalOrder(pp: FakePayPal, orderId: string) {
	const o = pp.orders.get(orderId);
	if (!o) throw new Error(`no fake PayPal order ${orderId}`);
	o.status = "APPROVED";
}

/** The env that points the payment providers at these fakes (only for the ones given). */
export function providerEnv(fakes: {
	stripe?: FakeStripe;
	stripeWebhookSecret?: string;
	midtrans?: FakeMidtrans;
	paypal?: FakePayPal;
}): Record<string, string> {
	const env: Record<string, string> = {};
	const { stripe, midtrans, paypal } = fakes;
	if (stripe)
		Object.assign(env, {
			STRIPE_SECRET_KEY: stripe.secretKey,
			STRIPE_WEBHOOK_SECRET: fakes.stripeWebhookSecret ?? "whsec_test",
			STRIPE_API_BASE: stripe.url,
		});
	if (midtrans) Object.assign(env, { MIDTRANS_SERVER_KEY: midtrans.serverKey, MIDTRANS_API_BASE: midtrans.url, MIDTRANS_SNAP_BASE: midtrans.url });
	if (paypal)
		Object.assign(env, {
			PAYPAL_CLIENT_ID: paypal.clientId,
			PAYPAL_CLIENT_SECRET: paypal.clientSecret,
			PAYPAL_WEBHOOK_ID: paypal.webhookId,
			PAYPAL_API_BASE: paypal.url,
		});
	return env;
}
