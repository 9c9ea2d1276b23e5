import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin, type Collection, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { loadConfig } from "../../lib/config";
import { payoutEncryptionKey, type PayoutsConfig } from "../../lib/config/payouts";
import { CURRENCY_CODES, formatMoney } from "../../lib/domain/money";
import { conflict, invalid, isDuplicateKey, notFound, unauthorized } from "../../lib/tools/errors";
import { newId } from "../../lib/tools/ids";
import { sealKey } from "../../lib/tools/sealed";
import { PAYOUT_METHODS, type AccountInput } from "../../lib/domain/payouts/account";
import { PAYOUT_STATUSES, isOpen, type PayoutStatus } from "../../lib/domain/payouts/state";
import { payoutRefusal, type Balance } from "../../lib/domain/payouts/balance";
import {
	accountView,
	adminPayoutView,
	payoutView,
	type PayoutAccountDoc,
	type PayoutDoc,
	type PayoutView,
	type SandboxPayoutDelivery,
} from "../../lib/domain/payouts/docs";
import { buildPayoutProviders, type PayoutProvider, type PayoutState } from "../../lib/payouts";
import type { SandboxPayoutOutcome } from "../../lib/payouts/sandbox";
import { putAccount, snapshotOf } from "../../lib/payouts/accounts";
import { promiseSandboxPayout, redriveSandboxPayouts } from "../../lib/payouts/sandbox-deliveries";
import { moveTo, runEffects, applyState, receivePayoutWebhook } from "../../lib/payouts/drive";
import type { PayoutsHost } from "../../lib/payouts/host";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Payouts: money out to creators (API.md "Payouts"). A creator keeps one payout account (sealed
 * at rest, masked everywhere, usable PAYOUT_ACCOUNT_COOLDOWN_SEC after each change) and requests
 * payouts from the available balance; operators approve or reject; the configured provider
 * (lib/payouts: the sandbox built in) executes approved ones and reports back by webhook.
 *
 * State first, effects claimed and re-driven: every status change is one conditional update on
 * the current status (lib/domain/payouts/state.ts), so of two approvals, or an approval and a
 * cancel, exactly one wins; the same update raises the outbox mark `effectsDue` and counts `rev`.
 * The effects of the status (lib/payouts/drive.ts) run after it, each recorded on the payout
 * once done: the ledger debit (`<id>:payout`, booked with the request, before anything else),
 * the order to the provider (its idempotency key is the payout id), the reversal credit
 * (`<id>:payout_reversal`) and the `payouts.paid` / `payouts.failed` messages. Ledger entries
 * are unique by key and providers dedupe on the key, so a re-drive after a crash between any
 * two steps books, sends and pays nothing twice. The sweep re-drives marked payouts and asks the
 * provider about payouts stuck in `processing`. One open payout per user and currency (a unique
 * sparse `openSlot`): two requests racing cannot both spend the same balance.
 */

type Meta = GatewayMeta & { webhook?: { headers: Record<string, string | undefined> } };
type Ctx<P = Record<string, unknown>> = Context<P, Meta>;

interface InternalUser {
	id: string;
	username: string;
	email: string;
	emailVerified: boolean;
	twoFactorEnabled: boolean;
}

interface Local extends DbThis<PayoutDoc, { payout_accounts: Collection<PayoutAccountDoc>; payout_sandbox_deliveries: Collection<SandboxPayoutDelivery> }> {
	config: PayoutsConfig;
	key: Buffer;
	webhookPort: number;
	sandboxWebhookUrl: string;
	providers: Record<string, PayoutProvider | undefined>;
	inFlight: Set<Promise<unknown>>;
	stopping: boolean;
}
interface Methods extends SweeperMethods {
	drive(id: string): Promise<PayoutDoc | null>;
	move(doc: PayoutDoc, to: PayoutStatus, set?: Record<string, unknown>): Promise<PayoutDoc | null>;
	applyState(doc: PayoutDoc, state: PayoutState): Promise<PayoutDoc>;
	own(ctx: Ctx<{ id: string }>): Promise<PayoutDoc>;
	byId(id: string): Promise<PayoutDoc>;
	user(id: string): Promise<InternalUser>;
	secondFactor(ctx: Ctx<{ code?: string }>, user: InternalUser): Promise<void>;
	tick(): Promise<void>;
	track(p: Promise<unknown>): void;
	driveLater(id: string): void;
	driveNow(id: string): Promise<PayoutDoc | null>;
}
type Settings = ServiceSettingSchema & { rest: string };
type This = Service<Settings> & Local & Methods;

const ID = { type: "string", min: 1, max: 64 };
const LIST = {
	status: { type: "enum", values: PAYOUT_STATUSES, optional: true },
	limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
	cursor: { type: "string", max: 64, optional: true },
};
const wrongState = (doc: PayoutDoc, what: string) => conflict(`A ${doc.status} payout cannot be ${what}`, "INVALID_PAYOUT_STATE", { status: doc.status });

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "payouts",
	mixins: [
		DbMixin(
			"payouts",
			[
				{ fields: "userId" },
				{ fields: "status" },
				{ fields: "openSlot", unique: true, sparse: true },
				{ fields: "providerRef" },
				{ fields: "effectsDue", sparse: true },
			],
			{ payout_accounts: [], payout_sandbox_deliveries: [{ fields: "nextAt" }] },
		),
		// Re-drive marked payouts, ask providers about stuck ones, deliver promised sandbox webhooks.
		SweeperMixin<This>({ name: "tick", everyMs: (svc) => svc.config.sweepMs, run: (svc) => svc.tick(), onBrokerStarted: true }),
	],
	settings: { rest: "/" },

	actions: {
		// ---- the creator's payout account ----

		/** Sets the payout account; a change starts the cooldown and is emailed to the owner. */
		putAccount: {
			rest: "PUT /me/payout-account",
			auth: "required",
			params: {
				method: { type: "enum", values: PAYOUT_METHODS },
				currency: { type: "enum", values: CURRENCY_CODES },
				holderName: { type: "string", text: "line", min: 1, max: 100 },
				bankCode: { type: "string", pattern: /^[A-Za-z0-9_-]{2,30}$/, optional: true },
				// Digits for a bank or e-wallet, `acct_…` for Stripe (lib/domain/payouts/account.ts checks which).
				accountNumber: { type: "string", pattern: /^(acct_[A-Za-z0-9]{4,60}|[0-9+\- ]{4,40})$/, optional: true },
				email: { type: "email", max: 254, optional: true },
			},
			async handler(ctx: Ctx<AccountInput>) {
				const user = await this.user(ctx.meta.user!.id);
				return accountView(await putAccount(this, user, ctx.params));
			},
		},

		/** The payout account, masked. */
		getAccount: {
			rest: "GET /me/payout-account",
			auth: "required",
			async handler(ctx: Ctx) {
				const doc = await this.stores.payout_accounts.findById(ctx.meta.user!.id);
				if (!doc) throw notFound("Payout account", "PAYOUT_ACCOUNT_NOT_FOUND");
				return accountView(doc);
			},
		},

		// ---- the creator's payouts ----

		/** Requests a payout from the available balance; the ledger is debited at once. */
		request: {
			rest: "POST /me/payouts",
			status: 201,
			// Never retried by the broker: clients retry with the same Idempotency-Key.
			retryPolicy: { enabled: false },
			idempotency: { scope: "payouts.request" },
			auth: "required",
			params: {
				amount: { type: "number", integer: true, positive: true },
				currency: { type: "enum", values: CURRENCY_CODES },
				code: { type: "string", min: 1, max: 32, optional: true },
			},
			async handler(ctx: Ctx<{ amount: number; currency: string; code?: string }>): Promise<PayoutView> {
				const { amount, currency } = ctx.params;
				if (!this.providers[this.config.provider]) {
					throw new Errors.MoleculerError("Payouts are not available on this server right now", 503, "PAYOUTS_UNAVAILABLE");
				}
				const user = await this.user(ctx.meta.user!.id);
				const account = await this.stores.payout_accounts.findById(user.id);
				if (!account || account.currency !== currency) {
					throw invalid("currency", `Set a payout account in ${currency} first`, "PAYOUT_ACCOUNT_REQUIRED");
				}
				if (!user.emailVerified) throw invalid("email", "Verify your email address before requesting a payout", "EMAIL_NOT_VERIFIED");
				if (account.usableAt > Date.now()) {
					throw invalid("account", "The payout account changed recently; payouts to it open after the cooldown", "PAYOUT_ACCOUNT_COOLDOWN", {
						usableAt: new Date(account.usableAt).toISOString(),
					});
				}
				const balance = await this.broker.call<Balance, { userId: string; currency: string }>("ledger.balanceOf", { userId: user.id, currency });
				const minimum = this.config.minimum[currency];
				const refusal = payoutRefusal(amount, minimum, balance);
				if (refusal === "BELOW_MINIMUM") throw invalid("amount", `The smallest payout is ${formatMoney(minimum, currency)}`, refusal, { minimum });
				if (refusal)
					throw invalid("amount", `Only ${formatMoney(balance.available, currency)} is available`, refusal, { available: balance.available });
				await this.secondFactor(ctx, user);
				const now = new Date().toISOString();
				const doc: PayoutDoc = {
					_id: newId(),
					userId: user.id,
					username: user.username,
					status: "requested",
					amount,
					currency,
					fee: 0,
					net: amount,
					provider: this.config.provider,
					providerRef: null,
					account: snapshotOf(account),
					openSlot: `${user.id}:${currency}`,
					reason: null,
					failureReason: null,
					approvedBy: null,
					rejectedBy: null,
					createdAt: now,
					statusAt: now,
					rev: 0,
					effects: {},
					effectsDue: true,
				};
				try {
					await this.store.insert(doc);
				} catch (err) {
					if (isDuplicateKey(err)) throw conflict(`A payout in ${currency} is already on its way; wait for it or cancel it`, "PAYOUT_IN_PROGRESS");
					throw err;
				}
				this.logger.info(`Payout ${doc._id} requested: ${formatMoney(amount, currency)} to ${doc.account.masked}`);
				// The debit is booked before the answer; if the ledger cannot take it now, the payout stands
				// (it holds its slot) and the sweep books it.
				let current = (await this.driveNow(doc._id)) ?? doc;
				const autoMax = this.config.autoApproveMax[currency] ?? 0;
				if (autoMax > 0 && amount <= autoMax) {
					const approved = await this.move(current, "approved", { approvedBy: "auto" });
					if (approved) {
						current = approved;
						this.driveLater(doc._id);
					}
				}
				return payoutView(current);
			},
		},

		/** The caller's payouts, newest first. */
		list: {
			rest: "GET /me/payouts",
			auth: "required",
			params: LIST,
			async handler(ctx: Ctx<{ status?: PayoutStatus; limit?: number; cursor?: string }>) {
				const q: Record<string, unknown> = { userId: ctx.meta.user!.id };
				if (ctx.params.status) q.status = ctx.params.status;
				const page = await this.store.page(q, ctx.params);
				return { items: page.items.map(payoutView), nextCursor: page.nextCursor };
			},
		},

		/** One of the caller's payouts (another user's is a 404). */
		get: {
			rest: "GET /me/payouts/:id",
			auth: "required",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				return payoutView(await this.own(ctx));
			},
		},

		/** Cancels a payout that is still `requested`; the amount goes back to the balance. */
		cancel: {
			rest: "POST /me/payouts/:id/cancel",
			auth: "required",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.own(ctx);
				const moved = await this.move(doc, "cancelled");
				if (!moved) throw wrongState((await this.store.findById(doc._id)) ?? doc, "cancelled");
				return payoutView((await this.driveNow(doc._id)) ?? moved);
			},
		},

		// ---- operators ----

		/** Payouts of every user, newest first (the approval queue: `status=requested`). */
		adminList: {
			rest: "GET /admin/payouts",
			auth: "required",
			roles: ["admin"],
			params: LIST,
			async handler(ctx: Ctx<{ status?: PayoutStatus; limit?: number; cursor?: string }>) {
				const page = await this.store.page(ctx.params.status ? { status: ctx.params.status } : {}, ctx.params);
				return { items: page.items.map(adminPayoutView), nextCursor: page.nextCursor };
			},
		},

		/** Approves a requested payout; the provider executes it after the answer (202). */
		approve: {
			rest: "POST /admin/payouts/:id/approve",
			status: 202,
			retryPolicy: { enabled: false },
			auth: "required",
			roles: ["admin"],
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.byId(ctx.params.id);
				const moved = await this.move(doc, "approved", { approvedBy: ctx.meta.user?.username ?? "operator" });
				if (!moved) throw wrongState((await this.store.findById(doc._id)) ?? doc, "approved");
				this.logger.info(`Payout ${doc._id} approved by ${moved.approvedBy}`);
				this.driveLater(doc._id);
				return adminPayoutView(moved);
			},
		},

		/** Rejects a requested payout with a reason; the amount goes back to the balance. */
		reject: {
			rest: "POST /admin/payouts/:id/reject",
			auth: "required",
			roles: ["admin"],
			params: { id: ID, reason: { type: "string", text: "line", min: 1, max: 500 } },
			async handler(ctx: Ctx<{ id: string; reason: string }>) {
				const doc = await this.byId(ctx.params.id);
				const moved = await this.move(doc, "rejected", { reason: ctx.params.reason, rejectedBy: ctx.meta.user?.username ?? "operator" });
				if (!moved) throw wrongState((await this.store.findById(doc._id)) ?? doc, "rejected");
				return adminPayoutView((await this.driveNow(doc._id)) ?? moved);
			},
		},

		// ---- providers ----

		/** Provider webhooks (routed by the gateway with the raw body): verify, then apply. */
		webhook: {
			params: { body: { type: "string" }, params: { type: "object", props: { provider: { type: "string", max: 20 } } } },
			async handler(ctx: Ctx<{ body: string; params: { provider: string } }>) {
				return receivePayoutWebhook(this, ctx.params.params.provider, ctx.params.body, ctx.meta.webhook?.headers ?? {});
			},
		},

		/** The sandbox acting as the provider: signs the outcome's webhook and delivers it (202). */
		sandboxComplete: {
			rest: "POST /payouts/sandbox/:id/complete",
			status: 202,
			params: { id: ID, outcome: { type: "enum", values: ["paid", "failed"] } },
			async handler(ctx: Ctx<{ id: string; outcome: SandboxPayoutOutcome }>) {
				if (!this.providers.sandbox) throw notFound("Sandbox", "SANDBOX_DISABLED");
				const doc = await this.byId(ctx.params.id);
				if (doc.provider !== "sandbox") throw invalid("id", "Only sandbox payouts can be completed here", "NOT_A_SANDBOX_PAYOUT");
				if (doc.status !== "processing" && doc.status !== "approved") throw wrongState(doc, `completed as ${ctx.params.outcome}`);
				const base = this.sandboxWebhookUrl || `${ctx.meta.selfUrl || `http://127.0.0.1:${this.webhookPort}`}/api/payouts/webhooks/sandbox`;
				const delivery = await promiseSandboxPayout(this, doc, ctx.params.outcome, base);
				return { accepted: true, payoutId: doc._id, outcome: ctx.params.outcome, eventId: delivery._id };
			},
		},

		// ---- internal ----

		/** Open payouts per currency of a user (the balance's `pendingPayouts`). */
		pendingTotals: {
			visibility: "public",
			params: { userId: ID },
			async handler(ctx: Ctx<{ userId: string }>) {
				const open = await this.store.find({ query: { userId: ctx.params.userId, status: { $in: PAYOUT_STATUSES.filter(isOpen) } } });
				const totals: Record<string, number> = {};
				for (const p of open) totals[p.currency] = (totals[p.currency] ?? 0) + p.amount;
				return totals;
			},
		},

		/** A user's payouts paid since `since` (ISO), oldest first: the earnings chart marks them. */
		paidSince: {
			visibility: "public",
			params: { userId: ID, since: { type: "string", max: 40 } },
			async handler(ctx: Ctx<{ userId: string; since: string }>) {
				const paid = await this.store.find({
					query: { userId: ctx.params.userId, status: "paid", statusAt: { $gte: ctx.params.since } },
					sort: ["statusAt"],
				});
				return paid.map((p) => ({ id: p._id, amount: p.amount, currency: p.currency, paidAt: p.statusAt }));
			},
		},

		/** Asks the provider about a payout and applies what it says (reconciliation; the sweep does it for stuck ones). */
		recheck: {
			visibility: "public",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.byId(ctx.params.id);
				const provider = this.providers[doc.provider];
				if (!provider || doc.status !== "processing") return adminPayoutView(doc);
				const state = await provider.fetchStatus(doc._id, doc.providerRef ?? undefined);
				return adminPayoutView(state ? await this.applyState(doc, state) : doc);
			},
		},
	},

	methods: {
		drive(id: string) {
			return runEffects(this as unknown as PayoutsHost, id);
		},
		move(doc: PayoutDoc, to: PayoutStatus, set: Record<string, unknown> = {}) {
			return moveTo(this as unknown as PayoutsHost, doc, to, set);
		},
		applyState(doc: PayoutDoc, state: PayoutState) {
			return applyState(this as unknown as PayoutsHost, doc, state);
		},
		async own(ctx: Ctx<{ id: string }>) {
			const doc = await this.store.findOne({ _id: ctx.params.id, userId: ctx.meta.user!.id });
			if (!doc) throw notFound("Payout", "PAYOUT_NOT_FOUND");
			return doc;
		},
		async byId(id: string) {
			const doc = await this.store.findById(id);
			if (!doc) throw notFound("Payout", "PAYOUT_NOT_FOUND");
			return doc;
		},
		async user(id: string) {
			const user = await this.broker.call<InternalUser | null, { id: string }>("users.get", { id });
			if (!user) throw unauthorized();
			return user;
		},
		/** With two-factor on, the request needs a current code (users.verifySecondFactor counts wrong ones). */
		async secondFactor(ctx: Ctx<{ code?: string }>, user: InternalUser) {
			if (!user.twoFactorEnabled) return;
			if (!ctx.params.code) throw new Errors.MoleculerClientError("A two-factor code is required for payouts", 401, "TWO_FACTOR_REQUIRED");
			const check = await this.broker.call<{ enabled: boolean; ok: boolean }, { userId: string; code: string }>("users.verifySecondFactor", {
				userId: user.id,
				code: ctx.params.code,
			});
			if (check.enabled && !check.ok) throw new Errors.MoleculerClientError("The two-factor code is not right", 401, "INVALID_CODE");
		},
		async tick() {
			if (this.stopping) return;
			const host = this as unknown as PayoutsHost;
			const before = new Date(Date.now() - this.config.redriveMs).toISOString();
			for (const p of await this.store.find({ query: { effectsDue: true, statusAt: { $lte: before } }, sort: ["statusAt"], limit: 100 })) {
				if (this.stopping) return;
				// One payout that cannot be finished now (its provider is down) does not hold up the others.
				await this.drive(p._id).catch((err: Error) =>
					this.logger.warn(`Payout ${p._id}: effects not finished, retried at the next sweep`, err.message),
				);
			}
			const stuck = new Date(Date.now() - this.config.stuckMs).toISOString();
			for (const p of await this.store.find({ query: { status: "processing", statusAt: { $lt: stuck } }, sort: ["statusAt"], limit: 100 })) {
				if (this.stopping) return;
				const provider = this.providers[p.provider];
				try {
					const state = provider ? await provider.fetchStatus(p._id, p.providerRef ?? undefined) : null;
					if (state) await this.applyState(p, state);
				} catch (err) {
					this.logger.warn(`Payout ${p._id}: its provider could not be asked, retried at the next sweep`, (err as Error).message);
				}
			}
			await redriveSandboxPayouts(host);
		},
		track(p: Promise<unknown>) {
			this.inFlight.add(p);
			p.catch((err: Error) => this.logger.warn("Background payout work failed; the sweep re-drives it", err.message)).finally(() =>
				this.inFlight.delete(p),
			);
		},
		/** Runs the payout's effects before the answer; the move already stands, so a failure is left to the sweep. */
		async driveNow(id: string) {
			try {
				return await this.drive(id);
			} catch (err) {
				this.logger.warn(`Payout ${id}: effects not finished now, the sweep re-drives them`, (err as Error).message);
				return this.store.findById(id);
			}
		},
		/** Runs the payout's effects after the answer (approve → the provider call). */
		driveLater(id: string) {
			setImmediate(() => this.track(this.drive(id)));
		},
	},

	created() {
		const cfg = loadConfig();
		this.config = cfg.payouts;
		this.key = sealKey(payoutEncryptionKey());
		this.webhookPort = cfg.payments.port;
		this.sandboxWebhookUrl = cfg.payments.sandboxWebhookUrl.replace(/\/api\/payments\/webhooks\/sandbox$/, "/api/payouts/webhooks/sandbox");
		this.providers = buildPayoutProviders(cfg);
		this.inFlight = new Set();
		this.stopping = false;
		if (!this.providers[this.config.provider]) {
			// The node still serves balances, accounts and the payouts already made; new requests answer 503.
			this.logger.error(
				`PAYOUT_PROVIDER "${this.config.provider}" is not configured (configured: ${Object.keys(this.providers).join(", ") || "none"}): payout requests are refused.`,
			);
		}
	},

	async stopped() {
		this.stopping = true;
		await Promise.allSettled([...this.inFlight]);
	},
};

export default schema;
