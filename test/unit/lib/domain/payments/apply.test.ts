import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type Logger } from "moleculer";
import { DbMixin, type Collection } from "../../../../../mixins/db.mixin";
import { newId } from "../../../../../lib/tools/ids";
import { applyReported, type ApplyHost } from "../../../../../lib/domain/payments/apply";
import type { PaymentDoc } from "../../../../../lib/domain/payments/docs";
import type { PaymentStatus } from "../../../../../lib/payments/types";

/** Applying what a provider reported: the outbox mark with every change, partial refunds only upwards, a won dispute restores. */
let broker: ServiceBroker;
let host: ApplyHost & { store: Collection<PaymentDoc> };
const notified: PaymentDoc[] = [];

beforeAll(async () => {
	broker = new ServiceBroker({ logger: false });
	const svc = broker.createService({ name: "applytest", mixins: [DbMixin("apply_test_payments")] });
	await broker.start();
	const store = (svc as unknown as { store: Collection<PaymentDoc> }).store;
	host = {
		store,
		logger: svc.logger as Logger,
		async notifyCurrent(doc) {
			const now = (await store.findById(doc._id)) ?? doc;
			notified.push(now);
			return now;
		},
	};
});
afterAll(() => broker?.stop());

async function payment(status: PaymentStatus, extra: Partial<PaymentDoc> = {}): Promise<PaymentDoc> {
	const at = new Date().toISOString();
	const doc: PaymentDoc = {
		_id: newId(),
		donationId: newId(),
		provider: "stripe",
		status,
		amount: 1000,
		currency: "USD",
		method: null,
		action: null,
		providerRef: null,
		providerRefs: [],
		createdAt: at,
		updatedAt: at,
		expiresAt: at,
		statusAt: at,
		previousStatus: null,
		notifiedStatus: null,
		refundedAmount: 0,
		rev: 0,
		reinstatements: 0,
		...extra,
	};
	return host.store.insert(doc);
}

describe("applyReported", () => {
	it("settles with the outbox mark set in the same write, and notifies", async () => {
		const p = await payment("pending");
		const r = await applyReported(host, p, { eventId: "e1", status: "paid", amount: 1000, currency: "usd" });
		expect(r.result).toBe("applied");
		expect(r.doc).toMatchObject({ status: "paid", effectsDue: true, rev: 1 });
		expect(notified.at(-1)).toMatchObject({ _id: p._id, status: "paid" });
	});

	it("refuses a settlement of another amount or currency", async () => {
		const p = await payment("pending");
		expect((await applyReported(host, p, { eventId: "e2", status: "paid", amount: 999 })).result).toBe("amount_mismatch");
		expect((await applyReported(host, p, { eventId: "e3", status: "paid", amount: 1000, currency: "EUR" })).result).toBe("amount_mismatch");
		expect(await host.store.findById(p._id)).toMatchObject({ status: "pending", rev: 0 });
	});

	it("books partial refunds only upwards and keeps the payment paid; a refund before payment is too early", async () => {
		const p = await payment("paid");
		expect((await applyReported(host, p, { eventId: "r1", status: "refunded", refundedTotal: 300 })).doc).toMatchObject({
			status: "paid",
			refundedAmount: 300,
		});
		const now = (await host.store.findById(p._id))!;
		expect((await applyReported(host, now, { eventId: "r0", status: "refunded", refundedTotal: 200 })).result).toBe("no_change");
		expect((await host.store.findById(p._id))!.refundedAmount).toBe(300);
		const pending = await payment("pending");
		expect((await applyReported(host, pending, { eventId: "r2", status: "refunded" })).result).toBe("too_early");
	});

	it("a won dispute gives a reversed payment back what was refunded before it", async () => {
		const p = await payment("paid", { refundedAmount: 250 });
		const reversed = (await applyReported(host, p, { eventId: "d1", status: "reversed" })).doc;
		expect(reversed).toMatchObject({ status: "reversed", refundedAmount: 1000, refundedBeforeReversal: 250 });
		const back = await applyReported(host, reversed, { eventId: "d2", status: "paid", reinstate: true });
		expect(back.doc).toMatchObject({ status: "paid", refundedAmount: 250, reinstatements: 1 });
		expect((await applyReported(host, back.doc, { eventId: "d3", status: "paid", reinstate: true })).result).toBe("no_change");
	});

	it("never settles a final payment", async () => {
		const p = await payment("expired");
		expect((await applyReported(host, p, { eventId: "x1", status: "paid" })).result).toBe("invalid_transition");
		expect((await host.store.findById(p._id))!.status).toBe("expired");
	});
});
