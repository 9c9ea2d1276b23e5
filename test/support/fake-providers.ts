import http from "node:http";
import { createHash, createHmac, randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";

/**
 * Local stand-ins for the payment providers' HTTP APIs, on 127.0.0.1 and an ephemeral port.
 * They answer with the fields MediaShar reads, check the credentials it must send, and record
 * every request so tests can assert on what was sent. Nothing here talks to the internet.
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
			const rec: RecordedRequest = { method: req.method ?? "GET", path: u.pathname, query: u.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
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
}

export async function startFakeStripe(secretKey = "sk_test_fake"): Promise<FakeStripe> {
	const s = (await startFakeServer()) as FakeStripe;
	s.secretKey = secretKey;
	s.sessions = new Map();
	const authorized = (req: RecordedRequest) => req.headers.authorization === `Bearer ${secretKey}`;
	const byIdempotency = new Map<string, string>();
	s.route("POST /v1/checkout/sessions", (req) => {
		if (!authorized(req)) return { status: 401, body: { error: { message: "Invalid API Key provided" } } };
		const key = String(req.headers["idempotency-key"] ?? "");
		const prior = key && byIdempotency.get(key);
		const form = new URLSearchParams(req.body);
		const id = prior || `cs_test_${randomBytes(8).toString("hex")}`;
		if (!prior) {
			s.sessions.set(id, { id, form, status: "open", payment_status: "unpaid", payment_intent: null });
			if (key) byIdempotency.set(key, id);
		}
		return { body: { id, object: "checkout.session", url: `https://checkout.stripe.test/c/pay/${id}`, expires_at: Number(form.get("expires_at")), status: "open" } };
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
		return { body: { id: `re_${randomBytes(6).toString("hex")}`, object: "refund", status: "succeeded", payment_intent: new URLSearchParams(req.body).get("payment_intent") } };
	});
	return s;
}

// ---------------------------------------------------------------- Midtrans

export interface FakeMidtrans extends FakeServer {
	serverKey: string;
	/** Transaction status answered by GET /v2/:order_id/status. */
	statuses: Map<string, Record<string, string>>;
}

export async function startFakeMidtrans(serverKey = "SB-Mid-server-fake"): Promise<FakeMidtrans> {
	const s = (await startFakeServer()) as FakeMidtrans;
	s.serverKey = serverKey;
	s.statuses = new Map();
	const authorized = (req: RecordedRequest) => req.headers.authorization === `Basic ${Buffer.from(`${serverKey}:`).toString("base64")}`;
	const unauthorized = { status: 401, body: { status_code: "401", status_message: "Access denied due to unauthorized transaction" } };
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
			return { body: { ...base, payment_type: "qris", qr_string: `00020101021226FAKEQR${base.order_id}`, actions: [{ name: "generate-qr-code", method: "GET", url: `${s.url}/v2/qris/${base.transaction_id}/qr-code` }] } };
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
		const st = s.statuses.get(params(req).orderId);
		if (!st) return { body: { status_code: "404", status_message: "Transaction doesn't exist." } };
		return { body: { status_code: "200", order_id: params(req).orderId, ...st } };
	});
	return s;
}

/** A Midtrans HTTP notification body for an order, signed with the server key (or not). */
export function midtransNotification(serverKey: string, fields: { order_id: string; transaction_status: string; gross_amount: string; status_code?: string; fraud_status?: string; transaction_id?: string }, forge = false) {
	const status_code = fields.status_code ?? (["settlement", "capture", "refund"].includes(fields.transaction_status) ? "200" : fields.transaction_status === "pending" ? "201" : "202");
	const n: Record<string, string> = {
		transaction_time: "2026-01-01 10:00:00",
		transaction_id: fields.transaction_id ?? `tx-${fields.order_id}`,
		status_message: "midtrans payment notification",
		status_code,
		payment_type: "qris",
		order_id: fields.order_id,
		merchant_id: "G000000000",
		gross_amount: fields.gross_amount,
		currency: "IDR",
		transaction_status: fields.transaction_status,
		...(fields.fraud_status ? { fraud_status: fields.fraud_status } : {}),
	};
	const key = forge ? "not-the-server-key" : serverKey;
	// Computed independently of lib/payments/midtrans.ts so the test checks the real formula.
	n.signature_key = createHash("sha512").update(n.order_id + n.status_code + n.gross_amount + key).digest("hex");
	return n;
}

// ---------------------------------------------------------------- PayPal

export interface FakePayPal extends FakeServer {
	clientId: string;
	clientSecret: string;
	webhookId: string;
	tokensIssued: number;
	orders: Map<string, { id: string; status: string; custom_id: string; amount: { currency_code: string; value: string }; capture?: { id: string; status: string } }>;
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
	const sigFor = (id: string, time: string, webhookId: string, body: string) => createHmac("sha256", signingKey).update(`${id}|${time}|${webhookId}|${body}`).digest("base64");
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
		if (req.headers.authorization !== `Basic ${Buffer.from(`${s.clientId}:${s.clientSecret}`).toString("base64")}`) return { status: 401, body: { error: "invalid_client" } };
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
		return { status: 200, body: { id, status: "PAYER_ACTION_REQUIRED", links: [{ rel: "self", href: `${s.url}/v2/checkout/orders/${id}` }, { rel: "payer-action", href: `https://www.paypal.test/checkoutnow?token=${id}` }] } };
	});
	const orderBody = (o: FakePayPal["orders"] extends Map<string, infer V> ? V : never) => ({
		id: o.id,
		status: o.status,
		purchase_units: [{ custom_id: o.custom_id, payments: o.capture ? { captures: [{ id: o.capture.id, status: o.capture.status, amount: o.amount, custom_id: o.custom_id }] } : undefined }],
	});
	s.route("POST /v2/checkout/orders/:id/capture", (req) => {
		if (!bearer(req)) return unauthorized;
		const o = s.orders.get(params(req).id);
		if (!o) return { status: 404, body: { name: "RESOURCE_NOT_FOUND" } };
		if (o.capture) return { status: 422, body: { name: "UNPROCESSABLE_ENTITY", details: [{ issue: "ORDER_ALREADY_CAPTURED" }] } };
		if (o.status !== "APPROVED") return { status: 422, body: { name: "UNPROCESSABLE_ENTITY", details: [{ issue: "ORDER_NOT_APPROVED" }] } };
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
	s.route("POST /v1/notifications/verify-webhook-signature", (req) => {
		if (!bearer(req)) return unauthorized;
		const b = JSON.parse(req.body);
		const required = ["auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id", "webhook_event"];
		if (required.some((k) => b[k] === undefined)) return { status: 400, body: { name: "VALIDATION_ERROR" } };
		const ok = b.webhook_id === s.webhookId && b.transmission_sig === sigFor(b.transmission_id, b.transmission_time, b.webhook_id, JSON.stringify(b.webhook_event));
		return { body: { verification_status: ok ? "SUCCESS" : "FAILURE" } };
	});
	return s;
}

/** Marks a fake PayPal order approved, as if the payer clicked "Pay Now". */
export function approvePayPalOrder(pp: FakePayPal, orderId: string) {
	const o = pp.orders.get(orderId);
	if (!o) throw new Error(`no fake PayPal order ${orderId}`);
	o.status = "APPROVED";
}

/** The env that points the payment providers at these fakes (only for the ones given). */
export function providerEnv(fakes: { stripe?: FakeStripe; stripeWebhookSecret?: string; midtrans?: FakeMidtrans; paypal?: FakePayPal }): Record<string, string> {
	const env: Record<string, string> = {};
	const { stripe, midtrans, paypal } = fakes;
	if (stripe) Object.assign(env, { STRIPE_SECRET_KEY: stripe.secretKey, STRIPE_WEBHOOK_SECRET: fakes.stripeWebhookSecret ?? "whsec_test", STRIPE_API_BASE: stripe.url });
	if (midtrans) Object.assign(env, { MIDTRANS_SERVER_KEY: midtrans.serverKey, MIDTRANS_API_BASE: midtrans.url, MIDTRANS_SNAP_BASE: midtrans.url });
	if (paypal) Object.assign(env, { PAYPAL_CLIENT_ID: paypal.clientId, PAYPAL_CLIENT_SECRET: paypal.clientSecret, PAYPAL_WEBHOOK_ID: paypal.webhookId, PAYPAL_API_BASE: paypal.url });
	return env;
}
