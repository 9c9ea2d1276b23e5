import { describe, expect, it } from "vitest";
import { olderGeneration, paidUpdate, reinstatementUpdate, reversalUpdate, unfinishedQuery } from "../../../../../lib/domain/donations/transitions";

describe("donation status transitions", () => {
	it("paid sets the mark and the aggregation lease in the same write (and the payment id when known)", () => {
		expect(paidUpdate("T", 99, "p1")).toEqual({
			$set: { status: "paid", paidAt: "T", statusAt: "T", "effects.aggregationLease": 99, effectsDue: true, paymentId: "p1" },
		});
		expect(paidUpdate("T", 99).$set).not.toHaveProperty("paymentId");
	});

	it("a reversal takes the de-aggregation lease; a reinstatement starts the effects over", () => {
		expect(reversalUpdate("refunded", "T", 5)).toEqual({ $set: { status: "refunded", statusAt: "T", "effects.deaggregationLease": 5, effectsDue: true } });
		expect(reinstatementUpdate(2, "T", 5).$set).toMatchObject({
			status: "paid",
			reinstatements: 2,
			"effects.aggregated": false,
			"effects.deaggregated": false,
			"effects.debited": false,
			"effects.reversalAnnounced": false,
			"effects.aggregationLease": 5,
			effectsDue: true,
		});
		expect(olderGeneration(2)).toEqual({ $or: [{ reinstatements: { $lt: 2 } }, { reinstatements: { $exists: false } }] });
	});

	it("the sweep follows the mark; the start-up scan also finds rows stored before it", () => {
		expect(unfinishedQuery(false)).toEqual({ effectsDue: true });
		expect((unfinishedQuery(true).$or as unknown[]).length).toBe(3);
	});
});
