import type { MailLang } from "../accounts/emails";
import { formatMoney } from "../money";

/**
 * The receipt a signed-in donor gets when their donation is paid (plain text, as the mailer
 * sends it), in the donor's account language (Indonesian or English). Sent once per donation:
 * the mailer's key is `receiptKey(donationId)`.
 */

export interface ReceiptFacts {
	donorUsername: string;
	recipientUsername: string;
	donationId: string;
	amount: number;
	currency: string;
	/** What the recipient's page shows of the donor's message (after moderation). */
	message?: string | null;
	paidAt?: string | null;
}

export function receiptKey(donationId: string): string {
	return `receipt:donation:${donationId}`;
}

/** "1 Desember 2026" / "1 December 2026" (UTC). */
function dateText(iso: string | null | undefined, lang: MailLang): string | null {
	const d = iso ? new Date(iso) : null;
	if (!d || Number.isNaN(d.getTime())) return null;
	return new Intl.DateTimeFormat(lang === "id" ? "id-ID" : "en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" }).format(d);
}

export function donationReceiptMail(lang: MailLang, f: ReceiptFacts, publicUrl: string): { subject: string; text: string } {
	const amount = formatMoney(f.amount, f.currency);
	const page = `${publicUrl}/u/${encodeURIComponent(f.recipientUsername)}`;
	const date = dateText(f.paidAt, lang);
	const message = (f.message ?? "").trim();
	if (lang === "id") {
		return {
			subject: `[MediaShar] Tanda terima: ${amount} untuk ${f.recipientUsername}`,
			text: [
				`Halo ${f.donorUsername},`,
				"",
				`Terima kasih! Donasi kamu sebesar ${amount} untuk ${f.recipientUsername} sudah dibayar.`,
				"",
				`Jumlah: ${amount}`,
				...(date ? [`Tanggal: ${date}`] : []),
				`Nomor donasi: ${f.donationId}`,
				...(message ? [`Pesan: ${message}`] : []),
				"",
				`Halaman ${f.recipientUsername}: ${page}`,
				"Simpan email ini sebagai bukti pembayaran.",
			].join("\n"),
		};
	}
	return {
		subject: `[MediaShar] Receipt: ${amount} to ${f.recipientUsername}`,
		text: [
			`Hi ${f.donorUsername},`,
			"",
			`Thank you! Your donation of ${amount} to ${f.recipientUsername} is paid.`,
			"",
			`Amount: ${amount}`,
			...(date ? [`Date: ${date}`] : []),
			`Donation: ${f.donationId}`,
			...(message ? [`Message: ${message}`] : []),
			"",
			`${f.recipientUsername}'s page: ${page}`,
			"Keep this email as your receipt.",
		].join("\n"),
	};
}
