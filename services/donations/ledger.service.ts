import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type DbThis } from "../../mixins/db.mixin";
import { loadConfig } from "../../lib/config";
import { newId } from "../../lib/tools/ids";
import { feeFor } from "../../lib/domain/money";
import { debitKey, feeAt, refundTarget, refundedOf, type LedgerDonation } from "../../lib/domain/donations/ledger";
import { ledgerEntryView } from "../../lib/domain/donations/views";
import { ledgerCsv } from "../../lib/domain/donations/ledger-csv";
import { balancesOf, balanceIn } from "../../lib/domain/payouts/balance";
import type { LedgerEntry, LedgerKind } from "../../lib/domain/donations/types";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * The balance ledger: an append-only list of entries per streamer (`ledger`), each under a unique
 * key, so an entry is booked once however often it is asked for (a redelivered message, a
 * re-drive, two nodes racing: the loser's insert hits the key). The balance is the sum of the
 * entries, never an aggregate: an aggregate update cut short by a crash must not move money.
 *
 *  - credit: `<id>:credit`, a paid donation less the platform fee (PLATFORM_FEE_BPS).
 *  - debit: a refund or chargeback books only the increment over what the ledger holds for the
 *    donation, under a key naming the level it starts from (`<id>:debit` for the first, as a full
 *    refund always had; `<id>:debit:<generation>:<booked>` after); the fee comes back in
 *    proportion (in full, exactly).
 *  - reinstatement: a won dispute gives back what the reversal took beyond what stays refunded,
 *    once per generation (`<id>:reinstatement:<n>`).
 * The donations service asks for these while applying a donation's effects and records on the
 * donation that they are done (services/donations/donations.service.ts).
 *  - payout: `<payout id>:payout`, the requested amount, negative, booked with the request;
 *    payout_reversal: `<payout id>:payout_reversal`, the same amount back when the payout is
 *    cancelled, rejected or fails (services/payouts/payouts.service.ts asks for both).
 * The balance shows what is held (credits younger than PAYOUT_HOLD_SEC), what is available and
 * what is on its way out (lib/domain/payouts/balance.ts).
 */

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta & { $responseType?: string }>;

interface Local extends DbThis<LedgerEntry> {
	feeBps: number;
	holdMs: number;
}
interface Methods {
	book(d: LedgerDonation, key: string, kind: LedgerKind, amount: number, gross: number, fee: number): Promise<boolean>;
	refundedInLedger(d: LedgerDonation): Promise<number>;
	feeOf(d: LedgerDonation, gross: number): number;
	pendingPayouts(userId: string): Promise<Record<string, number>>;
}
type Settings = ServiceSettingSchema & { rest: string };
export type LedgerThis = Service<Settings> & Local & Methods;

const LIST_PARAMS = {
	limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
	cursor: { type: "string", max: 64, optional: true },
};
const DONATION = {
	type: "object",
	props: { _id: { type: "string", max: 64 }, recipientId: { type: "string" }, amount: { type: "number" }, currency: { type: "string" } },
};
const GENERATION = { type: "number", integer: true, min: 0 };

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "ledger",
	mixins: [
		// donationId: a refund reads what the ledger already holds for its donation.
		DbMixin("ledger", [{ fields: "key", unique: true }, { fields: "userId" }, { fields: "donationId" }]),
	],
	settings: { rest: "/" },

	actions: {
		/** The caller's balance per currency, from the ledger: amount, held, available and pending payouts. */
		balance: {
			rest: "GET /me/balance",
			auth: "required",
			async handler(ctx: Ctx) {
				const userId = ctx.meta.user!.id;
				const [entries, pending] = await Promise.all([this.store.find({ query: { userId } }), this.pendingPayouts(userId)]);
				return { balances: balancesOf(entries, { now: Date.now(), holdMs: this.holdMs, pending }) };
			},
		},

		/** The caller's ledger entries, newest first (what the balance is made of). */
		entries: {
			rest: "GET /me/ledger",
			auth: "required",
			params: LIST_PARAMS,
			async handler(ctx: Ctx<{ limit?: number; cursor?: string }>) {
				const page = await this.store.page({ userId: ctx.meta.user!.id }, ctx.params);
				return { items: page.items.map(ledgerEntryView), nextCursor: page.nextCursor };
			},
		},

		/** The caller's whole ledger as CSV, oldest first, with the running balance (bookkeeping). */
		csv: {
			rest: "GET /me/ledger.csv",
			auth: "required",
			async handler(ctx: Ctx) {
				const entries = await this.store.find({ query: { userId: ctx.meta.user!.id }, sort: ["_id"], limit: 100_000 });
				ctx.meta.$responseType = "text/csv; charset=utf-8";
				ctx.meta.$responseHeaders = { "Content-Disposition": 'attachment; filename="mediashar-ledger.csv"' };
				return ledgerCsv(entries);
			},
		},

		// ---- internal (the payouts service) ----

		/** A user's balance in one currency (what a payout request is checked against). */
		balanceOf: {
			visibility: "public",
			params: { userId: { type: "string", min: 1, max: 64 }, currency: { type: "string", min: 3, max: 3 } },
			async handler(ctx: Ctx<{ userId: string; currency: string }>) {
				const entries = await this.store.find({ query: { userId: ctx.params.userId, currency: ctx.params.currency } });
				return balanceIn(entries, ctx.params.currency, { now: Date.now(), holdMs: this.holdMs });
			},
		},

		/** Books a payout's debit or its reversal credit, once per payout; true when this call booked it. */
		bookPayout: {
			visibility: "public",
			params: {
				payoutId: { type: "string", min: 1, max: 64 },
				userId: { type: "string", min: 1, max: 64 },
				currency: { type: "string", min: 3, max: 3 },
				amount: { type: "number", integer: true, positive: true },
				kind: { type: "enum", values: ["payout", "payout_reversal"] },
			},
			async handler(ctx: Ctx<{ payoutId: string; userId: string; currency: string; amount: number; kind: "payout" | "payout_reversal" }>) {
				const p = ctx.params;
				const amount = p.kind === "payout" ? -p.amount : p.amount;
				const entry: LedgerEntry = {
					_id: newId(),
					key: `${p.payoutId}:${p.kind}`,
					userId: p.userId,
					payoutId: p.payoutId,
					kind: p.kind,
					amount,
					gross: amount,
					fee: 0,
					currency: p.currency,
					createdAt: new Date().toISOString(),
				};
				return (await this.store.insertOrGet(entry, { key: entry.key })).created;
			},
		},

		// ---- internal (the donations service) ----

		/** Books a paid donation's credit, once; true when this call booked it. */
		credit: {
			visibility: "public",
			params: { donation: DONATION },
			async handler(ctx: Ctx<{ donation: LedgerDonation }>) {
				const d = ctx.params.donation;
				const fee = feeFor(d.amount, this.feeBps);
				return this.book(d, `${d._id}:credit`, "credit", d.amount - fee, d.amount, fee);
			},
		},

		/**
		 * Brings the refunded part of a donation up to `total` (the payment's refunded / charged-back
		 * total): debits only the increment, never credits (a late message with a smaller total
		 * changes nothing). Answers what is booked as refunded and how many debits this call booked.
		 */
		debitTo: {
			visibility: "public",
			params: { donation: DONATION, total: { type: "number" }, generation: GENERATION },
			async handler(ctx: Ctx<{ donation: LedgerDonation; total: number; generation: number }>) {
				const { donation: d, generation } = ctx.params;
				const target = refundTarget(ctx.params.total, d.amount);
				let booked = 0;
				for (let attempt = 0; attempt < 10; attempt++) {
					const refunded = await this.refundedInLedger(d);
					if (refunded >= target) return { refunded, booked };
					const gross = target - refunded;
					const fee = this.feeOf(d, target) - this.feeOf(d, refunded);
					if (await this.book(d, debitKey(d._id, generation, refunded), "debit", -(gross - fee), -gross, -fee)) booked++;
				}
				throw new Error(`Donation ${d._id}: refunded part not booked after 10 attempts`);
			},
		},

		/**
		 * A reinstatement's credit: what the ledger holds as refunded beyond what stays refunded,
		 * under one key per generation. Answers whether this call booked it and the refunded part after.
		 */
		reinstate: {
			visibility: "public",
			params: { donation: DONATION, generation: GENERATION, stillRefunded: { type: "number" } },
			async handler(ctx: Ctx<{ donation: LedgerDonation; generation: number; stillRefunded: number }>) {
				const { donation: d, generation } = ctx.params;
				const refunded = await this.refundedInLedger(d);
				const back = refunded - refundTarget(ctx.params.stillRefunded, d.amount);
				if (back <= 0) return { booked: false, refunded };
				const fee = this.feeOf(d, refunded) - this.feeOf(d, refunded - back);
				if (!(await this.book(d, `${d._id}:reinstatement:${generation}`, "reinstatement", back - fee, back, fee))) return { booked: false, refunded };
				return { booked: true, refunded: await this.refundedInLedger(d) };
			},
		},
	},

	methods: {
		/** Appends one entry under its unique key; false when that key is already booked. */
		async book(d: LedgerDonation, key: string, kind: LedgerKind, amount: number, gross: number, fee: number): Promise<boolean> {
			const entry: LedgerEntry = {
				_id: newId(),
				key,
				userId: d.recipientId,
				donationId: d._id,
				kind,
				amount,
				gross,
				fee,
				currency: d.currency,
				createdAt: new Date().toISOString(),
			};
			return (await this.store.insertOrGet(entry, { key })).created;
		},

		/** What the ledger holds as refunded for a donation: its debits less reinstatement credits (gross). */
		async refundedInLedger(d: LedgerDonation): Promise<number> {
			return refundedOf(await this.store.find({ query: { userId: d.recipientId, donationId: d._id } }));
		},

		feeOf(d: LedgerDonation, gross: number): number {
			return feeAt(d.amount, this.feeBps, gross);
		},

		/** Open payouts per currency; none when no payouts service runs (the balance still answers). */
		async pendingPayouts(userId: string): Promise<Record<string, number>> {
			try {
				// A system call: the caller's token (a personal one, say) is for the balance, not for the payouts service.
				return await this.broker.call<Record<string, number>, { userId: string }>("payouts.pendingTotals", { userId });
			} catch (err) {
				if ((err as { name?: string }).name !== "ServiceNotFoundError")
					this.logger.warn("Pending payouts unknown for a balance", (err as Error).message);
				return {};
			}
		},
	},

	created() {
		const cfg = loadConfig();
		this.feeBps = cfg.platformFeeBps;
		this.holdMs = cfg.payouts.holdMs;
	},
};

export default schema;
