import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import { newId } from "../../lib/tools/ids";
import { client, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * A 202 from the sandbox's /complete is a promise that its webhook will be delivered. The
 * delivery is stored (NeDB files here, as in production) before the answer, so a node that stops
 * before delivering leaves it to the next start, which delivers it and the payment settles.
 */

const SECRET = "sandbox-secret-outbox";
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-sandbox-outbox-"));
const seen: any[] = [];
const donationsStub = {
	name: "donations",
	channels: { "payments.statusChanged": { group: "donations", handler: (m: any) => void seen.push(m) } },
} as Partial<ServiceSchema>;
let h: Harness | undefined;

afterAll(async () => {
	await h?.stop();
	fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("sandbox webhook delivery survives the node stopping", () => {
	it("a 202 whose webhook was not delivered before the stop settles after the next start", async () => {
		const env = { DB_ADAPTER: "nedb", DATA_DIR: dataDir, SANDBOX_WEBHOOK_SECRET: SECRET, PAYMENT_SWEEP_SEC: "1" };
		// First run: the webhook endpoint cannot be reached, so the delivery is still retrying when the node stops.
		const first = await startHarness({
			services: ["payments"],
			extra: [donationsStub],
			env: { ...env, SANDBOX_WEBHOOK_URL: "http://127.0.0.1:1/api/payments/webhooks/sandbox" },
		});
		h = first;
		const p: any = await first.broker.call("payments.create", { donationId: newId(), amount: 500, currency: "USD", provider: "sandbox" });
		const res = await client(first.url)("POST", `/api/payments/sandbox/${p.id}/complete`, { outcome: "settlement" });
		expect(res.status).toBe(202);
		await first.stop();
		h = undefined;
		expect(seen.some((m) => m.paymentId === p.id)).toBe(false);

		// Second run on the same data: the stored delivery is re-driven and the payment settles.
		h = await startHarness({ services: ["payments"], extra: [donationsStub], env: { ...env, SANDBOX_WEBHOOK_URL: undefined } });
		await waitFor(() => seen.some((m) => m.paymentId === p.id && m.status === "paid"), 15_000, "paid after restart");
		expect((await client(h.url)("GET", `/api/payments/${p.id}`)).body.status).toBe("paid");
		expect(seen.filter((m) => m.paymentId === p.id && m.status === "paid")).toHaveLength(1);
		await waitFor(
			async () => (await (h!.broker.getLocalService("payments") as any).stores.sandbox_deliveries.count({})) === 0,
			5000,
			"delivery row removed",
		);
	});
});
