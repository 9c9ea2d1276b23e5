import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type Collection, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { loadConfig } from "../../lib/config";
import type { PaymentsConfig } from "../../lib/config/payments";
import { CURRENCY_CODES } from "../../lib/domain/money";
import { countWebhook } from "../../lib/tools/metrics";
import { conflict, invalid, notFound } from "../../lib/tools/errors";
import { loaded } from "../../lib/domain/permissions";
import { adoptLegacyMark } from "../../lib/db/outbox";
import { buildProviders, type PaymentProvider, type ProviderEvent } from "../../lib/payments";
import type { SandboxOutcome } from "../../lib/payments/sandbox";
import { providerCall } from "../../lib/payments/provider-call";
import { createPayment, type CreateParams } from "../../lib/payments/checkout";
import { receiveWebhook, type WebhookResult } from "../../lib/payments/webhooks";
import { refundAtProvider } from "../../lib/payments/refunds";
import { expireStale, notifyStatus, redriveNotifications } from "../../lib/payments/sweeps";
import { promiseSandboxWebhook, redriveSandbox } from "../../lib/payments/sandbox-deliveries";
import { applyReported } from "../../lib/domain/payments/apply";
import { isFinal } from "../../lib/domain/payments/state";
import {
	paymentRef,
	paymentView,
	type Applied,
	type PaymentDoc,
	type PaymentEventDoc,
	type PaymentView,
	type SandboxDelivery,
} from "../../lib/domain/payments/docs";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Payments: one payment per donation at a provider (sandbox, Stripe, Midtrans, PayPal), webhook
 * verification and dedupe, the payment state machine (lib/domain/payments/state.ts, applied by
 * lib/domain/payments/apply.ts), expiry, and the `payments.statusChanged` channel that tells
 * donations what happened. Every status change is a conditional update that also raises the
 * outbox mark `effectsDue`; the message is sent after the write and the mark cleared after the
 * send, so a crash in between is re-driven on start and by the sweep (lib/payments/sweeps.ts).
 * Partial refunds keep the payment paid and raise `refundedAmount` (only upwards, conditionally);
 * a won dispute is the one way out of `reversed` (back to paid). `rev` counts every change and
 * travels with the message, so consumers can tell a late message from a current one.
 * Sandbox webhooks are stored (`sandbox_deliveries`) before `/complete` answers 202 and are
 * delivered from there, re-driven on start and by the sweep until delivered: a 202 always lands
 * (lib/payments/sandbox-deliveries.ts). Checkout is lib/payments/checkout.ts, webhooks
 * lib/payments/webhooks.ts, refunds lib/payments/refunds.ts; this file is their table of contents.
 */

export type { PaymentDoc, StatusChangedMessage } from "../../lib/domain/payments/docs";

interface WebhookParams {
	body: string;
	params: { provider: string };
	query?: Record<string, unknown>;
}

type Meta = GatewayMeta & { webhook?: { headers: Record<string, string | undefined> }; $location?: string };
type Ctx<P = Record<string, unknown>> = Context<P, Meta>;

const PAYMENT_ID = { type: "string", min: 1, max: 64 };

interface Local extends DbThis<PaymentDoc, { payment_events: Collection<PaymentEventDoc>; sandbox_deliveries: Collection<SandboxDelivery> }> {
	config: PaymentsConfig;
	publicUrl: string;
	providers: Record<string, PaymentProvider | undefined>;
	inFlight: Set<Promise<unknown>>;
	stopping: boolean;
	/** Set once the start re-drive began: the sweep works only after it (channels are connected by then). */
	backgroundStarted: boolean;
}
interface Methods extends SweeperMethods {
	applyReported(doc: PaymentDoc, ev: ProviderEvent): Promise<Applied>;
	notifyCurrent(doc: PaymentDoc): Promise<PaymentDoc>;
	notify(doc: PaymentDoc): Promise<void>;
	receiveWebhook(providerName: string, rawBody: string, headers: Record<string, string | undefined>): Promise<WebhookResult>;
	startBackground(): Promise<void>;
	tick(): Promise<void>;
	track(p: Promise<unknown>): void;
	resultUrl(paymentId: string, status?: string): string;
}
type Settings = ServiceSettingSchema & { rest: string };
type This = Service<Settings> & Local & Methods;

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "payments",
	mixins: [
		DbMixin(
			"payments",
			[
				{ fields: "donationId", unique: true },
				{ fields: ["status", "expiresAt"] },
				{ fields: "providerRefs", array: true },
				{ fields: "effectsDue", sparse: true },
			],
			{ payment_events: [{ fields: "key", unique: true }], sandbox_deliveries: [{ fields: "nextAt" }] },
		),
		// Expiry, then notifications, then sandbox deliveries, every PAYMENT_SWEEP_SEC.
		SweeperMixin<This>({ name: "tick", everyMs: (svc) => svc.config.sweepMs, run: (svc) => svc.tick() }),
	],
	settings: {
		rest: "/",
	},

	actions: {
		/** The providers this server accepts (the donation page offers only these). */
		providers: {
			rest: "GET /payments/providers",
			handler() {
				return { providers: Object.keys(this.providers) };
			},
		},

		/** Opens the payment for a donation at its provider (one per donation; a repeat returns it). */
		create: {
			visibility: "public",
			params: {
				/** The id to give the payment (the donation stores it before the call); one is made otherwise. */
				paymentId: { type: "string", min: 1, max: 64, optional: true },
				donationId: { type: "string", min: 1, max: 64 },
				amount: { type: "number", integer: true, positive: true },
				currency: { type: "enum", values: CURRENCY_CODES },
				provider: { type: "string", min: 1, max: 20 },
				method: { type: "string", max: 30, optional: true },
				bank: { type: "string", max: 30, optional: true },
				donorName: { type: "string", max: 100, optional: true },
				email: { type: "email", max: 254, optional: true },
				description: { type: "string", max: 200, optional: true },
			},
			async handler(ctx: Ctx<CreateParams>): Promise<PaymentView> {
				const doc = await createPayment(this, ctx.params, { ttlSec: this.config.ttlSec, resultUrl: (id) => this.resultUrl(id) });
				return paymentView(doc);
			},
		},

		/** The payment as the payer's checkout page shows it (ids are unguessable). */
		get: {
			rest: "GET /payments/:id",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ id: string }>): Promise<PaymentView> {
				const doc = await this.store.findById(ctx.params.id);
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				return paymentView(doc);
			},
		},

		/** Provider webhooks (routed by the gateway with the raw body): verify, dedupe, transition. */
		webhook: {
			params: {
				body: { type: "string" },
				params: { type: "object", props: { provider: { type: "string", max: 20 } } },
			},
			async handler(ctx: Ctx<WebhookParams>) {
				const provider = ctx.params.params.provider;
				try {
					const result = await this.receiveWebhook(provider, ctx.params.body, ctx.meta.webhook?.headers ?? {});
					countWebhook(this.broker, provider, "duplicate" in result && result.duplicate ? "duplicate" : "accepted");
					return result;
				} catch (err) {
					const code = (err as { code?: number }).code;
					countWebhook(this.broker, provider, typeof code === "number" && code >= 400 && code < 500 ? "rejected" : "error");
					throw err;
				}
			},
		},

		/** The sandbox acting as the provider: signs a webhook for the outcome and delivers it. */
		sandboxComplete: {
			rest: "POST /payments/sandbox/:id/complete",
			status: 202,
			params: {
				id: { type: "string", min: 1, max: 64 },
				// What a payer can do at a checkout. A refund is the money's receiver's decision:
				// POST /api/payments/:id/refund (the recipient or an admin).
				outcome: { type: "enum", values: ["settlement", "deny", "expire"] },
			},
			async handler(ctx: Ctx<{ id: string; outcome: SandboxOutcome }>) {
				if (!this.providers.sandbox) throw notFound("Sandbox", "SANDBOX_DISABLED");
				const doc = await this.store.findById(ctx.params.id);
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				if (doc.provider !== "sandbox") throw invalid("id", "Only sandbox payments can be completed here", "NOT_A_SANDBOX_PAYMENT");
				const outcome = ctx.params.outcome;
				if (doc.status !== "pending") {
					throw conflict(`A ${doc.status} payment cannot take the outcome "${outcome}"`, "INVALID_PAYMENT_STATE", { status: doc.status });
				}
				const url = this.config.sandboxWebhookUrl || `${ctx.meta.selfUrl || `http://127.0.0.1:${this.config.port}`}/api/payments/webhooks/sandbox`;
				const delivery = await promiseSandboxWebhook(this, doc, outcome, url);
				return { accepted: true, paymentId: doc._id, outcome, eventId: delivery.event.event_id };
			},
		},

		/** Where PayPal sends the payer back after approving: capture, then show the result page. */
		paypalReturn: {
			rest: "GET /payments/paypal/return",
			status: 302,
			params: { token: { type: "string", min: 1, max: 64 }, PayerID: { type: "string", max: 64, optional: true } },
			async handler(ctx: Ctx<{ token: string }>) {
				const paypal = this.providers.paypal;
				if (!paypal?.capture) throw notFound("PayPal", "PROVIDER_UNAVAILABLE");
				const doc = await this.store.findOne({ provider: "paypal", providerRefs: ctx.params.token });
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				let current = doc;
				ctx.meta.$statusCode = 302;
				if (doc.status === "pending") {
					try {
						const ev = await providerCall(this.logger, () => paypal.capture!(paymentRef(doc), ctx.params.token));
						if (ev) current = (await this.applyReported(doc, ev)).doc;
					} catch (err) {
						const action = (err as { data?: { action?: { url?: string } } }).data?.action;
						if ((err as { type?: string }).type !== "PAYER_ACTION_REQUIRED" || !action?.url) throw err;
						// Declined funding source: back to PayPal to pick another one (PayPal's "restart").
						ctx.meta.$location = action.url;
						return { id: doc._id, status: doc.status, action };
					}
				}
				ctx.meta.$location = this.resultUrl(current._id, current.status);
				return { id: current._id, status: current.status };
			},
		},

		/** Expires pending payments past their expiry (also run by the sweep); for operators. */
		expireStale: {
			visibility: "public",
			params: { batch: { type: "number", integer: true, min: 1, max: 1000, optional: true } },
			async handler(ctx: Ctx<{ batch?: number }>) {
				return { expired: await expireStale(this, this.config.expiryGraceMs, ctx.params.batch) };
			},
		},

		/** Asks the provider for the payment's status and applies it (reconciliation). */
		recheck: {
			visibility: "public",
			params: { paymentId: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ paymentId: string }>): Promise<PaymentView> {
				const doc = await this.store.findById(ctx.params.paymentId);
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				const provider = this.providers[doc.provider];
				if (!provider?.fetchStatus || isFinal(doc.status)) return paymentView(doc);
				const ev = await providerCall(this.logger, () => provider.fetchStatus!(paymentRef(doc)));
				if (!ev) return paymentView(doc);
				return paymentView((await this.applyReported(doc, ev)).doc);
			},
		},

		/** Refund of a paid payment, in full or in part (`amount`, default what remains), by the donation's recipient or an admin. */
		refund: {
			rest: "POST /payments/:id/refund",
			status: 202,
			// Never retried by the broker: a second run would make a second refund request to the provider.
			retryPolicy: { enabled: false },
			auth: "required",
			// The donation's recipient or an admin; the rule loaded the payment (system calls read it here).
			permissions: ["payment.refunder"],
			// A client retrying with the same Idempotency-Key gets the first answer; without one, a
			// repeat from the same refunded total is the same refund at the provider (lib/payments/refunds.ts).
			idempotency: { scope: "payments.refund" },
			params: { id: PAYMENT_ID, amount: { type: "number", integer: true, positive: true, optional: true } },
			async handler(ctx: Ctx<{ id: string; amount?: number }>): Promise<PaymentView> {
				const doc = loaded(ctx, "payment", ctx.params.id)?.doc ?? (await this.store.findById(ctx.params.id));
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				return paymentView(await refundAtProvider(this, doc, ctx.params.amount));
			},
		},

		/** The payment document, or null (the "payment.refunder" rule reads it). */
		find: {
			visibility: "public",
			params: { id: PAYMENT_ID },
			async handler(ctx: Ctx<{ id: string }>): Promise<PaymentDoc | null> {
				return this.store.findById(ctx.params.id);
			},
		},
	},

	events: {
		/** Channels are connected once the broker has started: re-drive and start the sweep then. */
		async "$broker.started"() {
			await this.startBackground();
		},
	},

	methods: {
		applyReported(doc: PaymentDoc, ev: ProviderEvent): Promise<Applied> {
			return applyReported(this, doc, ev);
		},

		/** After a change this call made: re-read the payment and send its notification. */
		async notifyCurrent(doc: PaymentDoc): Promise<PaymentDoc> {
			const updated = (await this.store.findById(doc._id)) ?? doc;
			await this.notify(updated);
			return updated;
		},

		/** Sends payments.statusChanged for the payment's current status, then clears the mark. */
		notify(doc: PaymentDoc): Promise<void> {
			return notifyStatus(this, doc, (msg) => this.broker.sendToChannel("payments.statusChanged", msg));
		},

		receiveWebhook(providerName: string, rawBody: string, headers: Record<string, string | undefined>): Promise<WebhookResult> {
			return receiveWebhook(this, providerName, rawBody, headers);
		},

		/** Re-drives every unsent notification and promised sandbox webhook (once), then lets the sweep run. */
		async startBackground() {
			if (this.stopping || this.backgroundStarted) return;
			this.backgroundStarted = true;
			await redriveNotifications(this, 0).catch((err: Error) => this.logger.warn("Payment notification re-drive failed", err.message));
			await redriveSandbox(this, true).catch((err: Error) => this.logger.warn("Sandbox webhook re-drive failed", err.message));
		},

		/** The sweep: expire overdue payments, re-send unsent notifications, re-drive due sandbox webhooks. */
		async tick() {
			if (!this.backgroundStarted || this.stopping) return;
			await expireStale(this, this.config.expiryGraceMs);
			await redriveNotifications(this);
			await redriveSandbox(this, false);
		},

		/** Keeps background work so stopping can wait for it. */
		track(p: Promise<unknown>) {
			this.inFlight.add(p);
			p.catch((err: Error) => this.logger.warn("Background payment work failed", err.message)).finally(() => this.inFlight.delete(p));
		},

		/** The page a payer lands on after a hosted checkout. */
		resultUrl(paymentId: string, status?: string): string {
			return `${this.publicUrl}/pay/result/${paymentId}${status ? `?status=${encodeURIComponent(status)}` : ""}`;
		},
	},

	created() {
		const cfg = loadConfig();
		this.config = cfg.payments;
		this.publicUrl = cfg.publicUrl;
		// No prototype: a provider named by a request ("constructor", "__proto__") must not resolve.
		this.providers = Object.assign(Object.create(null) as Record<string, PaymentProvider | undefined>, buildProviders(cfg));
		this.inFlight = new Set<Promise<unknown>>();
		this.stopping = false;
		this.backgroundStarted = false;
	},

	async started() {
		// Rows stored before the outbox convention carry `notifyPending: true`: they get `effectsDue`.
		await adoptLegacyMark(this.store, "payments", "notifyPending");
		// Normally the broker is still starting here and `$broker.started` follows; a service
		// (re)loaded into a running broker starts its background work at once.
		if (this.broker.started) setImmediate(() => void this.startBackground());
	},

	async stopped() {
		this.stopping = true;
		await Promise.allSettled([...this.inFlight]);
	},
};

export default schema;
