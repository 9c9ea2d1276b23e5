import { describe, expect, it } from "vitest";
import {
	aggregateIds,
	aggregateMark,
	countedUpdates,
	recentItem,
	statsView,
	sumDonors,
	sumTotals,
	topRecipients,
} from "../../../../../lib/domain/donations/aggregates";
import type { AggregateDoc, DonationDoc } from "../../../../../lib/domain/donations/types";

const d = {
	_id: "d1",
	recipientId: "s1",
	recipientUsername: "streamer",
	donorId: null,
	donorName: "Budi ",
	publicDonorName: "B***",
	hideName: false,
	message: "raw",
	publicMessage: "masked",
	amount: 5000,
	currency: "IDR",
	paidAt: "2026-03-10T10:00:00.000Z",
	createdAt: "2026-03-10T09:59:00.000Z",
} as DonationDoc;

describe("donation aggregates (rules)", () => {
	it("names the documents a donation counts in, by channel, currency, day and donor", () => {
		expect(aggregateIds(d)).toEqual({
			total: "total:s1:IDR",
			day: "day:s1:IDR:2026-03-10",
			donor: "donor:s1:IDR:name:budi",
			donorday: "donorday:s1:IDR:2026-03-10:name:budi",
			recent: "recent:s1",
		});
		expect(aggregateMark(d, 1)).toBe("applied.d1");
		expect(aggregateMark(d, -1)).toBe("reverted.d1");
	});

	it("moves every counted document by the amount and one donation, in or out", () => {
		const ups = countedUpdates(d, -1);
		expect(ups.map((u) => u.query._id)).toEqual([
			"total:s1:IDR",
			"day:s1:IDR:2026-03-10",
			"donor:s1:IDR:name:budi",
			"donorday:s1:IDR:2026-03-10:name:budi",
		]);
		for (const u of ups) expect(u.update.$inc).toEqual({ amount: -5000, count: -1 });
		expect(ups[2].update.$set).toEqual({ name: "B***" });
	});

	it("lists a paid donation with its public name and message", () => {
		expect(recentItem(d)).toMatchObject({ id: "d1", donorName: "B***", message: "masked", paidAt: d.paidAt, amount: 5000 });
	});

	it("sums day rows per currency and donor rows per donor; shows counted totals and the top ten donors", () => {
		const rows = [
			{ currency: "IDR", amount: 100, count: 1, donor: "a", name: "A" },
			{ currency: "IDR", amount: 300, count: 2, donor: "b", name: "B" },
			{ currency: "IDR", amount: 50, count: 1, donor: "a", name: "A2" },
			{ currency: "USD", amount: 0, count: 0, donor: "a", name: "A" },
		] as AggregateDoc[];
		expect(sumTotals(rows)).toEqual([
			{ currency: "IDR", amount: 450, count: 4 },
			{ currency: "USD", amount: 0, count: 0 },
		]);
		const donors = sumDonors(rows);
		expect(donors.find((x) => x.currency === "IDR" && x.name === "A2")).toMatchObject({ amount: 150, count: 2 });
		const view = statsView(sumTotals(rows), donors);
		expect(view.totals.map((t) => t.currency)).toEqual(["IDR"]);
		expect(view.topDonors.map((x) => x.name)).toEqual(["B", "A2"]);
	});
});

describe("topRecipients (explore)", () => {
	const day = (owner: string, currency: string, count: number, amount: number): AggregateDoc => ({
		_id: `day:${owner}:${currency}:2026-01-01`,
		owner,
		kind: "day",
		currency,
		day: "2026-01-01",
		count,
		amount,
	});

	it("ranks channels by donations over every currency, net of refunds, with their totals", () => {
		const top = topRecipients(
			[day("a", "IDR", 2, 2_000_000), day("b", "IDR", 1, 9_000_000_00), day("a", "USD", 2, 1000), day("c", "IDR", 0, 0), day("b", "IDR", 1, 500)],
			10,
		);
		expect(top.map((t) => [t.owner, t.donations])).toEqual([
			["a", 4],
			["b", 2],
		]);
		expect(top[0].totals.map((t) => t.formattedAmount)).toEqual(["Rp 20.000", "$10.00"]);
		expect(topRecipients([day("a", "IDR", 1, 1), day("b", "IDR", 2, 1)], 1).map((t) => t.owner)).toEqual(["b"]);
	});
});
