import { describe, expect, it } from "vitest";
import { donationReceiptMail, receiptKey } from "../../../../../lib/domain/notify/receipt-mail";

const facts = {
	donorUsername: "budi",
	recipientUsername: "sari",
	donationId: "don1",
	amount: 2_500_000,
	currency: "IDR",
	message: "semangat",
	paidAt: "2026-12-01T10:00:00.000Z",
};

describe("donationReceiptMail", () => {
	it("writes Indonesian with the amount formatted, the date, the donation and a PUBLIC_URL link", () => {
		const m = donationReceiptMail("id", facts, "https://ms.example");
		expect(m.subject).toBe("[MediaShar] Tanda terima: Rp 25.000 untuk sari");
		expect(m.text).toContain("Halo budi,");
		expect(m.text).toContain("Tanggal: 1 Desember 2026");
		expect(m.text).toContain("Nomor donasi: don1");
		expect(m.text).toContain("Pesan: semangat");
		expect(m.text).toContain("https://ms.example/u/sari");
	});

	it("writes English, formats two-decimal currencies and leaves out an empty message", () => {
		const m = donationReceiptMail("en", { ...facts, amount: 500, currency: "USD", message: "  " }, "https://ms.example");
		expect(m.subject).toBe("[MediaShar] Receipt: $5.00 to sari");
		expect(m.text).toContain("Your donation of $5.00 to sari is paid.");
		expect(m.text).toContain("Date: 1 December 2026");
		expect(m.text).not.toContain("Message:");
	});

	it("keys one receipt per donation", () => {
		expect(receiptKey("don1")).toBe(receiptKey("don1"));
		expect(receiptKey("don1")).not.toBe(receiptKey("don2"));
	});
});
