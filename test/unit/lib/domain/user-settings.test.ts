import { describe, expect, it } from "vitest";
import { applySettingsPatch, blockedTermsOf, withDefaults } from "../../../../lib/domain/user-settings";
import { moderate } from "../../../../lib/domain/moderation";

describe("applySettingsPatch", () => {
	it("merges a patch into the stored settings, keeping what it does not name", () => {
		const stored = applySettingsPatch({}, { donations: { enabled: true, minAmount: 5000, currency: "IDR" } });
		const next = applySettingsPatch(stored, { alerts: { displaySeconds: 12, tts: true, ttsMinAmount: 0 } });
		expect(withDefaults(next).donations).toEqual({ enabled: true, minAmount: 5000, currency: "IDR" });
		expect(withDefaults(next).alerts.displaySeconds).toBe(12);
	});

	it("normalizes blocked terms: trimmed, lower-cased, unique, non-empty", () => {
		const s = applySettingsPatch({}, { moderation: { blockedTerms: [" Spam ", "spam", "", "SCAM"], blockedTermAction: "hold" } });
		expect(s.moderation).toEqual({ blockedTerms: ["spam", "scam"], blockedTermAction: "hold", useDefaultList: false, linkAction: "allow" });
	});

	it("adds the built-in list to a channel's own terms only when it asks for it", () => {
		const own = withDefaults({ moderation: { blockedTerms: ["spam"] } });
		expect(blockedTermsOf(own)).toEqual(["spam"]);
		const both = blockedTermsOf(withDefaults({ moderation: { blockedTerms: ["spam"], useDefaultList: true } }));
		expect(both).toContain("spam");
		expect(both).toEqual(expect.arrayContaining(["bangsat", "fuck"]));
		expect(moderate("dasar b4ngsat", both).masked).toBe("dasar *******");
	});

	it("stores email preference keys without dots and reads them back with dots", () => {
		const s = applySettingsPatch({}, { email: { "donation.received": false } });
		expect(s.email).toEqual({ "donation:received": false });
		expect(withDefaults(s).email).toEqual({ "donation.received": false });
	});
});
