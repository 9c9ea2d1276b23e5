import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import donations from "../../../../services/donations/donations.service";
import ledgerService from "../../../../services/donations/ledger.service";
import statsService from "../../../../services/donations/stats.service";
import { waitFor } from "../../../support/harness";
import { channelBroker, type ChannelBroker } from "../../../support/unit-broker";

/**
 * The effects of a paid donation (aggregates, ledger credit, `donations.paid`) survive a crash at
 * any point after the status change: what is missing is re-driven, and nothing happens twice.
 */
const announced: any[] = [];
let broker: ChannelBroker;
let svc: any;
let ledgerSvc: any;
let statsSvc: any;

const usersStub = { name: "users", actions: { get: () => null } };
const probe = { name: "probe", channels: { "donations.paid": { group: "probe", handler: (p: any) => void announced.push(p.donation.id) } } };

function donation(id: string, extra: Record<string, unknown>) {
	const now = new Date().toISOString();
	return {
		_id: id,
		recipientId: "streamer1",
		recipientUsername: "streamer1",
		donorId: null,
		donorName: "Budi",
		hideName: false,
		message: "hi",
		publicMessage: "hi",
		mediaUrl: null,
		mediaSeconds: null,
		amount: 5_000_00,
		currency: "IDR",
		provider: "sandbox",
		paymentId: `pay-${id}`,
		createdAt: now,
		paidAt: now,
		statusAt: now,
		...extra,
	};
}

async function effectsOf(id: string) {
	const ledger = await ledgerSvc.store.find({ query: { donationId: id } });
	return { ledger: ledger.length, doc: await svc.store.findById(id) };
}

beforeAll(async () => {
	broker = channelBroker();
	broker.createService(usersStub as ServiceSchema);
	broker.createService(probe as any);
	svc = broker.createService(donations);
	ledgerSvc = broker.createService(ledgerService);
	statsSvc = broker.createService(statsService);
	await broker.start();
	// The start-up scan finishes before the tests store their donations (it would re-drive them too).
	await svc.startupRedrive;
});
afterAll(() => broker.stop());

describe("donation effects after a crash", () => {
	it("finishes a donation whose node died right after the status change, counting it once", async () => {
		// Paid and recorded as aggregated (only written once the aggregates are updated), nothing else done.
		await svc.store.insert(donation("d1", { status: "paid", effects: { aggregated: true }, effectsDue: true }));
		await svc.redrive();
		await waitFor(() => announced.includes("d1"), 2000, "announcement");
		const after = await effectsOf("d1");
		expect(after.ledger).toBe(1);
		expect(after.doc.effects).toMatchObject({ aggregated: true, credited: true, announced: true });
		expect(after.doc.effectsDue).toBeUndefined();
		// An aggregation recorded as done is not repeated by the re-drive.
		expect(await statsSvc.store.count({ owner: "streamer1" })).toBe(0);

		// Another sweep, and a redelivered payment message: nothing more.
		await svc.redrive();
		await svc.applyPaymentStatus("d1", "paid", "pay-d1");
		await new Promise((r) => setTimeout(r, 50));
		expect(announced.filter((x) => x === "d1")).toHaveLength(1);
		expect((await effectsOf("d1")).ledger).toBe(1);
	});

	it("finishes a paid donation stored without the mark (older data) on the start-up scan", async () => {
		await svc.store.insert(donation("d2", { status: "paid", effects: {} }));
		expect(await svc.redrive()).toBe(0); // the timer's sweep only follows the mark
		await svc.redrive(true);
		await waitFor(() => announced.includes("d2"), 2000, "announcement");
		const after = await effectsOf("d2");
		expect(after.ledger).toBe(1);
		expect(after.doc.effects).toMatchObject({ aggregated: true, credited: true, announced: true });
		const total = await statsSvc.store.findById("total:streamer1:IDR");
		expect(total).toMatchObject({ amount: 5_000_00, count: 1 });
	});

	it("pays, credits and counts a pending donation once, whatever the number of deliveries", async () => {
		await svc.store.insert(donation("d3", { status: "pending", paidAt: null, effects: {} }));
		await Promise.all([svc.applyPaymentStatus("d3", "paid", "pay-d3"), svc.applyPaymentStatus("d3", "paid", "pay-d3")]);
		// The announcement is at least once (its consumers dedupe by donation id).
		await waitFor(() => announced.includes("d3"), 2000, "announcement");
		const after = await effectsOf("d3");
		expect(after.ledger).toBe(1);
		expect(after.doc.effectsDue).toBeUndefined();
		expect(await statsSvc.store.findById("total:streamer1:IDR")).toMatchObject({ amount: 10_000_00, count: 2 });
	});

	it("a status for a donation not stored yet throws, so the channel delivers it again", async () => {
		await expect(svc.applyPaymentStatus("not-yet", "paid", "pay-x")).rejects.toThrow("not stored");
		await expect(svc.applyPaymentStatus("not-yet", "expired", "pay-x")).rejects.toThrow("not stored");
		await svc.store.insert(donation("not-yet", { recipientId: "streamer2", status: "pending", paidAt: null, effects: {} }));
		await svc.applyPaymentStatus("not-yet", "paid", "pay-x");
		expect((await effectsOf("not-yet")).doc.status).toBe("paid");
	});

	it("keeps the mark when a refund lands while the paid effects are being applied", async () => {
		await svc.store.insert(donation("d4", { status: "pending", paidAt: null, effects: {} }));
		await svc.applyPaymentStatus("d4", "paid", "pay-d4");
		await svc.applyPaymentStatus("d4", "refunded", "pay-d4");
		const after = await effectsOf("d4");
		expect(after.ledger).toBe(2); // credit and debit
		expect(after.doc.effects).toMatchObject({ credited: true, announced: true, debited: true, reversalAnnounced: true });
		expect(after.doc.effectsDue).toBeUndefined();
		expect(await statsSvc.store.findById("total:streamer1:IDR")).toMatchObject({ amount: 10_000_00, count: 2 });
	});
});
