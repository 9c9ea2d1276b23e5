import { newId, randomId } from "../../tools/ids";
import { moderate } from "../moderation";
import { canonicalYouTubeUrl } from "../youtube";
import { truncateUnits } from "../text";
import { blockedTermsOf, withDefaults } from "../user-settings";
import { stripLinks } from "../alerts/speech";
import { mediaSeconds, type DonationRequest, type Recipient } from "./rules";
import type { DonationDoc } from "./types";

/** The signed-in donor, when there is one. */
export interface Donor {
	id: string;
	username: string;
	displayName?: string;
}

/**
 * A new pending donation for an accepted request (see donationProblems): the public message and
 * donor name masked with the streamer's blocked terms, the media link canonical, the seconds it
 * pays for, and a payment id chosen here so the donation is stored with it in one write.
 */
export function newDonation(p: DonationRequest, recipient: Recipient, donor: Donor | null | undefined, now = new Date().toISOString()): DonationDoc {
	const settings = withDefaults(recipient.settings);
	const message = (p.message ?? "").trim();
	const donorName = p.donorName?.trim() || donor?.displayName || donor?.username || "";
	return {
		_id: newId(),
		recipientId: recipient.id,
		recipientUsername: recipient.username,
		donorId: donor?.id ?? null,
		donorName,
		hideName: !!p.hideName,
		message,
		publicMessage: moderate(settings.moderation.linkAction === "strip" ? stripLinks(message) : message, blockedTermsOf(settings)).masked,
		publicDonorName: moderate(donorName, blockedTermsOf(settings)).masked,
		mediaUrl: p.mediaUrl ? canonicalYouTubeUrl(p.mediaUrl) : null,
		mediaSeconds: p.mediaUrl ? mediaSeconds(p.amount, settings) : null,
		amount: p.amount,
		currency: p.currency,
		provider: p.provider,
		paymentId: randomId(),
		status: "pending",
		createdAt: now,
		paidAt: null,
		statusAt: now,
		effects: {},
	};
}

/** What payments.create is asked to open for a new donation. */
export function paymentRequest(doc: DonationDoc, p: DonationRequest) {
	return {
		paymentId: doc.paymentId,
		donationId: doc._id,
		amount: doc.amount,
		currency: doc.currency,
		provider: doc.provider,
		method: p.method,
		bank: p.bank,
		// Providers count UTF-16 units (payments.create takes 100): 50 flags are 200.
		donorName: truncateUnits(doc.donorName, 100),
		email: p.email,
		description: `Donation to ${doc.recipientUsername}`,
	};
}
