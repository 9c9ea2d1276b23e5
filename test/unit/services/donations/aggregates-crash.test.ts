import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import donations from "../../../../services/donations/donations.service";
import ledgerService from "../../../../services/donations/ledger.service";
import statsService from "../../../../services/donations/stats.service";
import { channelBroker, type ChannelBroker } from "../../../support/unit-broker";

/**
 * Stats converge to the ledger after a crash at any point of a donation's effects: a crash is
 * injected before each write (and each channel send) of the paid and the reversal effects in
 * turn, then the re-drive runs (itself crashing once at the same point), and the aggregates,
 * the goal and the recent list must equal what the paid donations and the ledger say.
 */

class Crash extends Error {}

let broker: ChannelBroker;
let svc: any;
let ledgerSvc: any;
let statsSvc: any;
let step = 0;
let crashAt = Number.POSITIVE_INFINITY;
let seq = 0;
const OWNER = "streamer-crash";

function tick() {
	if (++step === crashAt) throw new Crash(`crash before step ${step}`);
}

/** Every write of the service's collections and every channel send counts as one step. */
function instrument() {
	const cols = [svc.store, ledgerSvc.store, statsSvc.store, statsSvc.stores.goals];
	for (const col of cols) {
		for (const m of ["insert", "updateMany", "removeMany", "upsert"]) {
			const original = col[m].bind(col);
			col[m] = async (...args: unknown[]) => {
				tick();
				return original(...args);
			};
		}
	}
	const send = broker.sendToChannel.bind(broker);
	broker.sendToChannel = async (...args: Parameters<ChannelBroker["sendToChannel"]>) => {
		tick();
		return send(...args);
	};
}

async function newPending(donor: string) {
	const id = `cd${String(++seq).padStart(4, "0")}`;
	const now = new Date().toISOString();
	crashAt = Number.POSITIVE_INFINITY;
	await svc.store.insert({
		_id: id,
		recipientId: OWNER,
		recipientUsername: OWNER,
		donorId: null,
		donorName: donor,
		hideName: false,
		message: `m${seq}`,
		publicMessage: `m${seq}`,
		mediaUrl: null,
		mediaSeconds: null,
		amount: 1_000_00 * (1 + (seq % 5)),
		currency: "IDR",
		provider: "sandbox",
		paymentId: `pay-${id}`,
		status: "pending",
		createdAt: now,
		paidAt: null,
		statusAt: now,
		effects: {},
	});
	return id;
}

/** Runs one status change with a crash before step `at`; true when it crashed. */
async function crashing(at: number, run: () => Promise<unknown>): Promise<boolean> {
	step = 0;
	crashAt = at;
	try {
		await run();
		return false;
	} catch (err) {
		if (!(err instanceof Crash)) throw err;
		return true;
	} finally {
		crashAt = Number.POSITIVE_INFINITY;
	}
}

/**
 * What follows the restart: the re-drive (crashing once more at the same point), then the
 * channel delivering the unacknowledged message again, then the re-drive to the end.
 */
async function recover(at: number, id: string, status: string) {
	await crashing(at, () => svc.redrive());
	await svc.applyPaymentStatus(id, status, `pay-${id}`);
	for (let i = 0; i < 3 && (await svc.store.count({ effectsDue: true })) > 0; i++) await svc.redrive();
	expect(await svc.store.count({ effectsDue: true })).toBe(0);
}

const sum = (rows: { amount: number }[]) => rows.reduce((n, r) => n + r.amount, 0);

/** stats == ledger == paid donations, in every aggregate, with nothing left half-done. */
async function expectConverged() {
	const paid = await svc.store.find({ query: { recipientId: OWNER, status: "paid" } });
	const ledger = await ledgerSvc.store.find({ query: { userId: OWNER } });
	const credits = ledger.filter((e: any) => e.kind === "credit").length;
	const debits = ledger.filter((e: any) => e.kind === "debit").length;
	expect(credits - debits).toBe(paid.length);
	expect(sum(ledger.map((e: any) => ({ amount: e.gross })))).toBe(sum(paid));

	const stats = await statsSvc.computeStats(OWNER, "all");
	const total = stats.totals.find((t: any) => t.currency === "IDR") ?? { count: 0, amount: 0 };
	expect({ count: total.count, amount: total.amount }).toEqual({ count: paid.length, amount: sum(paid) });
	const agg = statsSvc.store;
	for (const kind of ["day", "donor", "donorday"]) {
		const rows = await agg.find({ query: { owner: OWNER, kind } });
		expect({ kind, count: rows.reduce((n: number, r: any) => n + r.count, 0), amount: sum(rows) }).toEqual({ kind, count: paid.length, amount: sum(paid) });
	}
	const recent = ((await agg.findById(`recent:${OWNER}`))?.items ?? []).map((i: any) => i.id);
	expect(new Set(recent).size).toBe(recent.length);
	const paidIds = new Set(paid.map((d: any) => d._id));
	expect(recent.filter((id: string) => !paidIds.has(id))).toEqual([]);
	const goal = await statsSvc.stores.goals.findById(OWNER);
	expect(goal.current).toBe(sum(paid));
	// No donation's markers are left behind.
	for (const doc of [...(await agg.find({ query: { owner: OWNER } })), goal]) {
		expect({ id: doc._id, applied: Object.keys(doc.applied ?? {}), reverted: Object.keys(doc.reverted ?? {}) }).toEqual({
			id: doc._id,
			applied: [],
			reverted: [],
		});
	}
}

beforeAll(async () => {
	broker = channelBroker();
	broker.createService({ name: "users", actions: { get: () => null } } as ServiceSchema);
	svc = broker.createService(donations);
	ledgerSvc = broker.createService(ledgerService);
	statsSvc = broker.createService(statsService);
	await broker.start();
	// The crashed holder's lease counts as expired at once (the sweep interval has passed).
	svc.aggregationLeaseMs = 0;
	await statsSvc.stores.goals.insert({
		_id: OWNER,
		goalId: "g1",
		title: "Mic",
		target: 1e9,
		currency: "IDR",
		current: 0,
		startedAt: "2000-01-01T00:00:00.000Z",
		updatedAt: "2000-01-01T00:00:00.000Z",
	});
	instrument();
});
afterAll(() => broker.stop());

describe("donation aggregates after a crash at every step", () => {
	it("paid effects: stats, per-donor aggregates, recent list and goal equal the ledger whatever the crash point", async () => {
		// A run without a crash counts the steps.
		const clean = await newPending("Budi");
		expect(await crashing(Number.POSITIVE_INFINITY, () => svc.applyPaymentStatus(clean, "paid", `pay-${clean}`))).toBe(false);
		const steps = step;
		expect(steps).toBeGreaterThan(8);
		await expectConverged();
		for (let at = 1; at <= steps; at++) {
			const id = await newPending(at % 2 ? "Budi" : "Sari");
			expect(await crashing(at, () => svc.applyPaymentStatus(id, "paid", `pay-${id}`)), `crash before step ${at}`).toBe(true);
			await recover(at, id, "paid");
			expect((await svc.store.findById(id)).status).toBe("paid");
			await expectConverged();
		}
	});

	it("reversal effects: a refund crashing at every step leaves the stats equal to the ledger", async () => {
		const clean = await newPending("Budi");
		await svc.applyPaymentStatus(clean, "paid", `pay-${clean}`);
		step = 0;
		await svc.applyPaymentStatus(clean, "refunded", `pay-${clean}`);
		const steps = step;
		expect(steps).toBeGreaterThan(4);
		await expectConverged();
		for (let at = 1; at <= steps; at++) {
			const id = await newPending("Sari");
			await svc.applyPaymentStatus(id, "paid", `pay-${id}`);
			expect(await crashing(at, () => svc.applyPaymentStatus(id, "refunded", `pay-${id}`)), `crash before step ${at}`).toBe(true);
			await recover(at, id, "refunded");
			expect((await svc.store.findById(id)).status).toBe("refunded");
			await expectConverged();
		}
	});

	it("a refund arriving while the paid effects crashed half-way is counted in and out once", async () => {
		for (let at = 2; at <= 8; at++) {
			const id = await newPending("Budi");
			expect(await crashing(at, () => svc.applyPaymentStatus(id, "paid", `pay-${id}`))).toBe(true);
			await svc.applyPaymentStatus(id, "refunded", `pay-${id}`);
			await recover(Number.POSITIVE_INFINITY, id, "refunded");
			await expectConverged();
		}
	});
});
