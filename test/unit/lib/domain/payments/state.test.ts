import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { DbMixin, type Collection } from "../../../../../mixins/db.mixin";
import { newId } from "../../../../../lib/tools/ids";
import { PAYMENT_STATUSES, type PaymentStatus } from "../../../../../lib/payments/types";
import { canReinstate, canTransition, isFinal, reinstate, targetFor, transition } from "../../../../../lib/domain/payments/state";

const ALLOWED: [PaymentStatus, PaymentStatus][] = [
	["pending", "paid"],
	["pending", "failed"],
	["pending", "expired"],
	["paid", "refunded"],
	["paid", "reversed"],
];

let broker: ServiceBroker;
let store: Collection;

beforeAll(async () => {
	broker = new ServiceBroker({ logger: false });
	const svc = broker.createService({ name: "statetest", mixins: [DbMixin("state_test_payments")] });
	await broker.start();
	store = (svc as unknown as { store: Collection }).store;
});
afterAll(() => broker?.stop());

async function paymentIn(status: PaymentStatus) {
	const _id = newId();
	await store.insert({ _id, status, amount: 100, currency: "USD" });
	return _id;
}

describe("payment state machine", () => {
	it("allows exactly pending → paid|failed|expired and paid → refunded|reversed", () => {
		for (const from of PAYMENT_STATUSES) {
			for (const to of PAYMENT_STATUSES) {
				const expected = ALLOWED.some(([a, b]) => a === from && b === to);
				expect(canTransition(from, to), `${from} → ${to}`).toBe(expected);
			}
		}
		expect(["failed", "expired", "refunded", "reversed"].every((s) => isFinal(s as PaymentStatus))).toBe(true);
		expect(isFinal("pending") || isFinal("paid")).toBe(false);
	});

	it("applies every allowed transition as a stored change with its timestamp", async () => {
		for (const [from, to] of ALLOWED) {
			const id = await paymentIn(from);
			const r = await transition(store, id, from, to, { effectsDue: true });
			expect(r.ok).toBe(true);
			const doc = await store.findById(id);
			expect(doc).toMatchObject({ status: to, previousStatus: from, effectsDue: true });
			expect(typeof doc![`${to}At`]).toBe("string");
		}
	});

	it("refuses every forbidden transition without touching the document", async () => {
		for (const from of PAYMENT_STATUSES) {
			for (const to of PAYMENT_STATUSES) {
				if (from === to || ALLOWED.some(([a, b]) => a === from && b === to)) continue;
				const id = await paymentIn(from);
				expect(await transition(store, id, from, to)).toEqual({ ok: false, reason: "invalid_transition" });
				expect((await store.findById(id))!.status).toBe(from);
			}
		}
		const id = await paymentIn("paid");
		expect(await transition(store, id, "paid", "paid")).toEqual({ ok: false, reason: "no_change" });
	});

	it("loses when the stored status is not the expected one", async () => {
		const id = await paymentIn("failed");
		// The caller believed it was pending: the conditional update finds nothing to change.
		expect(await transition(store, id, "pending", "paid")).toEqual({ ok: false, reason: "lost_race" });
		expect((await store.findById(id))!.status).toBe("failed");
	});

	it("lets exactly one of 20 concurrent settlements win", async () => {
		const id = await paymentIn("pending");
		const results = await Promise.all(Array.from({ length: 20 }, () => transition(store, id, "pending", "paid")));
		expect(results.filter((r) => r.ok)).toHaveLength(1);
		expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.reason === "lost_race")).toBe(true);
		expect((await store.findById(id))!.status).toBe("paid");
	});

	it("lets exactly one of settle/fail/expire racing each other win", async () => {
		const id = await paymentIn("pending");
		const targets: PaymentStatus[] = ["paid", "failed", "expired", "paid", "failed", "expired"];
		const results = await Promise.all(targets.map((to) => transition(store, id, "pending", to)));
		const winners = results.filter((r) => r.ok);
		expect(winners).toHaveLength(1);
		expect((await store.findById(id))!.status).toBe(winners[0].ok && winners[0].to);
	});

	it("maps a report onto the current status (deny after capture reverses)", () => {
		expect(targetFor("pending", { status: "failed", ifPaid: "reversed" })).toBe("failed");
		expect(targetFor("paid", { status: "failed", ifPaid: "reversed" })).toBe("reversed");
		expect(targetFor("paid", { status: "refunded" })).toBe("refunded");
		expect(targetFor("pending", { status: "paid" })).toBe("paid");
	});

	it("counts every change in rev", async () => {
		const id = await paymentIn("pending");
		await transition(store, id, "pending", "paid");
		await transition(store, id, "paid", "reversed");
		expect((await store.findById(id))!.rev).toBe(2);
	});

	it("reinstates only a reversed payment (a won dispute), once per reversal", async () => {
		expect(PAYMENT_STATUSES.filter(canReinstate)).toEqual(["reversed"]);
		for (const from of PAYMENT_STATUSES.filter((s) => s !== "reversed")) {
			const id = await paymentIn(from);
			expect(await reinstate(store, id, from)).toEqual({ ok: false, reason: "invalid_transition" });
			expect((await store.findById(id))!.status).toBe(from);
		}
		const id = await paymentIn("reversed");
		const results = await Promise.all(Array.from({ length: 5 }, () => reinstate(store, id, "reversed", { effectsDue: true })));
		expect(results.filter((r) => r.ok)).toHaveLength(1);
		expect(await store.findById(id)).toMatchObject({ status: "paid", previousStatus: "reversed", reinstatements: 1, effectsDue: true });
	});
});
