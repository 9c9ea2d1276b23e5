import { describe, expect, it } from "vitest";
import { ledgerCsv } from "../../../../../lib/domain/donations/ledger-csv";

describe("ledger CSV", () => {
	it("lists entries oldest first with signed amounts and the running balance per currency", () => {
		const csv = ledgerCsv([
			{
				_id: "e3",
				kind: "payout",
				currency: "IDR",
				amount: -60_000_00,
				gross: -60_000_00,
				fee: 0,
				createdAt: "2026-12-01T10:00:00.000Z",
				payoutId: "p1",
			},
			{
				_id: "e1",
				kind: "credit",
				currency: "IDR",
				amount: 95_000_00,
				gross: 100_000_00,
				fee: 5_000_00,
				createdAt: "2026-11-30T10:00:00.000Z",
				donationId: "d1",
			},
			{ _id: "e2", kind: "credit", currency: "USD", amount: 500, gross: 500, fee: 0, createdAt: "2026-11-30T11:00:00.000Z", donationId: "d2" },
		]);
		expect(csv.split("\r\n")).toEqual([
			"date,kind,currency,amount,gross,fee,balance,donation_id,payout_id,entry_id",
			"2026-11-30T10:00:00.000Z,credit,IDR,95000.00,100000.00,5000.00,95000.00,d1,,e1",
			"2026-11-30T11:00:00.000Z,credit,USD,5.00,5.00,0.00,5.00,d2,,e2",
			"2026-12-01T10:00:00.000Z,payout,IDR,-60000.00,-60000.00,0.00,35000.00,,p1,e3",
			"",
		]);
	});

	it("never lets a cell run as a spreadsheet formula", () => {
		const csv = ledgerCsv([{ _id: "=HYPERLINK(1)", kind: "credit", currency: "USD", amount: 1, gross: 1, fee: 0, createdAt: "2026-12-01T00:00:00.000Z" }]);
		expect(csv).toContain(`'=HYPERLINK(1)`);
	});
});
