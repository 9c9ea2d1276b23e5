import { expect } from "vitest";
import { client, waitFor, type Harness } from "./harness";
import { donate, pay, setupStreamer } from "./flow";
import { linkToken, type SmtpCapture } from "./smtp-capture";

/** Helpers for the payout tests over HTTP: a verified creator with money, balances, ledger. */

/** The env every payout test over HTTP starts with: fast mail, an operator, no hold. */
export function payoutEnv(smtpUrl: string, publicUrl: string, admin: string): Record<string, string> {
	return {
		SCRYPT_COST: "1024",
		SMTP_URL: smtpUrl,
		PUBLIC_URL: publicUrl,
		MAIL_RETRY_BASE_MS: "50",
		MAIL_SWEEP_MS: "50",
		ADMIN_USERNAMES: admin,
		PAYOUT_HOLD_SEC: "0",
	};
}

export const BANK = { method: "bank", currency: "IDR", holderName: "Budi Santoso", bankCode: "bca", accountNumber: "1234567890" };

export function payoutHelpers(h: Harness, smtp: SmtpCapture, publicUrl: string) {
	const api = client(h.url);
	const balanceOf = async (token: string) => {
		const b = (await api("GET", "/api/me/balance", undefined, { token })).body.balances.find((x: { currency: string }) => x.currency === "IDR");
		return (b ?? { amount: 0, available: 0, held: 0, pendingPayouts: 0 }) as { amount: number; available: number; held: number; pendingPayouts: number };
	};
	type AccountRows = { updateMany(q: object, u: object): Promise<number>; findById(id: string): Promise<object | null> };
	const accounts = () => (h.broker.getLocalService("payouts") as unknown as { stores: { payout_accounts: AccountRows } }).stores.payout_accounts;
	return {
		api,
		balanceOf,
		accounts,
		/** Registers the ADMIN_USERNAMES operator; its access token. */
		registerAdmin: async (username: string) =>
			(await api("POST", "/api/auth/register", { username, email: `${username}@example.test`, password: "correct horse battery" })).body
				.accessToken as string,
		/** The cooldown has passed (the account was set an hour ago). */
		cooled: (userId: string) => accounts().updateMany({ _id: userId }, { $set: { usableAt: Date.now() - 1000 } }),
		async verifiedCreator() {
			const s = await setupStreamer(h.url);
			const mail = await smtp.waitFor(`${s.username}@example.test`);
			expect((await api("POST", "/api/auth/email/verify", { token: linkToken(mail, publicUrl, "/auth/verify") })).status).toBe(204);
			return s;
		},
		async earn(s: { username: string; token: string }, amount: number) {
			const before = await balanceOf(s.token);
			const d = await donate(h.url, s.username, { amount });
			expect(d.status).toBe(201);
			expect((await pay(h.url, d.body.payment.id)).status).toBe(202);
			await waitFor(async () => (await balanceOf(s.token)).amount === before.amount + amount, 8000, "the credit");
		},
		ledger: async (token: string) =>
			(await api("GET", "/api/me/ledger?limit=100", undefined, { token })).body.items as { kind: string; amount: number; payoutId: string | null }[],
		payoutStatus: async (token: string, id: string) => (await api("GET", `/api/me/payouts/${id}`, undefined, { token })).body.status as string,
		notifications: async (token: string) =>
			(await api("GET", "/api/notifications", undefined, { token })).body.items as { type: string; data: { payoutId?: string } }[],
	};
}
