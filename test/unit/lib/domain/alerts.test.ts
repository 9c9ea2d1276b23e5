import { describe, expect, it } from "vitest";
import {
	ackTimeoutMs,
	buildPayload,
	decide,
	deliveredKind,
	heldView,
	marks,
	orderKey,
	ownerRange,
	queueKey,
	type AlertDoc,
	type PaidDonation,
} from "../../../../lib/domain/alerts";
import { deepMerge, defaultSettings } from "../../../../lib/domain/user-settings";

const donation: PaidDonation = {
	id: "d1",
	donorName: "Budi",
	amount: 5000_00,
	currency: "IDR",
	formattedAmount: "Rp 5.000",
	originalMessage: "semangat bang noob",
	message: "semangat bang ****",
	createdAt: "2026-01-01T00:00:00Z",
};
const settings = (patch: object) => deepMerge(defaultSettings(), patch);

describe("alert moderation", () => {
	it("masks blocked terms when the action is mask", () => {
		const d = decide(donation, settings({ moderation: { blockedTerms: ["noob"], blockedTermAction: "mask" } }));
		expect(d).toMatchObject({ status: "queued", message: "semangat bang ****", matchedTerms: ["noob"] });
	});
	it("holds the donation when the action is hold", () => {
		expect(decide(donation, settings({ moderation: { blockedTerms: ["noob"], blockedTermAction: "hold" } }))).toMatchObject({
			status: "held",
			heldReason: "BLOCKED_TERM",
		});
	});
	it("holds media share for approval when required, and passes clean text", () => {
		expect(decide({ ...donation, mediaUrl: "https://youtu.be/x" }, settings({ mediaShare: { enabled: true, requireApproval: true } }))).toMatchObject({
			status: "held",
			heldReason: "MEDIA_APPROVAL",
		});
		expect(decide({ ...donation, originalMessage: "halo" }, settings({}))).toMatchObject({ status: "queued", message: "halo", heldReason: null });
	});
});

describe("alert payload", () => {
	it("carries media seconds and text-to-speech per settings", () => {
		const s = settings({ mediaShare: { enabled: true, maxSeconds: 30 }, alerts: { tts: true, ttsMinAmount: 10_000_00, displaySeconds: 6 } });
		const p = buildPayload("a1", { ...donation, mediaUrl: "https://youtu.be/x", mediaSeconds: 12 }, "hi", s);
		expect(p).toMatchObject({
			id: "a1",
			donationId: "d1",
			type: "donation",
			mediaUrl: "https://youtu.be/x",
			mediaSeconds: 12,
			tts: false,
			displaySeconds: 6,
			message: "hi",
		});
		expect(ackTimeoutMs(p, 2000)).toBe(20_000);
	});
	it("orders alerts by payment time", () => {
		expect(orderKey("2026-01-01T00:00:01Z", "b") > orderKey("2026-01-01T00:00:00Z", "z")).toBe(true);
	});
});

describe("alert queue marks and views", () => {
	const alert = (patch: Partial<AlertDoc>): AlertDoc => ({
		_id: "a1",
		key: "donation:d1",
		userId: "s1",
		donationId: "d1",
		type: "donation",
		status: "queued",
		order: orderKey("2026-01-01T00:00:00Z", "a1"),
		payload: buildPayload("a1", donation, "semangat bang ****", settings({})),
		createdAt: "2026-01-01T00:00:00Z",
		...patch,
	});

	it("marks a queued alert with its queue key and a held one with its owner, nothing else", () => {
		expect(marks(alert({}))).toEqual({ queueKey: `s1:${alert({}).order}` });
		expect(marks(alert({ status: "held" }))).toEqual({ heldOf: "s1" });
		expect(marks(alert({ status: "done" }))).toEqual({});
	});

	it("an owner's range holds every queue key of that owner and none of another whose id extends it", () => {
		const range = ownerRange("s1");
		const inRange = (k: string) => k >= range.$gte && k < range.$lt;
		expect(inRange(queueKey(alert({})))).toBe(true);
		expect(inRange(queueKey(alert({ userId: "s10" })))).toBe(false);
		expect(inRange(queueKey(alert({ userId: "s" })))).toBe(false);
	});

	it("labels delivered alerts by kind", () => {
		expect(deliveredKind(alert({ type: "test", key: "test:a1" }))).toBe("test");
		expect(deliveredKind(alert({ key: "replay:d1:a1" }))).toBe("replay");
		expect(deliveredKind(alert({ payload: { ...alert({}).payload, mediaUrl: "https://youtu.be/x" } }))).toBe("mediashare");
		expect(deliveredKind(alert({}))).toBe("donation");
	});

	it("shows the streamer what the donor wrote, from alerts stored by any version", () => {
		expect(heldView(alert({ status: "held", originalMessage: "raw" })).originalMessage).toBe("raw");
		expect(heldView(alert({ status: "held", original: { originalMessage: "older raw" } })).originalMessage).toBe("older raw");
		expect(heldView(alert({ status: "held" }))).toMatchObject({ originalMessage: "semangat bang ****", originalDonorName: "Budi", heldReason: null });
	});
});

describe("links and the built-in word list", () => {
	const withLink: PaidDonation = { ...donation, originalMessage: "cek www.promo-judi.com sekarang", message: "cek www.promo-judi.com sekarang" };
	it("strips links from the alert's message, or holds the alert, per settings.moderation.linkAction", () => {
		expect(decide(withLink, settings({})).message).toBe("cek www.promo-judi.com sekarang");
		expect(decide(withLink, settings({ moderation: { linkAction: "strip" } }))).toMatchObject({ status: "queued", message: "cek sekarang" });
		expect(decide(withLink, settings({ moderation: { linkAction: "hold" } }))).toMatchObject({ status: "held", heldReason: "LINK" });
	});
	it("masks (or holds on) the built-in list only when the channel turns it on, in the name too", () => {
		const rude: PaidDonation = { ...donation, donorName: "Bangsat", donorDisplayName: "Bangsat", originalMessage: "dasar goblok", message: "dasar goblok" };
		expect(decide(rude, settings({})).message).toBe("dasar goblok");
		expect(decide(rude, settings({ moderation: { useDefaultList: true } })).message).toBe("dasar ******");
		expect(decide(rude, settings({ moderation: { useDefaultList: true, blockedTermAction: "hold" } }))).toMatchObject({
			status: "held",
			matchedTerms: expect.arrayContaining(["bangsat", "goblok"]),
		});
		expect(buildPayload("a1", rude, "x", settings({ moderation: { useDefaultList: true } }))).toMatchObject({
			donorName: "*******",
			title: "******* donated Rp 5.000",
		});
	});
});
