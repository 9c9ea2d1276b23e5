import { describe, expect, it } from "vitest";
import { dayOf, donationProblems, donorKey, mediaSeconds, periodDays, type Recipient } from "../../../../../lib/domain/donations/rules";
import { deepMerge, defaultSettings } from "../../../../../lib/domain/user-settings";

const recipient = (patch: object = {}): Recipient => ({
	id: "u1",
	username: "streamer",
	settings: deepMerge(defaultSettings(), { donations: { enabled: true, minAmount: 1_000_00, currency: "IDR" }, ...patch }),
});
const base = { to: "streamer", amount: 2_000_00, currency: "IDR", provider: "sandbox", donorName: "Budi" };
const types = (p: ReturnType<typeof donationProblems>) => p.map((x) => x.type);

describe("donationProblems", () => {
	it("accepts a valid donation", () => {
		expect(donationProblems(base, recipient(), false)).toEqual([]);
	});
	it("names each reason a donation is refused", () => {
		expect(types(donationProblems(base, null, false))).toEqual(["RECIPIENT_NOT_FOUND"]);
		expect(types(donationProblems(base, recipient({ donations: { enabled: false } }), false))).toEqual(["DONATIONS_DISABLED"]);
		expect(types(donationProblems({ ...base, currency: "USD" }, recipient(), false))).toEqual(["CURRENCY_MISMATCH"]);
		expect(types(donationProblems({ ...base, amount: 500_00 }, recipient(), false))).toEqual(["AMOUNT_TOO_LOW"]);
		expect(types(donationProblems({ ...base, amount: -5 }, recipient(), false))).toEqual(["INVALID_AMOUNT"]);
		expect(types(donationProblems({ ...base, donorName: " " }, recipient(), false))).toEqual(["DONOR_NAME_REQUIRED"]);
		expect(types(donationProblems({ ...base, donorName: undefined }, recipient(), true))).toEqual([]);
		expect(types(donationProblems({ ...base, mediaUrl: "https://youtu.be/x" }, recipient(), false))).toEqual(["MEDIA_SHARE_DISABLED"]);
	});
	it("prices media share per second", () => {
		const r = recipient({ mediaShare: { enabled: true, pricePerSecond: 100_00, maxSeconds: 30 } });
		expect(types(donationProblems({ ...base, mediaUrl: "ftp://x" }, r, false))).toEqual(["INVALID_URL"]);
		for (const mediaUrl of [
			"https://www.youtube.com@evil.com/watch?v=dQw4w9WgXcQ",
			"https://youtube.com.evil.com/watch?v=dQw4w9WgXcQ",
			"https://example.com/video.mp4",
		]) {
			expect(types(donationProblems({ ...base, mediaUrl }, r, false)), mediaUrl).toEqual(["INVALID_URL"]);
		}
		expect(types(donationProblems({ ...base, mediaUrl: "https://youtu.be/dQw4w9WgXcQ" }, r, false))).toEqual([]);
		expect(mediaSeconds(2_000_00, r.settings)).toBe(20);
		expect(mediaSeconds(9_000_00, r.settings)).toBe(30);
		expect(
			types(
				donationProblems(
					{ ...base, amount: 1_000_00, mediaUrl: "https://youtu.be/dQw4w9WgXcQ" },
					recipient({ mediaShare: { enabled: true, pricePerSecond: 2_000_00 } }),
					false,
				),
			),
		).toEqual(["AMOUNT_TOO_LOW_FOR_MEDIA"]);
	});
});

describe("helpers", () => {
	it("groups donors by account, by name, and keeps hidden ones apart", () => {
		expect(donorKey({ _id: "d1", donorId: "u9", donorName: "X", hideName: false })).toEqual({ key: "user:u9", name: "X" });
		expect(donorKey({ _id: "d1", donorName: " Budi ", hideName: false })).toEqual({ key: "name:budi", name: "Budi" });
		expect(donorKey({ _id: "d1", donorName: "Budi", hideName: true })).toEqual({ key: "hidden:d1", name: "Anonymous" });
	});
	it("lists the day buckets of a period", () => {
		const now = Date.parse("2026-03-10T12:00:00Z");
		expect(periodDays("7d", now)).toEqual(["2026-03-10", "2026-03-09", "2026-03-08", "2026-03-07", "2026-03-06", "2026-03-05", "2026-03-04"]);
		expect(periodDays("30d", now)).toHaveLength(30);
		expect(periodDays("all", now)).toBeNull();
		expect(dayOf("2026-03-10T23:59:59Z")).toBe("2026-03-10");
	});
});
