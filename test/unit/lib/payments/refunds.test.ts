import { describe, expect, it } from "vitest";
import { planRefund } from "../../../../lib/payments/refunds";
import { SandboxProvider } from "../../../../lib/payments/sandbox";

const paid = (refundedAmount?: number) => ({ _id: "pay1", amount: 10_000, status: "paid" as const, refundedAmount });

describe("planRefund", () => {
	it("refunds what remains by default, and any amount from 1 to what remains", () => {
		expect(planRefund(paid()).amount).toBe(10_000);
		expect(planRefund(paid(2_500)).amount).toBe(7_500);
		expect(planRefund(paid(2_500), 1).amount).toBe(1);
		expect(planRefund(paid(2_500), 7_500).amount).toBe(7_500);
	});

	it("refuses more than remains, zero, negative and fractional amounts with REFUND_TOO_LARGE", () => {
		for (const bad of [7_501, 0, -5, 1.5]) {
			expect(() => planRefund(paid(2_500), bad), String(bad)).toThrow(expect.objectContaining({ code: 422, type: "REFUND_TOO_LARGE" }));
		}
		expect(() => planRefund(paid(10_000))).toThrow(expect.objectContaining({ type: "REFUND_TOO_LARGE" }));
	});

	it("keys a refund by the refunded total it starts from: a repeat is the same refund, the next one a new refund", () => {
		expect(planRefund(paid(), 3_000).key).toBe(planRefund(paid(), 3_000).key);
		expect(planRefund(paid(3_000), 3_000).key).not.toBe(planRefund(paid(), 3_000).key);
		expect(planRefund(paid(3_000)).key).toBe("refund-pay1-from-3000");
	});
});

describe("sandbox refund events", () => {
	const sandbox = new SandboxProvider({ webhookSecret: "s", publicUrl: "http://x" });
	it("carry the cumulative refunded total of a partial refund, none for a full one", () => {
		expect(sandbox.parseEvent({ event_id: "e1", payment_id: "p", status: "refund", refunded_total: 400 })).toMatchObject({
			status: "refunded",
			refundedTotal: 400,
		});
		expect(sandbox.parseEvent({ event_id: "e2", payment_id: "p", status: "refund" })).not.toHaveProperty("refundedTotal");
		expect(sandbox.parseEvent({ event_id: "e3", payment_id: "p", status: "settlement", refunded_total: 400 })).not.toHaveProperty("refundedTotal");
	});
});
