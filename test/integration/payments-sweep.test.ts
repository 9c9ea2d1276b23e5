import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import { newId } from "../../lib/tools/ids";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import { startFakeMidtrans, type FakeMidtrans, providerEnv } from "../support/fake-providers";

/**
 * The expiry sweep with its timer out of the way (PAYMENT_SWEEP_SEC=3600), driven through
 * payments.expireStale with a small page size: Midtrans answering HTTP 404 for orders it never
 * saw, and a status check that keeps failing for the oldest payments, must not stop the sweep.
 */

let h: Harness;
let midtrans: FakeMidtrans;
const messages: any[] = [];

beforeAll(async () => {
	midtrans = await startFakeMidtrans();
	h = await startHarness({
		services: ["payments"],
		extra: [
			{
				name: "donations",
				channels: { "payments.statusChanged": { group: "donations", handler: (m: any) => void messages.push(m) } },
			} as Partial<ServiceSchema>,
		],
		env: { PAYMENT_TTL_SEC: "1", PAYMENT_SWEEP_SEC: "3600", PAYMENT_EXPIRY_GRACE_SEC: "0", ...providerEnv({ midtrans }) },
	});
});
afterAll(async () => {
	await h?.stop();
	await midtrans?.close();
});

const create = (provider: string) =>
	h.broker.call<any, any>(
		"payments.create",
		provider === "midtrans"
			? { donationId: newId(), amount: 1_000_000, currency: "IDR", provider }
			: { donationId: newId(), amount: 500, currency: "USD", provider },
	);
const statusOf = async (id: string) => (await client(h.url)("GET", `/api/payments/${id}`)).body.status;

describe("expiry sweep", () => {
	it("expires orders Midtrans does not know (404) and skips past payments it cannot decide yet", async () => {
		// The oldest ones: Midtrans cannot answer for them right now.
		const stuck = [await create("midtrans"), await create("midtrans"), await create("midtrans")];
		for (const p of stuck) midtrans.failing.add(p.id);
		// Never opened by the payer: Midtrans answers HTTP 404 for their order ids.
		const unknown = [await create("midtrans"), await create("midtrans"), await create("midtrans")];
		const sandbox = [await create("sandbox"), await create("sandbox")];
		const all = [...stuck, ...unknown, ...sandbox];
		await waitFor(() => all.every((p) => Date.parse(p.expiresAt) < Date.now()), 5000, "all past expiry");

		const first = await h.broker.call<any, any>("payments.expireStale", { batch: 2 });
		expect(first.expired).toBe(5);
		for (const p of [...unknown, ...sandbox]) expect(await statusOf(p.id)).toBe("expired");
		for (const p of stuck) expect(await statusOf(p.id)).toBe("pending");
		expect(midtrans.requests.filter((r) => unknown.some((p) => r.path === `/v2/${p.id}/status`))).toHaveLength(3);

		// Midtrans answers again: the next sweep decides them.
		for (const p of stuck) midtrans.failing.delete(p.id);
		expect((await h.broker.call<any, any>("payments.expireStale", { batch: 2 })).expired).toBe(3);
		await waitFor(() => all.every((p) => messages.some((m) => m.paymentId === p.id && m.status === "expired")), 5000, "every expiry announced");
	});
});
