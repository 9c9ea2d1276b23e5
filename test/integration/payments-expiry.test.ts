import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import { sign } from "../../lib/tools/signature";
import { newId } from "../../lib/tools/ids";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import { startFakeMidtrans, type FakeMidtrans, providerEnv } from "../support/fake-providers";

/**
 * Time-driven behaviour with short clocks (PAYMENT_TTL_SEC=2, PAYMENT_SWEEP_SEC=1): the expiry
 * sweep, and the outbox re-drive that re-sends a status change whose channel message was lost.
 */

const SECRET = "sandbox-secret-expiry";
const messages: any[] = [];
const donationsStub = {
	name: "donations",
	channels: { "payments.statusChanged": { group: "donations", handler: (payload: any) => void messages.push(payload) } },
} as Partial<ServiceSchema>;

let h: Harness;
let api: ReturnType<typeof client>;
let midtrans: FakeMidtrans;

beforeAll(async () => {
	midtrans = await startFakeMidtrans();
	h = await startHarness({
		services: ["payments"],
		extra: [donationsStub],
		env: {
			SANDBOX_WEBHOOK_SECRET: SECRET,
			PAYMENT_TTL_SEC: "2",
			PAYMENT_SWEEP_SEC: "1",
			PAYMENT_EXPIRY_GRACE_SEC: "0",
			...providerEnv({ midtrans }),
		},
	});
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
	await midtrans?.close();
});

const messagesFor = (paymentId: string) => messages.filter((m) => m.paymentId === paymentId);
const create = () => h.broker.call<any, any>("payments.create", { donationId: newId(), amount: 500, currency: "USD", provider: "sandbox" });

describe("expiry and re-drive", () => {
	it("expires an unpaid payment after PAYMENT_TTL_SEC and notifies once", async () => {
		const p = await create();
		expect(Date.parse(p.expiresAt) - Date.now()).toBeLessThanOrEqual(2000);
		await waitFor(() => messagesFor(p.id).length === 1, 8000, "expired message");
		expect(messagesFor(p.id)[0]).toMatchObject({ status: "expired", previousStatus: "pending" });
		expect((await api("GET", `/api/payments/${p.id}`)).body.status).toBe("expired");
		// A settlement that arrives after expiry cannot pay it.
		const raw = JSON.stringify({ event_id: `late-${p.id}`, payment_id: p.id, status: "settlement" });
		const late = await api("POST", "/api/payments/webhooks/sandbox", undefined, { raw, headers: { "X-Sandbox-Signature": sign(raw, SECRET) } });
		expect(late.status).toBe(200);
		expect((await api("GET", `/api/payments/${p.id}`)).body.status).toBe("expired");
		expect(messagesFor(p.id)).toHaveLength(1);
	});

	it("an overdue payment ends expired whether the timer or expireStale reaches it first", async () => {
		const p = await create();
		await waitFor(() => Date.now() > Date.parse(p.expiresAt), 4000, "past expiry");
		await h.broker.call("payments.expireStale", {});
		expect((await api("GET", `/api/payments/${p.id}`)).body.status).toBe("expired");
		await waitFor(() => messagesFor(p.id).length === 1, 3000, "one message");
	});

	it("re-sends a status change whose channel message was lost", async () => {
		const p = await create();
		const broker = h.broker as any;
		const original = broker.sendToChannel;
		broker.sendToChannel = () => Promise.reject(new Error("channel adapter down"));
		try {
			const raw = JSON.stringify({ event_id: `paid-${p.id}`, payment_id: p.id, status: "settlement" });
			const res = await api("POST", "/api/payments/webhooks/sandbox", undefined, { raw, headers: { "X-Sandbox-Signature": sign(raw, SECRET) } });
			expect(res.status).toBe(200);
			expect((await api("GET", `/api/payments/${p.id}`)).body.status).toBe("paid");
			expect(messagesFor(p.id)).toHaveLength(0);
		} finally {
			broker.sendToChannel = original;
		}
		await waitFor(() => messagesFor(p.id).length >= 1, 8000, "re-driven message");
		expect(messagesFor(p.id)[0]).toMatchObject({ status: "paid", previousStatus: "pending" });
	});

	it("asks a real provider before expiring: a late settlement is kept, an unpaid one expires", async () => {
		const settled = await h.broker.call<any, any>("payments.create", { donationId: newId(), amount: 1_000_000, currency: "IDR", provider: "midtrans" });
		const unpaid = await h.broker.call<any, any>("payments.create", { donationId: newId(), amount: 1_000_000, currency: "IDR", provider: "midtrans" });
		// The payer paid just before the deadline but Midtrans's notification never reached us.
		midtrans.statuses.set(settled.id, { transaction_status: "settlement", gross_amount: "10000.00", transaction_id: `tx-${settled.id}`, currency: "IDR" });
		midtrans.statuses.set(unpaid.id, { transaction_status: "pending", gross_amount: "10000.00", transaction_id: `tx-${unpaid.id}`, currency: "IDR" });
		await waitFor(() => messagesFor(settled.id).length === 1 && messagesFor(unpaid.id).length === 1, 8000, "both resolved");
		expect(messagesFor(settled.id)[0].status).toBe("paid");
		expect(messagesFor(unpaid.id)[0].status).toBe("expired");
		expect(midtrans.requests.some((r) => r.path === `/v2/${settled.id}/status`)).toBe(true);
	});
});
