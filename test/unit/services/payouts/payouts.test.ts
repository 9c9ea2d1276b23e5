import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import payouts from "../../../../services/payouts/payouts.service";
import ledger from "../../../../services/donations/ledger.service";
import type { PayoutDoc } from "../../../../lib/domain/payouts/docs";
import { SandboxPayoutProvider } from "../../../../lib/payouts/sandbox";
import { newId } from "../../../../lib/tools/ids";
import { channelBroker, type ChannelBroker } from "../../../support/unit-broker";

/**
 * The payouts service against the real ledger: every move is a conditional update (two
 * approvals, or an approval and a cancel, settle once), the debit is booked with the request,
 * the reversal exactly once, and a crash between any two steps is finished by the sweep
 * without booking or announcing anything twice.
 */
const ENV: Record<string, string> = {
	PAYOUT_HOLD_SEC: "0",
	PAYOUT_ACCOUNT_COOLDOWN_SEC: "0",
	PAYOUT_SWEEP_MS: "3600000",
	PAYOUT_REDRIVE_MS: "0",
	PAYOUT_STUCK_SEC: "3600",
	PAYOUT_AUTO_APPROVE_MAX_USD: "5000",
};
const saved: Record<string, string | undefined> = {};
const SECRET = "dev-only-sandbox-webhook-secret";

let broker: ChannelBroker;
const mails: { to: string; subject: string; text: string }[] = [];
const announced: { channel: string; id: string }[] = [];
const events: { event: string; id: string }[] = [];
const users = new Map<string, { id: string; username: string; email: string; emailVerified: boolean; twoFactorEnabled: boolean }>();

type PayoutsSvc = {
	store: { findById(id: string): Promise<PayoutDoc | null>; insert(d: PayoutDoc): Promise<unknown>; updateMany(q: object, u: object): Promise<number> };
	runSweep(n: string): Promise<void>;
};
/** broker.call with the answer typed. */
const call = <T = unknown>(name: string, params?: object, opts?: object) => broker.call(name, params, opts) as Promise<T>;
const svc = () => broker.getLocalService("payouts") as unknown as PayoutsSvc;

beforeAll(async () => {
	for (const [k, v] of Object.entries(ENV)) {
		saved[k] = process.env[k];
		process.env[k] = v;
	}
	broker = channelBroker();
	broker.createService({
		name: "users",
		actions: {
			get: (ctx) => users.get((ctx.params as { id: string }).id) ?? null,
			verifySecondFactor: (ctx) => ({ enabled: true, ok: (ctx.params as { code: string }).code === "123456" }),
		},
	} as ServiceSchema);
	broker.createService({
		name: "mailer",
		actions: { enqueue: (ctx) => void mails.push(ctx.params as (typeof mails)[number]) },
	} as ServiceSchema);
	broker.createService({
		name: "payout-listener",
		channels: {
			"payouts.paid": { group: "t", handler: (m: { payout: { id: string } }) => void announced.push({ channel: "paid", id: m.payout.id }) },
			"payouts.failed": { group: "t", handler: (m: { payout: { id: string } }) => void announced.push({ channel: "failed", id: m.payout.id }) },
		},
		// The broker event the bots' events socket listens to.
		events: { "payouts.paid": (ctx: { params: { payout: { id: string } } }) => void events.push({ event: "payouts.paid", id: ctx.params.payout.id }) },
	} as ServiceSchema);
	broker.createService(ledger);
	broker.createService(payouts);
	await broker.start();
});
afterAll(async () => {
	await broker?.stop();
	for (const [k, v] of Object.entries(saved)) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
});

const ADMIN = { id: "admin-1", username: "boss", roles: ["user", "admin"] };

/** A creator with a verified email, an IDR bank account and `credit` in the ledger. */
async function creator(credit = 200_000_00, opts: { twoFactor?: boolean } = {}) {
	const id = newId();
	const username = `c${id.slice(-8)}`;
	users.set(id, { id, username, email: `${username}@example.test`, emailVerified: true, twoFactorEnabled: !!opts.twoFactor });
	const meta = { user: { id, username, roles: ["user"] } };
	await broker.call("payouts.putAccount", { method: "bank", currency: "IDR", holderName: "Budi", bankCode: "bca", accountNumber: "1234567890" }, { meta });
	await broker.call("ledger.credit", { donation: { _id: newId(), recipientId: id, amount: credit, currency: "IDR" } });
	return { id, meta };
}

const entries = async (userId: string) =>
	(
		await call<{ items: { kind: string; amount: number; payoutId: string | null }[] }>(
			"ledger.entries",
			{ limit: 100 },
			{ meta: { user: { id: userId, username: "x", roles: [] } } },
		)
	).items;
const balance = async (userId: string) => call<{ amount: number; available: number }>("ledger.balanceOf", { userId, currency: "IDR" });
const kinds = async (userId: string, payoutId: string) =>
	(await entries(userId))
		.filter((e) => e.payoutId === payoutId)
		.map((e) => `${e.kind}:${e.amount}`)
		.sort();
const settled = <T>(ps: Promise<T>[]) => Promise.allSettled(ps);

function signedWebhook(payoutId: string, status: "paid" | "failed", eventId = newId()) {
	const { body, signature } = new SandboxPayoutProvider(SECRET).signedWebhook({ event_id: eventId, payout_id: payoutId, status });
	return { body, params: { provider: "sandbox" }, signature };
}
async function webhook(payoutId: string, status: "paid" | "failed", eventId?: string) {
	const w = signedWebhook(payoutId, status, eventId);
	return broker.call("payouts.webhook", { body: w.body, params: w.params }, { meta: { webhook: { headers: { "x-sandbox-signature": w.signature } } } });
}

describe("payouts service", () => {
	it("debits the ledger with the request; the balance and pending totals follow", async () => {
		const c = await creator();
		const p = await call<{ id: string; status: string; net: number }>("payouts.request", { amount: 60_000_00, currency: "IDR" }, { meta: c.meta });
		expect(p).toMatchObject({ status: "requested", net: 60_000_00 });
		expect(await kinds(c.id, p.id)).toEqual(["payout:-6000000"]);
		expect(await balance(c.id)).toMatchObject({ amount: 140_000_00, available: 140_000_00 });
		expect(await broker.call("payouts.pendingTotals", { userId: c.id })).toEqual({ IDR: 60_000_00 });
		// A second one while it is open: refused, nothing booked.
		await expect(broker.call("payouts.request", { amount: 60_000_00, currency: "IDR" }, { meta: c.meta })).rejects.toMatchObject({
			type: "PAYOUT_IN_PROGRESS",
		});
		expect((await entries(c.id)).length).toBe(2);
	});

	it("refuses what the contract refuses, booking nothing", async () => {
		const c = await creator(70_000_00);
		const ask = (amount: number, extra: Record<string, unknown> = {}) =>
			broker.call("payouts.request", { amount, currency: "IDR", ...extra }, { meta: c.meta });
		await expect(ask(49_999_00)).rejects.toMatchObject({ code: 422, type: "BELOW_MINIMUM" });
		await expect(ask(70_000_01)).rejects.toMatchObject({ code: 422, type: "INSUFFICIENT_FUNDS" });
		await expect(broker.call("payouts.request", { amount: 60_000_00, currency: "USD" }, { meta: c.meta })).rejects.toMatchObject({
			type: "PAYOUT_ACCOUNT_REQUIRED",
		});
		users.get(c.id)!.emailVerified = false;
		await expect(ask(60_000_00)).rejects.toMatchObject({ type: "EMAIL_NOT_VERIFIED" });
		users.get(c.id)!.emailVerified = true;
		users.get(c.id)!.twoFactorEnabled = true;
		await expect(ask(60_000_00)).rejects.toMatchObject({ code: 401, type: "TWO_FACTOR_REQUIRED" });
		await expect(ask(60_000_00, { code: "000000" })).rejects.toMatchObject({ code: 401, type: "INVALID_CODE" });
		expect((await entries(c.id)).map((e) => e.kind)).toEqual(["credit"]);
		await expect(ask(60_000_00, { code: "123456" })).resolves.toMatchObject({ status: "requested" });
	});

	it("two approvals at once: one wins, the other is a 409; paid once, debited once, never reversed", async () => {
		const c = await creator();
		const p = await call<{ id: string }>("payouts.request", { amount: 50_000_00, currency: "IDR" }, { meta: c.meta });
		const results = await settled([0, 1, 2].map(() => broker.call("payouts.approve", { id: p.id }, { meta: { user: ADMIN } })));
		expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
		expect(results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.type)).toEqual([
			"INVALID_PAYOUT_STATE",
			"INVALID_PAYOUT_STATE",
		]);
		await expect.poll(async () => (await svc().store.findById(p.id))?.status).toBe("processing");
		await Promise.all([webhook(p.id, "paid"), webhook(p.id, "paid"), webhook(p.id, "failed")]);
		expect((await svc().store.findById(p.id))?.status).toBe("paid");
		expect(await kinds(c.id, p.id)).toEqual(["payout:-5000000"]);
		await expect.poll(() => announced.filter((a) => a.id === p.id)).toEqual([{ channel: "paid", id: p.id }]);
		expect(events.filter((e) => e.id === p.id)).toEqual([{ event: "payouts.paid", id: p.id }]);
	});

	it("an approval racing a cancel settles once; a cancelled payout's money comes back once", async () => {
		for (let i = 0; i < 4; i++) {
			const c = await creator(100_000_00);
			const p = await call<{ id: string }>("payouts.request", { amount: 100_000_00, currency: "IDR" }, { meta: c.meta });
			const [approve, cancel] = await settled([
				broker.call("payouts.approve", { id: p.id }, { meta: { user: ADMIN } }),
				broker.call("payouts.cancel", { id: p.id }, { meta: c.meta }),
			]);
			expect([approve.status, cancel.status].sort()).toEqual(["fulfilled", "rejected"]);
			const won = cancel.status === "fulfilled" ? "cancelled" : "approved";
			await expect.poll(async () => (await svc().store.findById(p.id))?.effectsDue).toBeUndefined();
			const doc = (await svc().store.findById(p.id))!;
			if (won === "cancelled") {
				expect(doc.status).toBe("cancelled");
				expect(await kinds(c.id, p.id)).toEqual(["payout:-10000000", "payout_reversal:10000000"]);
				expect((await balance(c.id)).amount).toBe(100_000_00);
			} else {
				expect(doc.status).toBe("processing");
				expect(await kinds(c.id, p.id)).toEqual(["payout:-10000000"]);
			}
		}
	});

	it("a failed payout is credited back once and announced once, whatever is redelivered", async () => {
		const c = await creator();
		const p = await call<{ id: string }>("payouts.request", { amount: 80_000_00, currency: "IDR" }, { meta: c.meta });
		await broker.call("payouts.approve", { id: p.id }, { meta: { user: ADMIN } });
		await expect.poll(async () => (await svc().store.findById(p.id))?.status).toBe("processing");
		const eventId = newId();
		await webhook(p.id, "failed", eventId);
		await webhook(p.id, "failed", eventId);
		await webhook(p.id, "paid");
		await svc().runSweep("tick");
		expect((await svc().store.findById(p.id))?.status).toBe("failed");
		expect(await kinds(c.id, p.id)).toEqual(["payout:-8000000", "payout_reversal:8000000"]);
		expect((await balance(c.id)).amount).toBe(200_000_00);
		await expect.poll(() => announced.filter((a) => a.id === p.id)).toEqual([{ channel: "failed", id: p.id }]);
		// A bad signature changes nothing.
		const w = signedWebhook(p.id, "paid");
		await expect(
			broker.call("payouts.webhook", { body: w.body, params: w.params }, { meta: { webhook: { headers: { "x-sandbox-signature": "t=1,v1=00" } } } }),
		).rejects.toMatchObject({ code: 400 });
	});

	it("a crash after the request was stored, before its debit: the sweep books it once", async () => {
		const c = await creator();
		const p = await call<{ id: string }>("payouts.request", { amount: 50_000_00, currency: "IDR" }, { meta: c.meta });
		// The same payout again, as a process that died right after the insert left it.
		const stored = (await svc().store.findById(p.id))!;
		const orphan: PayoutDoc = { ...stored, _id: newId(), openSlot: `${c.id}:IDR:orphan`, effects: {}, effectsDue: true, rev: 0 };
		await svc().store.insert(orphan);
		await svc().runSweep("tick");
		await svc().runSweep("tick");
		expect(await kinds(c.id, orphan._id)).toEqual(["payout:-5000000"]);
		expect((await svc().store.findById(orphan._id))?.effectsDue).toBeUndefined();
	});

	it("a crash after a cancel, before its reversal (and even before the debit): the sweep books both once", async () => {
		const c = await creator();
		const stored = (await svc().store.findById(
			(await call<{ id: string }>("payouts.request", { amount: 50_000_00, currency: "IDR" }, { meta: c.meta })).id,
		))!;
		const orphan: PayoutDoc = { ...stored, _id: newId(), status: "cancelled", openSlot: undefined, effects: {}, effectsDue: true, rev: 1 };
		delete orphan.openSlot;
		await svc().store.insert(orphan);
		await svc().runSweep("tick");
		await svc().runSweep("tick");
		expect(await kinds(c.id, orphan._id)).toEqual(["payout:-5000000", "payout_reversal:5000000"]);
	});

	it("a crash after an approval, before the provider call: the sweep sends it on", async () => {
		const c = await creator();
		const p = await call<{ id: string }>("payouts.request", { amount: 50_000_00, currency: "IDR" }, { meta: c.meta });
		await svc().store.updateMany({ _id: p.id }, { $set: { status: "approved", effectsDue: true }, $inc: { rev: 1 } });
		await svc().runSweep("tick");
		expect(await svc().store.findById(p.id)).toMatchObject({ status: "processing", providerRef: `sandbox_${p.id}` });
	});

	it("approves payouts up to PAYOUT_AUTO_APPROVE_MAX_<CURRENCY> without an operator; larger ones wait", async () => {
		const id = newId();
		users.set(id, { id, username: `u${id.slice(-8)}`, email: `u${id.slice(-8)}@example.test`, emailVerified: true, twoFactorEnabled: false });
		const meta = { user: { id, username: `u${id.slice(-8)}`, roles: ["user"] } };
		await call("payouts.putAccount", { method: "paypal", currency: "USD", holderName: "Ana", email: "ana@example.test" }, { meta });
		await call("ledger.credit", { donation: { _id: newId(), recipientId: id, amount: 20_000, currency: "USD" } });
		const small = await call<{ id: string; status: string }>("payouts.request", { amount: 5000, currency: "USD" }, { meta });
		expect(small.status).toBe("approved");
		await expect.poll(async () => (await svc().store.findById(small.id))?.status).toBe("processing");
		expect((await svc().store.findById(small.id))?.approvedBy).toBe("auto");
		await webhook(small.id, "paid");
		const large = await call<{ status: string }>("payouts.request", { amount: 5001, currency: "USD" }, { meta });
		expect(large.status).toBe("requested");
	});

	it("without its configured provider the node refuses new requests with 503 and books nothing", async () => {
		const c = await creator();
		const config = (broker.getLocalService("payouts") as unknown as { config: { provider: string } }).config;
		config.provider = "not-configured";
		try {
			await expect(call("payouts.request", { amount: 60_000_00, currency: "IDR" }, { meta: c.meta })).rejects.toMatchObject({
				code: 503,
				type: "PAYOUTS_UNAVAILABLE",
			});
		} finally {
			config.provider = "sandbox";
		}
		expect((await entries(c.id)).map((e) => e.kind)).toEqual(["credit"]);
	});

	it("keeps the account sealed at rest and masked in every answer; a change is emailed", async () => {
		const c = await creator();
		const view = await call<Record<string, unknown>>("payouts.getAccount", {}, { meta: c.meta });
		expect(view).toMatchObject({ method: "bank", accountNumber: "****7890", bankCode: "bca" });
		expect(JSON.stringify(view)).not.toContain("1234567890");
		const row = await (
			broker.getLocalService("payouts") as unknown as { stores: { payout_accounts: { findById(id: string): Promise<object> } } }
		).stores.payout_accounts.findById(c.id);
		expect(JSON.stringify(row)).not.toContain("1234567890");
		expect(mails.filter((m) => m.to === users.get(c.id)!.email)).toHaveLength(1);
		expect(mails.at(-1)!.text).toContain("****7890");
		expect(mails.at(-1)!.text).not.toContain("1234567890");
		// The same details again: no new email, no new cooldown.
		await broker.call(
			"payouts.putAccount",
			{ method: "bank", currency: "IDR", holderName: "Budi", bankCode: "bca", accountNumber: "1234567890" },
			{ meta: c.meta },
		);
		expect(mails.filter((m) => m.to === users.get(c.id)!.email)).toHaveLength(1);
	});
});
