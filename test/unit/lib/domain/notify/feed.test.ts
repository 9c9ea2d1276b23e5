import { describe, expect, it } from "vitest";
import { feedView, publicPayout } from "../../../../../lib/domain/notify/feed";

describe("feed views", () => {
	it("a socket sees the stable id, the type, the time and the data", () => {
		const doc = { _id: "01J", eventId: "evt_1", ownerId: "u1", type: "follow", at: 1, createdAt: "2026-01-01T00:00:00.000Z", data: { follower: null } };
		expect(feedView(doc)).toEqual({ id: "evt_1", type: "follow", createdAt: "2026-01-01T00:00:00.000Z", data: { follower: null } });
	});

	it("a payout without its account details", () => {
		expect(publicPayout({ id: "po", amount: 5, currency: "IDR", accountNumber: "123", holderName: "A", userId: "u1" })).toEqual({
			id: "po",
			amount: 5,
			currency: "IDR",
		});
	});
});
