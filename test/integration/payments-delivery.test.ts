import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import { newId } from "../../lib/tools/ids";
import { client, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * In a cluster the payments node may not reach the gateway at the address the request came in on
 * (SANDBOX_WEBHOOK_URL here points at a closed port): the sandbox retries the POST with backoff,
 * then verifies and applies its signed webhook on the payments node itself.
 */

const SECRET = "sandbox-secret-delivery";

describe("sandbox delivery when the gateway address is unreachable from the payments node", () => {
	let h2: Harness;
	const seen: any[] = [];
	beforeAll(async () => {
		h2 = await startHarness({
			services: ["payments"],
			extra: [
				{
					name: "donations",
					channels: { "payments.statusChanged": { group: "donations", handler: (m: any) => void seen.push(m) } },
				} as Partial<ServiceSchema>,
			],
			env: { SANDBOX_WEBHOOK_SECRET: SECRET, SANDBOX_WEBHOOK_URL: "http://127.0.0.1:1/api/payments/webhooks/sandbox" },
		});
	});
	afterAll(() => h2?.stop());

	it("retries, then verifies and applies the signed webhook on the payments node", async () => {
		const p: any = await h2.broker.call("payments.create", { donationId: newId(), amount: 500, currency: "USD", provider: "sandbox" });
		const res = await client(h2.url)("POST", `/api/payments/sandbox/${p.id}/complete`, { outcome: "settlement" });
		expect(res.status).toBe(202);
		await waitFor(() => seen.some((m) => m.paymentId === p.id && m.status === "paid"), 10_000, "paid after fallback");
		expect((await client(h2.url)("GET", `/api/payments/${p.id}`)).body.status).toBe("paid");
	});
});
