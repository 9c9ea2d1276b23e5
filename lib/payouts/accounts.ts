import { accountProblem, splitSecret, type AccountInput, type AccountSecret } from "../domain/payouts/account";
import type { AccountSnapshot, PayoutAccountDoc, PayoutDoc } from "../domain/payouts/docs";
import { invalid } from "../tools/errors";
import { seal, unseal } from "../tools/sealed";
import type { PayoutsHost } from "./host";

/**
 * Payout accounts at rest: the number or email sealed (AES-256-GCM, PAYOUT_ENCRYPTION_KEY) and
 * bound to the owner's id, so a sealed value copied onto another user's row does not open. Only
 * the masked form (`****6789`) is ever returned or logged. Each change starts the cooldown and
 * is emailed to the owner, so a stolen session cannot quietly redirect the money.
 */

const context = (userId: string) => `payout-account:${userId}`;

interface Owner {
	id: string;
	username: string;
	email: string;
}

export async function putAccount(host: PayoutsHost, user: Owner, input: AccountInput): Promise<PayoutAccountDoc> {
	const problem = accountProblem(input);
	if (problem) throw invalid(problem.field, problem.message);
	const { secret, masked } = splitSecret(input);
	const rows = host.stores.payout_accounts;
	const existing = await rows.findById(user.id);
	const bankCode = input.method === "paypal" ? null : (input.bankCode ?? null);
	if (
		existing &&
		existing.method === input.method &&
		existing.currency === input.currency &&
		existing.holderName === input.holderName &&
		existing.bankCode === bankCode &&
		unseal(host.key, existing.sealed, context(user.id)) === JSON.stringify(secret)
	) {
		return existing; // nothing changed: no new cooldown, no email
	}
	const now = Date.now();
	const doc: PayoutAccountDoc = {
		_id: user.id,
		method: input.method,
		currency: input.currency,
		holderName: input.holderName,
		bankCode,
		masked,
		sealed: seal(host.key, JSON.stringify(secret), context(user.id)),
		createdAt: existing?.createdAt ?? new Date(now).toISOString(),
		updatedAt: new Date(now).toISOString(),
		usableAt: now + host.config.accountCooldownMs,
	};
	const { _id, ...fields } = doc;
	await rows.upsert({ _id }, { $set: fields });
	host.logger.info(`Payout account of ${user.username} set: ${input.method} ${masked}; usable from ${new Date(doc.usableAt).toISOString()}`);
	// The owner hears of every change at the account's address (mailer outbox: retried, once per change).
	await host.broker.call("mailer.enqueue", {
		key: `payout-account:${user.id}:${now}`,
		to: user.email,
		subject: "Your MediaShar payout account was changed",
		text: [
			`Hi ${user.username},`,
			"",
			`Your payout account was set to ${input.method} ${masked} (${input.holderName}).`,
			`Payouts to it start from ${new Date(doc.usableAt).toISOString()}.`,
			"",
			"If this was not you, change your password and contact support now.",
		].join("\n"),
	});
	return doc;
}

/** The payout's copy of the account (sealed as it is: still bound to the owner). */
export function snapshotOf(a: PayoutAccountDoc): AccountSnapshot {
	return { method: a.method, holderName: a.holderName, bankCode: a.bankCode, masked: a.masked, sealed: a.sealed };
}

/** The account number or email of a payout, for its provider order only. */
export function readAccountSecret(host: PayoutsHost, p: Pick<PayoutDoc, "userId" | "account">): AccountSecret {
	return JSON.parse(unseal(host.key, p.account.sealed, context(p.userId))) as AccountSecret;
}
