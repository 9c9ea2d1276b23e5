import http from "node:http";
import type { AddressInfo } from "node:net";
import { createHmac } from "node:crypto";
import { Secret, TOTP } from "otpauth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { setupStreamer } from "../support/flow";
import { SmtpCapture } from "../support/smtp-capture";
import { SCOPE_NAMES } from "../../lib/domain/accounts/personal-tokens";
import { BANK, payoutEnv, payoutHelpers } from "../support/payouts";

/**
 * Money out over real HTTP (contract: "Payouts"): a creator is paid, sets a payout account
 * (masked everywhere, emailed, cooling down), requests payouts that an operator approves or
 * rejects, the sandbox settles them paid or failed through its signed webhook, and the ledger,
 * balance, notifications and integrator webhooks follow; other users and non-admins are refused.
 */

const PUBLIC_URL = "https://mediashar.example";
const ADMIN = `payadmin_${process.pid % 10000}`;
const smtp = new SmtpCapture();
let h: Harness;
let api: ReturnType<typeof client>;
type Helpers = ReturnType<typeof payoutHelpers>;
let accounts: Helpers["accounts"];
let cooled: Helpers["cooled"];
let verifiedCreator: Helpers["verifiedCreator"];
let earn: Helpers["earn"];
let balanceOf: Helpers["balanceOf"];
let ledger: Helpers["ledger"];
let payoutStatus: Helpers["payoutStatus"];
let notifications: Helpers["notifications"];
let receiver: http.Server;
const hooks: { body: string; signature: string | undefined }[] = [];

beforeAll(async () => {
	receiver = http.createServer((req, res) => {
		let body = "";
		req.on("data", (c) => (body += c));
		req.on("end", () => {
			hooks.push({ body, signature: req.headers["x-mediashar-signature"] as string | undefined });
			res.writeHead(200).end("ok");
		});
	});
	await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
	const smtpUrl = await smtp.listen();
	h = await startHarness({
		services: ["users", "mailer", "donations", "ledger", "stats", "payments", "payouts", "notifications", "integrations"],
		env: {
			...payoutEnv(smtpUrl, PUBLIC_URL, ADMIN),
			PAYOUT_ACCOUNT_COOLDOWN_SEC: "3600",
			WEBHOOK_RETRY_BASE_MS: "50",
			WEBHOOK_SWEEP_MS: "50",
		},
	});
	api = client(h.url);
	({ accounts, cooled, verifiedCreator, earn, balanceOf, ledger, payoutStatus, notifications } = payoutHelpers(h, smtp, PUBLIC_URL));
});
afterAll(async () => {
	await h?.stop();
	await smtp.close();
	await new Promise<void>((r) => receiver.close(() => r()));
});

let admin: { token: string };
let creator: Awaited<ReturnType<Helpers["verifiedCreator"]>>;

describe("payouts over HTTP", () => {
	it("an ADMIN_USERNAMES account is an operator; a creator sets a masked payout account and is told by email", async () => {
		const reg = await api("POST", "/api/auth/register", { username: ADMIN, email: `${ADMIN}@example.test`, password: "correct horse battery" });
		expect(reg.body.user.roles).toEqual(["user", "admin"]);
		admin = { token: reg.body.accessToken };
		creator = await verifiedCreator();
		await earn(creator, 200_000_00);

		const put = await api("PUT", "/api/me/payout-account", BANK, { token: creator.token });
		expect(put.status).toBe(200);
		expect(put.body).toMatchObject({ method: "bank", bankCode: "bca", accountNumber: "****7890", coolingDown: true });
		const get = await api("GET", "/api/me/payout-account", undefined, { token: creator.token });
		expect(get.body.accountNumber).toBe("****7890");
		expect(JSON.stringify([put.body, get.body])).not.toContain("1234567890");
		expect(JSON.stringify(await accounts().findById(creator.id))).not.toContain("1234567890");
		const mail = await smtp.waitFor(`${creator.username}@example.test`, 2);
		expect(mail.subject).toContain("payout account");
		expect(mail.text).toContain("****7890");
		expect(mail.text).not.toContain("1234567890");
		expect((await api("PUT", "/api/me/payout-account", { ...BANK, bankCode: undefined }, { token: creator.token })).status).toBe(422);
	});

	it("refuses a payout inside the account's cooldown, below the minimum, above the available balance, without an account or a verified email", async () => {
		const ask = (token: string, body: object) => api("POST", "/api/me/payouts", body, { token });
		const cool = await ask(creator.token, { amount: 60_000_00, currency: "IDR" });
		expect([cool.status, cool.body.type]).toEqual([422, "PAYOUT_ACCOUNT_COOLDOWN"]);
		await cooled(creator.id);
		expect((await ask(creator.token, { amount: 49_999_00, currency: "IDR" })).body.type).toBe("BELOW_MINIMUM");
		expect((await ask(creator.token, { amount: 200_000_01, currency: "IDR" })).body.type).toBe("INSUFFICIENT_FUNDS");
		expect((await ask(creator.token, { amount: 60_000_00, currency: "USD" })).body.type).toBe("PAYOUT_ACCOUNT_REQUIRED");
		const unverified = await setupStreamer(h.url);
		expect((await api("PUT", "/api/me/payout-account", BANK, { token: unverified.token })).status).toBe(200);
		const res = await ask(unverified.token, { amount: 60_000_00, currency: "IDR" });
		expect([res.status, res.body.type]).toEqual([422, "EMAIL_NOT_VERIFIED"]);
		expect((await ledger(creator.token)).map((e) => e.kind)).toEqual(["credit"]);
	});

	it("request → approve → sandbox paid: debited once, notified, webhooked; others and non-admins refused", async () => {
		const hook = await api(
			"PUT",
			"/api/me/webhook",
			{ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` },
			{ token: creator.token },
		);
		expect(hook.status).toBe(200);
		const key = { headers: { "Idempotency-Key": `payout-${creator.id}` }, token: creator.token };
		const first = await api("POST", "/api/me/payouts", { amount: 60_000_00, currency: "IDR" }, key);
		expect(first.status).toBe(201);
		expect(first.body).toMatchObject({ status: "requested", amount: 60_000_00, currency: "IDR", fee: 0, net: 60_000_00 });
		const again = await api("POST", "/api/me/payouts", { amount: 60_000_00, currency: "IDR" }, key);
		expect([again.status, again.body.id]).toEqual([201, first.body.id]);
		const id = first.body.id as string;
		expect(await ledger(creator.token)).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "payout", amount: -60_000_00, payoutId: id })]));
		expect(await balanceOf(creator.token)).toMatchObject({ amount: 140_000_00, available: 140_000_00, pendingPayouts: 60_000_00 });

		const other = await registerUser(h.url, "nosy");
		expect((await api("GET", `/api/me/payouts/${id}`, undefined, { token: other.token })).status).toBe(404);
		expect((await api("POST", `/api/me/payouts/${id}/cancel`, undefined, { token: other.token })).status).toBe(404);
		expect((await api("GET", "/api/admin/payouts?status=requested", undefined, { token: creator.token })).status).toBe(403);
		expect((await api("POST", `/api/admin/payouts/${id}/approve`, undefined, { token: other.token })).status).toBe(403);
		expect((await api("POST", `/api/payouts/sandbox/${id}/complete`, { outcome: "paid" })).status).toBe(409); // not approved yet

		const queue = await api("GET", "/api/admin/payouts?status=requested", undefined, { token: admin.token });
		expect(queue.body.items.map((p: { id: string }) => p.id)).toContain(id);
		expect(JSON.stringify(queue.body)).not.toContain("1234567890");
		const approve = await api("POST", `/api/admin/payouts/${id}/approve`, undefined, { token: admin.token });
		expect([approve.status, approve.body.status]).toEqual([202, "approved"]);
		expect((await api("POST", `/api/admin/payouts/${id}/approve`, undefined, { token: admin.token })).status).toBe(409);
		await waitFor(async () => (await payoutStatus(creator.token, id)) === "processing", 5000, "processing");
		expect((await api("POST", `/api/me/payouts/${id}/cancel`, undefined, { token: creator.token })).status).toBe(409);

		expect((await api("POST", `/api/payouts/sandbox/${id}/complete`, { outcome: "paid" })).status).toBe(202);
		await waitFor(async () => (await payoutStatus(creator.token, id)) === "paid", 8000, "paid");
		await waitFor(
			async () => (await notifications(creator.token)).some((n) => n.type === "payout.paid" && n.data.payoutId === id),
			5000,
			"payout.paid notification",
		);
		const delivered = (await waitFor(() => hooks.find((x) => JSON.parse(x.body).type === "payout.paid"), 5000, "payout.paid webhook"))!;
		expect(JSON.parse(delivered.body).data.payout).toMatchObject({ id, status: "paid", amount: 60_000_00 });
		expect(delivered.body).not.toContain("7890");
		const secret = hook.body.secret as string;
		const parts = Object.fromEntries(delivered.signature!.split(",").map((p) => p.split("=", 2) as [string, string]));
		expect(parts.v1).toBe(createHmac("sha256", secret).update(`${parts.t}.${delivered.body}`).digest("hex"));

		expect((await ledger(creator.token)).filter((e) => e.payoutId === id).map((e) => e.kind)).toEqual(["payout"]);
		expect(await balanceOf(creator.token)).toMatchObject({ amount: 140_000_00, pendingPayouts: 0 });
	});

	it("failed, cancelled and rejected payouts give the money back once; the ledger sums to the balance", async () => {
		const ask = async (amount: number) => (await api("POST", "/api/me/payouts", { amount, currency: "IDR" }, { token: creator.token })).body.id as string;

		const failed = await ask(100_000_00);
		expect((await api("POST", `/api/admin/payouts/${failed}/approve`, undefined, { token: admin.token })).status).toBe(202);
		await waitFor(async () => (await payoutStatus(creator.token, failed)) === "processing", 5000, "processing");
		expect((await api("POST", `/api/payouts/sandbox/${failed}/complete`, { outcome: "failed" })).status).toBe(202);
		await waitFor(async () => (await payoutStatus(creator.token, failed)) === "failed", 8000, "failed");
		await waitFor(
			async () => (await notifications(creator.token)).some((n) => n.type === "payout.failed" && n.data.payoutId === failed),
			5000,
			"payout.failed notification",
		);

		const cancelled = await ask(50_000_00);
		const cancel = await api("POST", `/api/me/payouts/${cancelled}/cancel`, undefined, { token: creator.token });
		expect([cancel.status, cancel.body.status]).toEqual([200, "cancelled"]);

		const rejected = await ask(50_000_00);
		expect((await api("POST", `/api/admin/payouts/${rejected}/reject`, {}, { token: admin.token })).status).toBe(422);
		const reject = await api("POST", `/api/admin/payouts/${rejected}/reject`, { reason: "account name does not match" }, { token: admin.token });
		expect([reject.status, reject.body.status, reject.body.reason]).toEqual([200, "rejected", "account name does not match"]);

		const entries = await ledger(creator.token);
		for (const id of [failed, cancelled, rejected]) {
			expect(
				entries
					.filter((e) => e.payoutId === id)
					.map((e) => e.kind)
					.sort(),
			).toEqual(["payout", "payout_reversal"]);
		}
		const b = await balanceOf(creator.token);
		expect(b).toMatchObject({ amount: 140_000_00, available: 140_000_00, pendingPayouts: 0 });
		expect(entries.reduce((a, e) => a + e.amount, 0)).toBe(b.amount);
		const csv = await fetch(`${h.url}/api/me/ledger.csv`, { headers: { Authorization: `Bearer ${creator.token}` } });
		expect([csv.status, csv.headers.get("content-type")]).toEqual([200, "text/csv; charset=utf-8"]);
		const rows = (await csv.text()).trim().split("\r\n");
		expect(rows).toHaveLength(entries.length + 1);
		expect(rows.at(-1)!.split(",")[6]).toBe("140000.00"); // the running balance ends at the balance
		expect((await fetch(`${h.url}/api/me/ledger.csv`)).status).toBe(401);
		const mine = await api("GET", "/api/me/payouts?status=failed", undefined, { token: creator.token });
		expect(mine.body.items.map((p: { id: string }) => p.id)).toEqual([failed]);
	});

	it("a personal access token, even with every scope, reaches no payout route (403)", async () => {
		const made = await api("POST", "/api/me/tokens", { name: "bot", scopes: SCOPE_NAMES }, { token: creator.token });
		expect(made.status).toBe(201);
		const pat = made.body.token as string;
		const routes: [string, string, object?][] = [
			["GET", "/api/me/payout-account"],
			["PUT", "/api/me/payout-account", { ...BANK, accountNumber: "99999999" }],
			["GET", "/api/me/payouts"],
			["POST", "/api/me/payouts", { amount: 50_000_00, currency: "IDR" }],
			["GET", "/api/admin/payouts"],
		];
		for (const [method, path, body] of routes) expect([method, path, (await api(method, path, body, { token: pat })).status]).toEqual([method, path, 403]);
		expect((await api("GET", "/api/me/payout-account", undefined, { token: creator.token })).body.accountNumber).toBe("****7890");
	});

	it("with two-factor on, a payout needs a code: missing → 401 TWO_FACTOR_REQUIRED, wrong → 401 INVALID_CODE", async () => {
		const setup = await api("POST", "/api/me/2fa/setup", undefined, { token: creator.token });
		const totp = TOTP.generate({ secret: Secret.fromBase32(setup.body.secret), algorithm: "SHA1", digits: 6, period: 30, timestamp: Date.now() });
		const enabled = await api("POST", "/api/me/2fa/enable", { code: totp }, { token: creator.token });
		expect(enabled.status).toBe(200);
		const ask = (code?: string) => api("POST", "/api/me/payouts", { amount: 50_000_00, currency: "IDR", code }, { token: creator.token });
		expect((await ask()).body).toMatchObject({ code: 401, type: "TWO_FACTOR_REQUIRED" });
		expect((await ask("000000")).body).toMatchObject({ code: 401, type: "INVALID_CODE" });
		expect((await ledger(creator.token)).filter((e) => e.kind === "payout")).toHaveLength(4);
		const ok = await ask(enabled.body.recoveryCodes[0]);
		expect([ok.status, ok.body.status]).toEqual([201, "requested"]);
	});
});
