import { describe, expect, it } from "vitest";
import { canMove, isFinal, PAYOUT_STATUSES, reverses, sourcesOf } from "../../../../../lib/domain/payouts/state";

describe("payout state machine", () => {
	it("follows the contract's moves and no others", () => {
		const moves = PAYOUT_STATUSES.flatMap((from) => PAYOUT_STATUSES.filter((to) => canMove(from, to)).map((to) => `${from}→${to}`));
		expect(moves.sort()).toEqual(
			[
				"requested→approved",
				"requested→cancelled",
				"requested→rejected",
				"approved→processing",
				"approved→failed",
				"processing→paid",
				"processing→failed",
			].sort(),
		);
	});

	it("final statuses go nowhere; cancel and reject come only from requested", () => {
		for (const s of ["paid", "failed", "cancelled", "rejected"] as const) expect(isFinal(s)).toBe(true);
		expect(sourcesOf("cancelled")).toEqual(["requested"]);
		expect(sourcesOf("rejected")).toEqual(["requested"]);
		expect(sourcesOf("failed")).toEqual(["approved", "processing"]);
		expect(sourcesOf("paid")).toEqual(["processing"]);
	});

	it("gives the money back for cancelled, rejected and failed only", () => {
		expect(PAYOUT_STATUSES.filter(reverses).sort()).toEqual(["cancelled", "failed", "rejected"]);
	});
});
