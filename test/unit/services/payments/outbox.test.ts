import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import payments from "../../../../services/payments/payments.service";
import type { PaymentDoc, StatusChangedMessage } from "../../../../lib/domain/payments/docs";
import { newId } from "../../../../lib/tools/ids";
import { waitFor } from "../../../support/harness";
import { channelBroker, type ChannelBroker } from "../../../support/unit-broker";

/**
 * The payments outbox mark across an upgrade: a payment stored by the previous version with its
 * notification unsent (`notifyPending: true`) is adopted as `effectsDue` on start and its
 * `payments.statusChanged` is sent then, once; the mark is cleared after the send.
 */
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "payments-outbox-"));
const saved = { DB_ADAPTER: process.env.DB_ADAPTER, DATA_DIR: process.env.DATA_DIR, PAYMENT_SWEEP_SEC: process.env.PAYMENT_SWEEP_SEC };
process.env.DB_ADAPTER = "nedb";
process.env.DATA_DIR = dataDir;
process.env.PAYMENT_SWEEP_SEC = "3600";

type PaymentsService = { store: { insert(d: unknown): Promise<unknown>; findById(id: string): Promise<Record<string, unknown> | null> } };

let broker: ChannelBroker | null = null;
afterAll(async () => {
	await broker?.stop();
	for (const [k, v] of Object.entries(saved)) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
	fs.rmSync(dataDir, { recursive: true, force: true });
});

function legacyRow(id: string): Omit<PaymentDoc, "effectsDue"> & { notifyPending: boolean } {
	const at = new Date(Date.now() - 60_000).toISOString();
	return {
		_id: id,
		donationId: `d-${id}`,
		provider: "sandbox",
		status: "paid",
		amount: 500,
		currency: "USD",
		method: null,
		action: null,
		providerRef: null,
		providerRefs: [],
		createdAt: at,
		updatedAt: at,
		expiresAt: at,
		statusAt: at,
		previousStatus: "pending",
		paidAt: at,
		notifyPending: true,
		notifiedStatus: null,
		refundedAmount: 0,
		rev: 1,
		reinstatements: 0,
	};
}

describe("payments outbox mark", () => {
	it("adopts a row stored under notifyPending and sends its status once on start", async () => {
		const id = newId();
		const first = channelBroker();
		const svc1 = first.createService(payments as ServiceSchema) as unknown as PaymentsService;
		await first.start();
		await svc1.store.insert(legacyRow(id));
		await first.stop();

		// What the service queues (the Fake channel adapter drops what is sent during $broker.started, before its subscribers listen).
		const received: StatusChangedMessage[] = [];
		broker = channelBroker();
		const send = broker.sendToChannel.bind(broker);
		broker.sendToChannel = async (name: string, payload: unknown, opts?: unknown) => {
			if (name === "payments.statusChanged") received.push(payload as StatusChangedMessage);
			return send(name, payload, opts);
		};
		const svc = broker.createService(payments as ServiceSchema) as unknown as PaymentsService;
		await broker.start();

		await waitFor(async () => received.length > 0 && !(await svc.store.findById(id))?.effectsDue, 5_000);
		expect(received).toEqual([expect.objectContaining({ paymentId: id, donationId: `d-${id}`, status: "paid", previousStatus: "pending", rev: 1 })]);
		const row = await svc.store.findById(id);
		expect(row).toMatchObject({ status: "paid", notifiedStatus: "paid" });
		expect(row).not.toHaveProperty("notifyPending");
		expect(row).not.toHaveProperty("effectsDue");
	});
});
