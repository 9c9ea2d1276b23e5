import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin, type Collection } from "../mixins/db.mixin";
import { intEnv, loadConfig, type AppConfig } from "../lib/config";
import { newId, randomId } from "../lib/ids";
import { amountProblem, CURRENCY_CODES, formatMoney } from "../lib/money";
import { countWebhook } from "../lib/metrics";
import { badRequest, conflict, forbidden, invalid, isDuplicateKey, notFound } from "../lib/errors";
import {
	buildProviders,
	PaymentInputError,
	ProviderError,
	PROVIDER_NAMES,
	WebhookPayloadError,
	WebhookSignatureError,
	type PaymentProvider,
	type PaymentRef,
	type PaymentStatus,
	type ProviderEvent,
	type ProviderName,
} from "../lib/payments";
import { SANDBOX_SIGNATURE_HEADER, type SandboxOutcome, type SandboxProvider } from "../lib/payments/sandbox";
import { isFinal, targetFor, transition } from "../lib/payments/state";
import type { GatewayMeta } from "../types/moleculer";

/**
 * Payments: one payment per donation at a provider (sandbox, Stripe, Midtrans, PayPal), webhook
 * verification and dedupe, the payment state machine (lib/payments/state.ts), expiry, and the
 * `payments.statusChanged` channel that tells donations what happened. Every status change is a
 * conditional update that also raises `notifyPending`; the message is sent after the write and
 * the flag cleared after the send, so a crash in between is re-driven on start and by the timer.
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
}

/** Unfinished notifications younger than this are left to the send already in flight. */
const REDRIVE_MIN_AGE_MS = 2_000;
const SANDBOX_DELIVERY_ATTEMPTS = 5;

const schema: ServiceSchema = {
	name: "payments",
	mixins: [
		DbMixin(
			"payments",
			[
				{ fields: "donationId", unique: true },
				{ fields: ["status", "expiresAt"] },
				{ fields: "providerRefs" },
				{ fields: "notifyPending" },
			],
			{ payment_events: [{ fields: "key", unique: true }] },
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
				// Delivered after this reply, the way a provider calls back on its own schedule.
				setImmediate(() => this.track(this.deliverSandboxWebhook(url, event)));
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
				if (doc.status === "pending") {
					const ev = await this.providerCall(() => paypal.capture!(this.ref(doc), ctx.params.token));
					if (ev) current = (await this.applyReported(doc, ev)).doc;
				}
				ctx.meta.$statusCode = 302;
				ctx.meta.$location = this.resultUrl(current._id, current.status);
				return { id: current._id, status: current.status };
			},
		},

		/** Expires pending payments past their expiry (also run by the timer); for operators. */
		expireStale: {
			visibility: "public",
			async handler(this: any) {
				return { expired: await this.expireStale() };
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
			const expiresAt = new Date(now.getTime() + this.config.paymentTtlSec * 1000);
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
				if (err instanceof ProviderError) {
					this.logger.warn("Payment provider call failed", err.provider, err.message);
					throw new Errors.MoleculerError(`${err.provider} is not answering as expected, try again shortly`, 503, "PROVIDER_ERROR", { provider: err.provider });
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
					ev = provider.parseEvent(raw);
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
			const outcome = await this.applyReported(doc, ev);
			if (outcome.result === "too_early") {
				throw conflict("This payment has not settled yet; deliver this event again later", "PAYMENT_NOT_SETTLED", { paymentId: doc._id, status: doc.status });
			}
			try {
				// Recorded after the transition: a crash in between means the provider's retry is
				// applied again, which the conditional update turns into a no-op.
				await events.insert({ _id: newId(), key, provider: providerName, eventId: ev.eventId, type: ev.type ?? null, paymentId: doc._id, reported: ev.status, result: outcome.result, receivedAt: new Date().toISOString() });
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

		/**
		 * Applies a status a provider reported. Invalid transitions are logged and ignored (a
		 * failed payment never becomes paid; a refund before payment changes nothing); a lost race
		 * re-reads and decides again.
		 */
		async applyReported(this: any, start: PaymentDoc, ev: ProviderEvent): Promise<{ doc: PaymentDoc; result: string }> {
			let doc = start;
			if (ev.learnedRefs?.length) {
				const fresh = ev.learnedRefs.filter((r) => !doc.providerRefs.includes(r));
				if (fresh.length) await this.store.updateMany({ _id: doc._id }, { $addToSet: { providerRefs: { $each: fresh } } });
			}
			for (let attempt = 0; attempt < 3; attempt++) {
				const to = targetFor(doc.status, ev);
				if (to === "pending" || to === doc.status) return { doc, result: "no_change" };
				if (to === "paid" && ev.amount !== undefined && (ev.amount !== doc.amount || (ev.currency && ev.currency.toUpperCase() !== doc.currency))) {
					this.logger.warn(`Payment ${doc._id}: ${doc.provider} reports ${ev.amount} ${ev.currency ?? ""} paid, expected ${doc.amount} ${doc.currency}; not settled`);
					return { doc, result: "amount_mismatch" };
				}
				const r = await transition(this.store, doc._id, doc.status, to, { notifyPending: true });
				if (r.ok) {
					const updated: PaymentDoc = (await this.store.findById(doc._id)) ?? { ...doc, status: to, previousStatus: r.from, statusAt: r.at, notifyPending: true };
					await this.notify(updated);
					return { doc: updated, result: "applied" };
				}
				if (r.reason === "invalid_transition") {
					if (doc.status === "pending" && (to === "refunded" || to === "reversed")) {
						// The refund overtook the settlement it undoes: not recorded, so the provider's
						// retry lands after the settlement and applies then.
						return { doc, result: "too_early" };
					}
					if (to === "paid") this.logger.warn(`Payment ${doc._id}: ${doc.provider} settled a ${doc.status} payment (${ev.type ?? ev.eventId}); it stays ${doc.status} and needs a manual refund`);
					else this.logger.info(`Payment ${doc._id}: ignored ${doc.status} → ${to} (${ev.type ?? ev.eventId})`);
					return { doc, result: "invalid_transition" };
				}
				const again: PaymentDoc | null = await this.store.findById(doc._id);
				if (!again) return { doc, result: "gone" };
				doc = again;
			}
			return { doc, result: "lost_race" };
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
			};
			try {
				await this.broker.sendToChannel("payments.statusChanged", msg);
				await this.store.updateIf({ _id: doc._id, status: doc.status, notifyPending: true }, { $set: { notifyPending: false, notifiedStatus: doc.status } });
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
		 * Expires pending payments past their expiry. Sandbox payments expire on time; a real
		 * provider's payment gets a grace period for its own webhook, and is asked for its status
		 * first so a late settlement is not thrown away.
		 */
		async expireStale(this: any): Promise<number> {
			const now = Date.now();
			const rows: PaymentDoc[] = await this.store.find({ query: { status: "pending", expiresAt: { $lt: new Date(now).toISOString() } }, sort: ["expiresAt"], limit: 200 });
			let expired = 0;
			for (const doc of rows) {
				if (this.stopping) break;
				const provider: PaymentProvider | undefined = this.providers[doc.provider];
				if (doc.provider !== "sandbox") {
					if (Date.parse(doc.expiresAt) + this.expiryGraceMs > now) continue;
					if (provider?.fetchStatus) {
						try {
							const ev = await provider.fetchStatus(this.ref(doc));
							if (ev && ev.status !== "pending") {
								const r = await this.applyReported(doc, ev);
								if (r.doc.status !== "pending") continue;
							}
						} catch (err) {
							this.logger.warn(`Payment ${doc._id}: status check before expiry failed (${(err as Error).message})`);
							continue;
						}
					}
				}
				const r = await this.applyReported(doc, { eventId: `expiry:${doc._id}`, status: "expired", type: "expiry" });
				if (r.result === "applied") expired++;
			}
			return expired;
		},

		/** Re-drives unsent notifications, then starts the expiry/re-drive timer (once). */
		async startBackground(this: any) {
			if (this.stopping || this.timer) return;
			const everyMs = Math.max(intEnv("PAYMENT_SWEEP_SEC", 5), 1) * 1000;
			this.timer = setInterval(() => this.tick(), everyMs);
			this.timer.unref?.();
			await this.redrive(0).catch((err: Error) => this.logger.warn("Payment notification re-drive failed", err.message));
		},

		async tick(this: any) {
			if (this.ticking || this.stopping) return;
			this.ticking = true;
			try {
				await this.expireStale();
				await this.redrive();
			} catch (err) {
				this.logger.warn("Payment sweep failed", (err as Error).message);
			} finally {
				this.ticking = false;
			}
		},

		/** POSTs a signed sandbox webhook to our own endpoint, retrying with backoff. */
		async deliverSandboxWebhook(this: any, url: string, event: { event_id: string; payment_id: string; status: SandboxOutcome }) {
			const sandbox: SandboxProvider = this.providers.sandbox;
			for (let attempt = 0; attempt < SANDBOX_DELIVERY_ATTEMPTS && !this.stopping; attempt++) {
				if (attempt > 0) await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
				const signed = sandbox.signedWebhook(event);
				try {
					const res = await fetch(url, {
						method: "POST",
						headers: { "Content-Type": "application/json", "X-Sandbox-Signature": signed.signature },
						body: signed.body,
						signal: AbortSignal.timeout(8_000),
					});
					await res.text();
					if (res.status < 500) {
						if (res.status >= 400) this.logger.warn(`Sandbox webhook for ${event.payment_id} refused with ${res.status}`);
						return;
					}
				} catch (err) {
					this.logger.info(`Sandbox webhook delivery attempt ${attempt + 1} failed: ${(err as Error).message}`);
				}
			}
			if (this.stopping) return;
			// The gateway's address is not reachable from this node (another host or container):
			// the signed webhook is verified and applied here instead, through the same path.
			this.logger.warn(`Sandbox webhook for ${event.payment_id} could not be POSTed to ${url}; applying it on this node`);
			const signed = sandbox.signedWebhook(event);
			await this.receiveWebhook("sandbox", signed.body, { [SANDBOX_SIGNATURE_HEADER]: signed.signature });
		},

		/** Keeps background work so stopping can wait for it. */
		track(this: any, p: Promise<unknown>) {
			this.inFlight.add(p);
			p.catch((err: Error) => this.logger.warn("Background payment work failed", err.message)).finally(() => this.inFlight.delete(p));
		},

		ref(doc: PaymentDoc): PaymentRef {
			return { id: doc._id, providerRef: doc.providerRef ?? undefined, providerRefs: doc.providerRefs ?? [], amount: doc.amount, currency: doc.currency };
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
