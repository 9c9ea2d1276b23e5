import { describe, expect, it } from "vitest";
import { newDonation, paymentRequest } from "../../../../../lib/domain/donations/create";
import { channelView, donationView } from "../../../../../lib/domain/donations/views";
import type { Recipient } from "../../../../../lib/domain/donations/rules";

const recipient = {
	id: "s1",
	username: "streamer",
	settings: { moderation: { blockedTerms: ["darn"] }, mediaShare: { enabled: true, pricePerSecond: 1000, maxSeconds: 60 } },
} as unknown as Recipient;

describe("a new donation", () => {
	it("is pending, masks blocked terms publicly, and names the signed-in donor when no name is given", () => {
		const d = newDonation(
			{ to: "streamer", amount: 5000, currency: "IDR", provider: "sandbox", message: " darn it " },
			recipient,
			{ id: "u1", username: "budi" },
			"T",
		);
		expect(d).toMatchObject({
			status: "pending",
			donorId: "u1",
			donorName: "budi",
			message: "darn it",
			createdAt: "T",
			statusAt: "T",
			paidAt: null,
			effects: {},
		});
		expect(d.publicMessage).not.toContain("darn");
		expect(d.paymentId).toBeTruthy();
		expect(donationView(d)).toMatchObject({ id: d._id, to: "streamer", message: d.publicMessage, refundedAmount: 0 });
		expect(channelView(d)).toMatchObject({ originalMessage: "darn it", donorDisplayName: "budi" });
	});

	it("prices media in seconds, and asks payments for the donation's payment", () => {
		const p = { to: "streamer", amount: 5000, currency: "IDR", provider: "sandbox", donorName: "Ann", mediaUrl: "https://youtu.be/dQw4w9WgXcQ" };
		const d = newDonation(p, recipient, null);
		expect(d.mediaSeconds).toBe(5);
		expect(d.mediaUrl).toContain("dQw4w9WgXcQ");
		expect(paymentRequest(d, p)).toMatchObject({
			paymentId: d.paymentId,
			donationId: d._id,
			amount: 5000,
			donorName: "Ann",
			description: "Donation to streamer",
		});
	});
});
