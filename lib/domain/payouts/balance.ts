import { formatMoney } from "../money";

/**
 * The available-balance rule (API.md "Payouts"): per currency, `amount` is the ledger's sum;
 * `held` the credits younger than the hold (the chargeback window), never more than the amount;
 * `available` = amount − held, never negative. A chargeback after a payout can take the amount
 * below zero: that is a debt, nothing is available until later credits cover it.
 */

export interface BalanceEntry {
	kind: string;
	amount: number;
	currency: string;
	createdAt: string;
}

export interface Balance {
	currency: string;
	amount: number;
	available: number;
	held: number;
	pendingPayouts: number;
	formattedAmount: string;
	formattedAvailable: string;
}

/** Credits that a chargeback may still take back while young. */
const HELD_KINDS = new Set(["credit", "reinstatement"]);

export function balancesOf(entries: BalanceEntry[], opts: { now: number; holdMs: number; pending?: Record<string, number> }): Balance[] {
	const sums = new Map<string, { amount: number; young: number }>();
	const since = opts.now - opts.holdMs;
	for (const e of entries) {
		const s = sums.get(e.currency) ?? { amount: 0, young: 0 };
		s.amount += e.amount;
		if (HELD_KINDS.has(e.kind) && e.amount > 0 && Date.parse(e.createdAt) > since) s.young += e.amount;
		sums.set(e.currency, s);
	}
	for (const currency of Object.keys(opts.pending ?? {})) if (!sums.has(currency)) sums.set(currency, { amount: 0, young: 0 });
	return [...sums]
		.map(([currency, s]) => {
			const held = Math.min(s.young, Math.max(s.amount, 0));
			const available = Math.max(0, s.amount - held);
			return {
				currency,
				amount: s.amount,
				available,
				held,
				pendingPayouts: opts.pending?.[currency] ?? 0,
				formattedAmount: formatMoney(s.amount, currency),
				formattedAvailable: formatMoney(available, currency),
			};
		})
		.sort((a, b) => a.currency.localeCompare(b.currency));
}

/** The balance of one currency (all zero when the ledger has none). */
export function balanceIn(entries: BalanceEntry[], currency: string, opts: { now: number; holdMs: number }): Balance {
	const mine = entries.filter((e) => e.currency === currency);
	return balancesOf(mine, { ...opts, pending: { [currency]: 0 } })[0];
}

/** Why a payout of `amount` cannot be requested from `balance`, or null. */
export function payoutRefusal(amount: number, minimum: number, balance: Pick<Balance, "available">): "BELOW_MINIMUM" | "INSUFFICIENT_FUNDS" | null {
	if (amount < minimum) return "BELOW_MINIMUM";
	if (amount > balance.available) return "INSUFFICIENT_FUNDS";
	return null;
}
