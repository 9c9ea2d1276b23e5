import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin, type Collection } from "../../mixins/db.mixin";
import { intEnv, loadConfig, type AppConfig } from "../../lib/config";
import { idTime, isId, newId, randomId } from "../../lib/tools/ids";
import { amountProblem, CURRENCY_CODES, formatMoney } from "../../lib/domain/money";
import { countWebhook } from "../../lib/tools/metrics";
import { badRequest, conflict, forbidden, invalid, isDuplicateKey, notFound } from "../../lib/tools/errors";
import {
	buildProviders,
	PayerActionRequired,
	PaymentInputError,
	ProviderError,
	ProviderRefusedError,
	PROVIDER_NAMES,
	WebhookPayloadError,
	WebhookSignatureError,
	type PaymentProvider,
	type PaymentRef,
	type PaymentStatus,
	type ProviderEvent,
	type ProviderName,
} from "../../lib/payments";
import { SANDBOX_SIGNATURE_HEADER, type SandboxOutcome, type SandboxProvider } from "../../lib/payments/sandbox";
import { isFinal, reinstate, targetFor, transition } from "../../lib/domain/payments/state";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Payments: one payment per donation at a provider (sandbox, Stripe, Midtrans, PayPal), webhook
 * verification and dedupe, the payment state machine (lib/domain/payments/state.ts), expiry, and the
 * `payments.statusChanged` channel that tells donations what happened. Every status change is a
 * conditional update that also raises `notifyPending`; the message is sent after the write and
 * the flag cleared after the send, so a crash in between is re-driven on start and by the timer.
 * Partial refunds keep the payment paid and raise `refundedAmount` (only upwards, conditionally);
 * a won dispute is the one way out of `reversed` (back to paid). `rev` counts every change and
 * travels with the message, so consumers can tell a late message from a current one.
 * Sandbox webhooks are stored (`sandbox_deliveries`) before `/complete` answers 202 and are
 * delivered from there, re-driven on start and by the timer until delivered: a 202 always lands.
 */

export interface PaymentDoc {
	_id: string;
	donationId: string;
	provider: ProviderName;
	status: PaymentStatus;
	amount: number;
	currency: string;
	method: string | null;
	action: unknown;
	providerRef: string | null;
	providerRefs: string[];
	createdAt: string;
	updatedAt: string;
	expiresAt: string;
	statusAt: string;
	previousStatus: PaymentStatus | null;
	paidAt?: string;
	notifyPending: boolean;
	notifiedStatus: PaymentStatus | null;
	/** Refunded or charged back so far (minor units): < amount while paid, = amount once refunded/reversed. */
	refundedAmount?: number;
	/** What was refunded before a reversal, restored when the dispute is won. */
	refundedBeforeReversal?: number;
	/** Incremented by every change (status or refunded amount). */
	rev?: number;
	/** Times a won dispute reinstated the payment. */
	reinstatements?: number;
}

/** A sandbox webhook the sandbox has promised (202) and not yet delivered. */
interface SandboxDelivery {
	_id: string;
	paymentId: string;
	url: string;
	event: { event_id: string; payment_id: string; status: SandboxOutcome };
	attempts: number;
	nextAt: number;
	createdAt: string;
}

interface CreateParams {
	paymentId?: string;
	donationId: string;
	amount: number;
	currency: string;
	provider: string;
	method?: string;
	bank?: string;
	donorName?: string;
	email?: string;
	description?: string;
}

interface WebhookParams {
	body: string;
	params: { provider: string };
	query?: Record<string, unknown>;
}

type Meta = GatewayMeta & { webhook?: { headers: Record<string, string | undefined> }; $location?: string };
type Ctx<P = Record<string, unknown>> = Context<P, Meta>;

export interface StatusChangedMessage {
	paymentId: string;
	donationId: string;
	provider: ProviderName;
	status: PaymentStatus;
	previousStatus: PaymentStatus | null;
	at: string;
	/** Refunded / charged back so far (a partial refund keeps `status: "paid"`). */
	refundedAmount: number;
	/** Times a won dispute reinstated the payment (orders a late `reversed` after `paid` again). */
	reinstatements: number;
	rev: number;
}

/** Unfinished notifications younger than this are left to the send already in flight. */
const REDRIVE_MIN_AGE_MS = 2_000;
const SANDBOX_DELIVERY_ATTEMPTS = 5;
/** A delivery being attempted is leased this long; a node that dies mid-attempt leaves it to the next sweep. */
const SANDBOX_DELIVERY_LEASE_MS = 15_000;
/** Pending payments looked at per page of the expiry sweep, and pages per sweep. */
const SWEEP_BATCH = 200;
const SWEEP_MAX_PAGES = 20;

const schema: ServiceSchema = {
	name: "payments",
	mixins: [
		DbMixin(
			"payments",
			[{ fields: "donationId", unique: true }, { fields: ["status", "expiresAt"] }, { fields: "providerRefs" }, { fields: "notifyPending" }],
			{ payment_events: [{ fields: "key", unique: true }], sandbox_deliveries: [{ fields: "nextAt" }] },
		),
	],
	settings: {
		rest: "/",
	},

	actions: {
		/** The providers this server accepts (the donation page offers only these). */
		providers: {
			rest: "GET /payments/providers",
			handler(this: any) {
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
			async handler(this: any, ctx: Ctx<CreateParams>) {
				return this.view(await this.createPayment(ctx.params));
			},
		},

		/** The payment as the payer's checkout page shows it (ids are unguessable). */
		get: {
			rest: "GET /payments/:id",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const doc = await this.store.findById(ctx.params.id);
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				return this.view(doc);
			},
		},

		/** Provider webhooks (routed by the gateway with the raw body): verify, dedupe, transition. */
		webhook: {
			params: {
				body: { type: "string" },
				params: { type: "object", props: { provider: { type: "string", max: 20 } } },
			},
			async handler(this: any, ctx: Ctx<WebhookParams>) {
				const provider = ctx.params.params.provider;
				try {
					const result = await this.receiveWebhook(provider, ctx.params.body, ctx.meta.webhook?.headers ?? {});
					countWebhook(this.broker, provider, result?.duplicate ? "duplicate" : "accepted");
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
			async handler(this: any, ctx: Ctx<{ id: string; outcome: SandboxOutcome }>) {
				const sandbox: SandboxProvider | undefined = this.providers.sandbox;
				if (!sandbox) throw notFound("Sandbox", "SANDBOX_DISABLED");
				const doc: PaymentDoc | null = await this.store.findById(ctx.params.id);
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				if (doc.provider !== "sandbox") throw invalid("id", "Only sandbox payments can be completed here", "NOT_A_SANDBOX_PAYMENT");
				const outcome = ctx.params.outcome;
				if (doc.status !== "pending") {
					throw conflict(`A ${doc.status} payment cannot take the outcome "${outcome}"`, "INVALID_PAYMENT_STATE", { status: doc.status });
				}
				const url = this.sandboxWebhookUrl || `${ctx.meta.selfUrl || `http://127.0.0.1:${intEnv("PORT", 3000)}`}/api/payments/webhooks/sandbox`;
				const event = { event_id: newId(), payment_id: doc._id, status: outcome };
				// Stored before the 202: a process that dies before delivering leaves the delivery to
				// the next start or sweep, the way a provider retries its webhooks.
				const delivery: SandboxDelivery = {
					_id: event.event_id,
					paymentId: doc._id,
					url,
					event,
					attempts: 0,
					nextAt: Date.now() + SANDBOX_DELIVERY_LEASE_MS,
					createdAt: new Date().toISOString(),
				};
				await this.stores.sandbox_deliveries.insert(delivery);
				// Delivered after this reply, the way a provider calls back on its own schedule.
				setImmediate(() => this.track(this.deliverSandboxWebhook(delivery)));
				return { accepted: true, paymentId: doc._id, outcome, eventId: event.event_id };
			},
		},

		/** Where PayPal sends the payer back after approving: capture, then show the result page. */
		paypalReturn: {
			rest: "GET /payments/paypal/return",
			status: 302,
			params: { token: { type: "string", min: 1, max: 64 }, PayerID: { type: "string", max: 64, optional: true } },
			async handler(this: any, ctx: Ctx<{ token: string }>) {
				const paypal: PaymentProvider | undefined = this.providers.paypal;
				if (!paypal?.capture) throw notFound("PayPal", "PROVIDER_UNAVAILABLE");
				const doc: PaymentDoc | null = await this.store.findOne({ provider: "paypal", providerRefs: ctx.params.token });
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				let current = doc;
				ctx.meta.$statusCode = 302;
				if (doc.status === "pending") {
					try {
						const ev = await this.providerCall(() => paypal.capture!(this.ref(doc), ctx.params.token));
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

		/** Expires pending payments past their expiry (also run by the timer); for operators. */
		expireStale: {
			visibility: "public",
			params: { batch: { type: "number", integer: true, min: 1, max: 1000, optional: true } },
			async handler(this: any, ctx: Ctx<{ batch?: number }>) {
				return { expired: await this.expireStale(ctx.params.batch) };
			},
		},

		/** Asks the provider for the payment's status and applies it (reconciliation). */
		recheck: {
			visibility: "public",
			params: { paymentId: { type: "string", min: 1, max: 64 } },
			async handler(this: any, ctx: Ctx<{ paymentId: string }>) {
				const doc: PaymentDoc | null = await this.store.findById(ctx.params.paymentId);
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				const provider: PaymentProvider | undefined = this.providers[doc.provider];
				if (!provider?.fetchStatus || isFinal(doc.status)) return this.view(doc);
				const ev = await this.providerCall(() => provider.fetchStatus!(this.ref(doc)));
				if (!ev) return this.view(doc);
				return this.view((await this.applyReported(doc, ev)).doc);
			},
		},

		/** Full refund of a paid payment, by the donation's recipient or an admin. */
		refund: {
			rest: "POST /payments/:id/refund",
			status: 202,
			// Never retried by the broker: a second run would make a second refund request to the provider.
			retryPolicy: { enabled: false },
			auth: "required",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(this: any, ctx: Ctx<{ id: string }>) {
				const doc: PaymentDoc | null = await this.store.findById(ctx.params.id);
				if (!doc) throw notFound("Payment", "PAYMENT_NOT_FOUND");
				const user = ctx.meta.user!;
				if (!user.roles.includes("admin")) {
					const donation = await ctx.call<any, any>("donations.get", { id: doc.donationId });
					if (!donation || donation.recipientId !== user.id) throw forbidden("Only the recipient or an admin can refund a donation");
				}
				if (doc.status !== "paid") throw conflict(`A ${doc.status} payment cannot be refunded`, "INVALID_PAYMENT_STATE", { status: doc.status });
				const provider: PaymentProvider | undefined = this.providers[doc.provider];
				if (!provider) throw invalid("provider", `${doc.provider} is not enabled on this server`, "PROVIDER_UNAVAILABLE");
				if (doc.provider === "sandbox") {
					const sandbox = provider as SandboxProvider;
					const event = { event_id: newId(), payment_id: doc._id, status: "refund" as const };
					const signed = sandbox.signedWebhook(event);
					await this.receiveWebhook("sandbox", signed.body, { [SANDBOX_SIGNATURE_HEADER]: signed.signature });
				} else {
					if (!provider.refund) throw invalid("provider", `${doc.provider} refunds are not supported`, "NOT_REFUNDABLE");
					const ev = await this.providerCall(() => provider.refund!(this.ref(doc)));
					if (ev) await this.applyReported(doc, ev);
				}
				return this.view((await this.store.findById(doc._id)) ?? doc);
			},
		},
	},

	events: {
		/** Channels are connected once the broker has started: re-drive and start the timer then. */
		async "$broker.started"(this: any) {
			await this.startBackground();
		},
	},

	methods: {
		async createPayment(this: any, p: CreateParams): Promise<PaymentDoc> {
			const existing: PaymentDoc | null = await this.store.findOne({ donationId: p.donationId });
			if (existing) return existing;
			if (!(PROVIDER_NAMES as string[]).includes(p.provider)) {
				throw invalid("provider", `provider must be one of ${PROVIDER_NAMES.join(", ")}`, "VALIDATION_ERROR");
			}
			const provider: PaymentProvider | undefined = this.providers[p.provider];
			if (!provider) throw invalid("provider", `${p.provider} is not enabled on this server`, "PROVIDER_UNAVAILABLE");
			const problem = amountProblem(p.amount, p.currency);
			if (problem) throw invalid("amount", problem);

			const id = p.paymentId ?? randomId();
			const now = new Date();
			// Times sent to the provider come from the id's own creation time, so a retry of this
			// call (same id, the provider's idempotency key) sends exactly the same request.
			const createdAt = isId(id) && idTime(id) <= now.getTime() ? new Date(idTime(id)) : now;
			const expiresAt = new Date(createdAt.getTime() + this.config.paymentTtlSec * 1000);
			// The provider is called before anything is stored: a failed call leaves no half-made
			// payment, and a racing duplicate only leaves an unused provider session behind.
			const created = await this.providerCall(() =>
				provider.createPayment({
					paymentId: id,
					donationId: p.donationId,
					amount: p.amount,
					currency: p.currency,
					method: p.method,
					bank: p.bank,
					donorName: p.donorName || undefined,
					email: p.email,
					description: p.description,
					resultUrl: this.resultUrl(id),
					createdAt,
					expiresAt,
				}),
			);
			const at = now.toISOString();
			const doc: PaymentDoc = {
				_id: id,
				donationId: p.donationId,
				provider: provider.name,
				status: "pending",
				amount: p.amount,
				currency: p.currency,
				method: p.method ?? null,
				action: created.action,
				providerRef: created.providerRef ?? null,
				providerRefs: created.providerRef ? [created.providerRef] : [],
				createdAt: at,
				updatedAt: at,
				expiresAt: (created.expiresAt ?? expiresAt).toISOString(),
				statusAt: at,
				previousStatus: null,
				notifyPending: false,
				notifiedStatus: null,
				refundedAmount: 0,
				rev: 0,
				reinstatements: 0,
			};
			try {
				await this.store.insert(doc);
			} catch (err) {
				if (!isDuplicateKey(err)) throw err;
				const winner = await this.store.findOne({ donationId: p.donationId });
				if (winner) return winner;
				throw err;
			}
			return doc;
		},

		/** Runs a provider call, turning its failures into the contract's 422 / 503 errors. */
		async providerCall<T>(this: any, run: () => Promise<T>): Promise<T> {
			try {
				return await run();
			} catch (err) {
				if (err instanceof PaymentInputError) throw invalid(err.field, err.message, err.type);
				if (err instanceof ProviderRefusedError) {
					// The provider said no to this request: its reason, as a 4xx (retrying cannot help).
					this.logger.info("Payment provider refused a request", err.provider, err.message);
					throw new Errors.MoleculerClientError(err.message, err.conflict ? 409 : 422, "PROVIDER_REFUSED", {
						provider: err.provider,
						reason: err.reason,
					});
				}
				if (err instanceof PayerActionRequired) {
					throw new Errors.MoleculerClientError("The payer must choose another way to pay at the provider", 409, "PAYER_ACTION_REQUIRED", {
						provider: err.provider,
						issue: err.issue,
						action: err.action,
					});
				}
				if (err instanceof ProviderError) {
					this.logger.warn("Payment provider call failed", err.provider, err.message);
					throw new Errors.MoleculerError(`${err.provider} is not answering as expected, try again shortly`, 503, "PROVIDER_ERROR", {
						provider: err.provider,
					});
				}
				throw err;
			}
		},

		async receiveWebhook(this: any, providerName: string, rawBody: string, headers: Record<string, string | undefined>) {
			const provider: PaymentProvider | undefined = this.providers[providerName];
			if (!provider) throw notFound(`Webhook endpoint for ${providerName}`, "PROVIDER_UNAVAILABLE");
			let events: unknown[];
			try {
				events = await this.providerCall(() => provider.verifyWebhook(rawBody, headers));
			} catch (err) {
				if (err instanceof WebhookSignatureError) {
					this.logger.warn(`Rejected ${providerName} webhook: ${err.reason}`);
					throw badRequest("Webhook signature is missing or not valid", "INVALID_SIGNATURE", { reason: err.reason });
				}
				if (err instanceof WebhookPayloadError) throw badRequest(err.message, "INVALID_BODY");
				throw err;
			}
			const results = [];
			for (const raw of events) {
				let ev: ProviderEvent | null;
				try {
					// A provider whose signature does not cover the status (Midtrans) is asked for it.
					ev = provider.confirm ? await this.providerCall(() => provider.confirm!(raw)) : provider.parseEvent(raw);
				} catch (err) {
					if (err instanceof WebhookPayloadError) throw badRequest(err.message, "INVALID_BODY");
					throw err;
				}
				results.push(ev ? await this.handleEvent(provider.name, ev) : { received: true, ignored: "event_type" });
			}
			return results.length === 1 ? results[0] : { received: true, results };
		},

		/** One verified event: dedupe by event id, find the payment, apply the transition. */
		async handleEvent(this: any, providerName: ProviderName, ev: ProviderEvent) {
			const events: Collection = this.stores.payment_events;
			const key = `${providerName}:${ev.eventId}`;
			if (await events.findOne({ key })) return { received: true, duplicate: true };
			const doc = await this.findForEvent(ev);
			if (!doc) {
				// Not ours (another integration on the same provider account) or long gone: a 4xx
				// would only make the provider retry for days, so it is acknowledged and logged.
				this.logger.info(`Ignored ${providerName} event ${ev.eventId}: no matching payment`);
				return { received: true, ignored: "unknown_payment" };
			}
			if (doc.provider !== providerName) {
				this.logger.warn(`Ignored ${providerName} event ${ev.eventId} for a ${doc.provider} payment ${doc._id}`);
				return { received: true, ignored: "provider_mismatch" };
			}
			const outcome = ev.captureRef ? await this.captureApproved(doc, ev) : await this.applyReported(doc, ev);
			if (outcome.result === "too_early") {
				throw conflict("This payment has not settled yet; deliver this event again later", "PAYMENT_NOT_SETTLED", {
					paymentId: doc._id,
					status: doc.status,
				});
			}
			try {
				// Recorded after the transition: a crash in between means the provider's retry is
				// applied again, which the conditional update turns into a no-op.
				await events.insert({
					_id: newId(),
					key,
					provider: providerName,
					eventId: ev.eventId,
					type: ev.type ?? null,
					paymentId: doc._id,
					reported: ev.status,
					result: outcome.result,
					receivedAt: new Date().toISOString(),
				});
			} catch (err) {
				if (isDuplicateKey(err)) return { received: true, duplicate: true };
				throw err;
			}
			return { received: true, paymentId: doc._id, status: outcome.doc.status, result: outcome.result };
		},

		async findForEvent(this: any, ev: ProviderEvent): Promise<PaymentDoc | null> {
			// An event that names a payment id is about that payment only: an id we do not know
			// belongs to another system sharing the provider account, not to a look-alike of ours.
			if (ev.paymentId) return this.store.findById(ev.paymentId);
			const refs = (ev.providerRefs ?? []).filter((r) => typeof r === "string" && r.length > 0);
			if (refs.length) return this.store.findOne({ providerRefs: { $in: refs } });
			return null;
		},

		/** The payer approved at the provider (PayPal CHECKOUT.ORDER.APPROVED): capture at once and apply. */
		async captureApproved(this: any, doc: PaymentDoc, ev: ProviderEvent): Promise<{ doc: PaymentDoc; result: string }> {
			const provider: PaymentProvider = this.providers[doc.provider];
			if (doc.status !== "pending" || !provider.capture) return { doc, result: "no_change" };
			try {
				const captured = await provider.capture(this.ref(doc), ev.captureRef!);
				return captured ? await this.applyReported(doc, captured) : { doc, result: "no_change" };
			} catch (err) {
				if (!(err instanceof PayerActionRequired)) return this.providerCall(() => Promise.reject(err));
				// Declined funding source: the payer is sent back to PayPal when they return to us.
				await this.store.updateIf({ _id: doc._id, status: "pending" }, { $set: { action: err.action, updatedAt: new Date().toISOString() } });
				return { doc, result: "payer_action" };
			}
		},

		/**
		 * Applies a status a provider reported. Invalid transitions are logged and ignored (a
		 * failed payment never becomes paid; a refund before payment changes nothing); a lost race
		 * re-reads and decides again. A partial refund/chargeback books its total on the paid
		 * payment; a won dispute reinstates a reversed one.
		 */
		async applyReported(this: any, start: PaymentDoc, ev: ProviderEvent): Promise<{ doc: PaymentDoc; result: string }> {
			let doc = start;
			if (ev.learnedRefs?.length) {
				const fresh = ev.learnedRefs.filter((r) => !doc.providerRefs.includes(r));
				if (fresh.length) await this.store.updateMany({ _id: doc._id }, { $addToSet: { providerRefs: { $each: fresh } } });
			}
			for (let attempt = 0; attempt < 3; attempt++) {
				const to = targetFor(doc.status, ev);
				if (ev.reinstate) {
					if (doc.status !== "reversed") return { doc, result: "no_change" };
					const refundedAmount = doc.refundedBeforeReversal ?? 0;
					const r = await reinstate(this.store, doc._id, "reversed", { notifyPending: true, refundedAmount });
					if (r.ok) return { doc: await this.notifyCurrent(doc), result: "applied" };
				} else if ((to === "refunded" || to === "reversed") && ev.refundedTotal !== undefined && ev.refundedTotal < doc.amount) {
					// Partial: the payment stays paid; refundedAmount only ever grows (a late, smaller total changes nothing).
					if (doc.status === "pending") return { doc, result: "too_early" };
					if (doc.status !== "paid") return { doc, result: "invalid_transition" };
					if (ev.refundedTotal <= (doc.refundedAmount ?? 0)) return { doc, result: "no_change" };
					const at = new Date().toISOString();
					const grown = await this.store.updateIf(
						{ _id: doc._id, status: "paid", $or: [{ refundedAmount: { $lt: ev.refundedTotal } }, { refundedAmount: { $exists: false } }] },
						{ $set: { refundedAmount: ev.refundedTotal, refundedPartlyAt: at, updatedAt: at, notifyPending: true }, $inc: { rev: 1 } },
					);
					if (grown) return { doc: await this.notifyCurrent(doc), result: "applied" };
				} else {
					if (to === "pending" || to === doc.status) return { doc, result: "no_change" };
					if (to === "paid" && ev.amount !== undefined && (ev.amount !== doc.amount || (ev.currency && ev.currency.toUpperCase() !== doc.currency))) {
						this.logger.warn(
							`Payment ${doc._id}: ${doc.provider} reports ${ev.amount} ${ev.currency ?? ""} paid, expected ${doc.amount} ${doc.currency}; not settled`,
						);
						return { doc, result: "amount_mismatch" };
					}
					const extra: Record<string, unknown> = { notifyPending: true };
					// Refunded or reversed in full: everything is booked; a won dispute restores what was refunded before.
					if (to === "refunded" || to === "reversed")
						Object.assign(extra, { refundedAmount: doc.amount, refundedBeforeReversal: doc.refundedAmount ?? 0 });
					const r = await transition(this.store, doc._id, doc.status, to, extra);
					if (r.ok) return { doc: await this.notifyCurrent(doc), result: "applied" };
					if (r.reason === "invalid_transition") {
						if (doc.status === "pending" && (to === "refunded" || to === "reversed")) {
							// The refund overtook the settlement it undoes: not recorded, so the provider's
							// retry lands after the settlement and applies then.
							return { doc, result: "too_early" };
						}
						if (to === "paid")
							this.logger.warn(
								`Payment ${doc._id}: ${doc.provider} settled a ${doc.status} payment (${ev.type ?? ev.eventId}); it stays ${doc.status} and needs a manual refund`,
							);
						else this.logger.info(`Payment ${doc._id}: ignored ${doc.status} → ${to} (${ev.type ?? ev.eventId})`);
						return { doc, result: "invalid_transition" };
					}
				}
				const again: PaymentDoc | null = await this.store.findById(doc._id);
				if (!again) return { doc, result: "gone" };
				doc = again;
			}
			return { doc, result: "lost_race" };
		},

		/** After a change this call made: re-read the payment and send its notification. */
		async notifyCurrent(this: any, doc: PaymentDoc): Promise<PaymentDoc> {
			const updated: PaymentDoc = (await this.store.findById(doc._id)) ?? doc;
			await this.notify(updated);
			return updated;
		},

		/** Sends payments.statusChanged for the payment's current status, then clears the flag. */
		async notify(this: any, doc: PaymentDoc) {
			const msg: StatusChangedMessage = {
				paymentId: doc._id,
				donationId: doc.donationId,
				provider: doc.provider,
				status: doc.status,
				previousStatus: doc.previousStatus ?? null,
				at: doc.statusAt,
				refundedAmount: doc.refundedAmount ?? (doc.status === "refunded" || doc.status === "reversed" ? doc.amount : 0),
				reinstatements: doc.reinstatements ?? 0,
				rev: doc.rev ?? 0,
			};
			try {
				await this.broker.sendToChannel("payments.statusChanged", msg);
				// Cleared only if nothing changed since this snapshot (a newer change keeps its flag).
				const same = typeof doc.rev === "number" ? { rev: doc.rev } : { status: doc.status };
				await this.store.updateIf({ _id: doc._id, ...same, notifyPending: true }, { $set: { notifyPending: false, notifiedStatus: doc.status } });
			} catch (err) {
				this.logger.warn(`Payment ${doc._id}: statusChanged not sent yet (${(err as Error).message}); it will be re-driven`);
			}
		},

		/** Re-sends notifications that were written but never confirmed sent. */
		async redrive(this: any, minAgeMs = REDRIVE_MIN_AGE_MS): Promise<number> {
			const rows: PaymentDoc[] = await this.store.find({ query: { notifyPending: true }, sort: ["_id"], limit: 200 });
			const cutoff = new Date(Date.now() - minAgeMs).toISOString();
			let sent = 0;
			for (const doc of rows) {
				if (this.stopping) break;
				if (minAgeMs > 0 && doc.statusAt > cutoff) continue;
				await this.notify(doc);
				sent++;
			}
			if (sent) this.logger.info(`Re-drove ${sent} payment notification(s)`);
			return sent;
		},

		/**
		 * Expires pending payments past their expiry, oldest first. Sandbox payments expire on
		 * time; a real provider's payment gets a grace period for its own webhook, and is asked for
		 * its status first so a late settlement is not thrown away. A payment that cannot be
		 * decided now (in its grace period, provider unreachable) is skipped and the sweep goes
		 * on past it, page by page: however many such payments pile up, the others still expire.
		 */
		async expireStale(this: any, batch = SWEEP_BATCH): Promise<number> {
			const now = Date.now();
			const nowIso = new Date(now).toISOString();
			let expired = 0;
			let after = "";
			// Ids already looked at whose expiresAt is the cursor's: a page starting at that timestamp skips them.
			const seen = new Map<string, string>();
			for (let page = 0; page < SWEEP_MAX_PAGES && !this.stopping; page++) {
				const range: Record<string, string> = { $lt: nowIso };
				if (after) range.$gte = after;
				const rows: PaymentDoc[] = await this.store.find({
					query: { status: "pending", expiresAt: range },
					sort: ["expiresAt"],
					limit: batch + seen.size,
				});
				const fresh = rows.filter((d) => !seen.has(d._id));
				if (!fresh.length) break;
				for (const doc of fresh) {
					if (this.stopping) break;
					seen.set(doc._id, doc.expiresAt);
					try {
						if (await this.expireOne(doc, now)) expired++;
					} catch (err) {
						this.logger.warn(`Payment ${doc._id}: expiry check failed (${(err as Error).message}); skipped until the next sweep`);
					}
				}
				const full = rows.length >= batch + seen.size - fresh.length;
				after = fresh[fresh.length - 1].expiresAt;
				for (const [id, at] of seen) if (at !== after) seen.delete(id);
				if (!full) break;
			}
			return expired;
		},

		/** One overdue pending payment: true when this call expired it. */
		async expireOne(this: any, doc: PaymentDoc, now: number): Promise<boolean> {
			const provider: PaymentProvider | undefined = this.providers[doc.provider];
			if (doc.provider !== "sandbox") {
				if (Date.parse(doc.expiresAt) + this.expiryGraceMs > now) return false;
				if (provider?.fetchStatus) {
					// A provider that cannot answer now throws: the payment waits for the next sweep.
					const ev = await provider.fetchStatus(this.ref(doc));
					if (ev && ev.status !== "pending") {
						const r = await this.applyReported(doc, ev);
						if (r.doc.status !== "pending") return false;
					}
				}
			}
			const r = await this.applyReported(doc, { eventId: `expiry:${doc._id}`, status: "expired", type: "expiry" });
			return r.result === "applied";
		},

		/** Re-drives unsent notifications, then starts the expiry/re-drive timer (once). */
		async startBackground(this: any) {
			if (this.stopping || this.timer) return;
			const everyMs = Math.max(intEnv("PAYMENT_SWEEP_SEC", 5), 1) * 1000;
			this.timer = setInterval(() => this.tick(), everyMs);
			this.timer.unref?.();
			await this.redrive(0).catch((err: Error) => this.logger.warn("Payment notification re-drive failed", err.message));
			await this.redriveSandbox(true).catch((err: Error) => this.logger.warn("Sandbox webhook re-drive failed", err.message));
		},

		async tick(this: any) {
			if (this.ticking || this.stopping) return;
			this.ticking = true;
			try {
				await this.expireStale();
				await this.redrive();
				await this.redriveSandbox(false);
			} catch (err) {
				this.logger.warn("Payment sweep failed", (err as Error).message);
			} finally {
				this.ticking = false;
			}
		},

		/**
		 * Sandbox deliveries promised (202) but not delivered: those whose lease ran out (the node
		 * attempting them died, or every attempt so far failed). `all` (on start) also takes the
		 * ones a previous run of this node was attempting when it stopped.
		 */
		async redriveSandbox(this: any, all: boolean): Promise<number> {
			if (!this.providers.sandbox) return 0;
			const due: SandboxDelivery[] = await this.stores.sandbox_deliveries.find({
				query: all ? {} : { nextAt: { $lte: Date.now() } },
				sort: ["nextAt"],
				limit: 100,
			});
			for (const d of due) {
				if (this.stopping) break;
				this.track(this.deliverSandboxWebhook(d));
			}
			return due.length;
		},

		/**
		 * POSTs a stored sandbox webhook to our own endpoint, retrying with backoff, then removes
		 * it. Each attempt first leases the row (a conditional update), so two nodes re-driving it
		 * do not both send it (a second send would be a harmless duplicate anyway: same event_id).
		 */
		async deliverSandboxWebhook(this: any, start: SandboxDelivery) {
			const sandbox: SandboxProvider = this.providers.sandbox;
			const rows: Collection = this.stores.sandbox_deliveries;
			let d = start;
			while (!this.stopping) {
				const nextAt = Date.now() + SANDBOX_DELIVERY_LEASE_MS;
				if (!(await rows.updateIf({ _id: d._id, nextAt: d.nextAt, attempts: d.attempts }, { $set: { nextAt }, $inc: { attempts: 1 } }))) return; // another attempt holds it
				d = { ...d, nextAt, attempts: d.attempts + 1 };
				if (d.attempts > SANDBOX_DELIVERY_ATTEMPTS) {
					// The gateway's address is not reachable from this node (another host or container):
					// the signed webhook is verified and applied here instead, through the same path.
					this.logger.warn(`Sandbox webhook for ${d.paymentId} could not be POSTed to ${d.url}; applying it on this node`);
					const signed = sandbox.signedWebhook(d.event);
					await this.receiveWebhook("sandbox", signed.body, { [SANDBOX_SIGNATURE_HEADER]: signed.signature });
					await rows.removeMany({ _id: d._id });
					return;
				}
				if (d.attempts > 1) await new Promise((r) => setTimeout(r, 200 * 2 ** (d.attempts - 2)));
				if (this.stopping) return; // the lease runs out; the next start delivers it
				const signed = sandbox.signedWebhook(d.event);
				try {
					const res = await fetch(d.url, {
						method: "POST",
						headers: { "Content-Type": "application/json", "X-Sandbox-Signature": signed.signature },
						body: signed.body,
						signal: AbortSignal.timeout(8_000),
					});
					await res.text();
					if (res.status < 500) {
						if (res.status >= 400) this.logger.warn(`Sandbox webhook for ${d.paymentId} refused with ${res.status}`);
						await rows.removeMany({ _id: d._id });
						return;
					}
				} catch (err) {
					this.logger.info(`Sandbox webhook delivery attempt ${d.attempts} failed: ${(err as Error).message}`);
				}
			}
		},

		/** Keeps background work so stopping can wait for it. */
		track(this: any, p: Promise<unknown>) {
			this.inFlight.add(p);
			p.catch((err: Error) => this.logger.warn("Background payment work failed", err.message)).finally(() => this.inFlight.delete(p));
		},

		ref(doc: PaymentDoc): PaymentRef {
			return {
				id: doc._id,
				providerRef: doc.providerRef ?? undefined,
				providerRefs: doc.providerRefs ?? [],
				amount: doc.amount,
				currency: doc.currency,
				action: (doc.action as PaymentRef["action"]) ?? undefined,
				refundedAmount: doc.refundedAmount ?? 0,
			};
		},

		/** The page a payer lands on after a hosted checkout. */
		resultUrl(this: any, paymentId: string, status?: string): string {
			return `${this.config.publicUrl}/pay/result/${paymentId}${status ? `?status=${encodeURIComponent(status)}` : ""}`;
		},

		view(doc: PaymentDoc) {
			return {
				id: doc._id,
				donationId: doc.donationId,
				provider: doc.provider,
				status: doc.status,
				amount: doc.amount,
				currency: doc.currency,
				formattedAmount: formatMoney(doc.amount, doc.currency),
				method: doc.method ?? null,
				action: doc.action ?? null,
				createdAt: doc.createdAt,
				...(doc.paidAt ? { paidAt: doc.paidAt } : {}),
				refundedAmount: doc.refundedAmount ?? (doc.status === "refunded" || doc.status === "reversed" ? doc.amount : 0),
				expiresAt: doc.expiresAt,
				statusAt: doc.statusAt,
			};
		},
	},

	created(this: any) {
		const cfg: AppConfig = loadConfig();
		this.config = cfg;
		// No prototype: a provider named by a request ("constructor", "__proto__") must not resolve.
		this.providers = Object.assign(Object.create(null), buildProviders(cfg));
		// Where the sandbox delivers its webhooks when the gateway's own address is not the right one.
		this.sandboxWebhookUrl = process.env.SANDBOX_WEBHOOK_URL || "";
		// Real providers send their own expiry; the sweep gives their webhook this long to arrive first.
		this.expiryGraceMs = Math.max(intEnv("PAYMENT_EXPIRY_GRACE_SEC", 300), 0) * 1000;
		this.inFlight = new Set<Promise<unknown>>();
		this.stopping = false;
	},

	started(this: any) {
		// Normally the broker is still starting here and `$broker.started` follows; a service
		// (re)loaded into a running broker starts its background work at once.
		if (this.broker.started) setImmediate(() => this.startBackground());
	},

	async stopped(this: any) {
		this.stopping = true;
		if (this.timer) clearInterval(this.timer);
		await Promise.allSettled([...this.inFlight]);
	},
};

export default schema;
