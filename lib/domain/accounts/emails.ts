/**
 * Account emails (plain text, as the mailer sends them) in Indonesian and English: the address
 * verification sent at sign-up (and on request) and the password-reset link. Each names how long
 * its link works and what to do when the reader did not ask for it.
 */

export type MailLang = "id" | "en";
export const MAIL_LANGS: readonly MailLang[] = ["id", "en"];

export interface AccountMail {
	subject: string;
	text: string;
}

/** "30 minutes" / "30 menit", "24 hours" / "24 jam". */
export function ttlText(seconds: number, lang: MailLang): string {
	const minutes = Math.max(1, Math.round(seconds / 60));
	if (minutes % 60 === 0) {
		const hours = minutes / 60;
		return lang === "id" ? `${hours} jam` : `${hours} hour${hours === 1 ? "" : "s"}`;
	}
	return lang === "id" ? `${minutes} menit` : `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

export function verifyEmailMail(lang: MailLang, v: { username: string; link: string; ttlSec: number }): AccountMail {
	if (lang === "id") {
		return {
			subject: "[MediaShar] Konfirmasi alamat email kamu",
			text: [
				`Halo ${v.username},`,
				"",
				"Buka tautan ini untuk mengonfirmasi alamat email akun MediaShar kamu:",
				v.link,
				"",
				`Tautan ini berlaku ${ttlText(v.ttlSec, "id")} dan hanya bisa dipakai sekali.`,
				"Kalau kamu tidak membuat akun MediaShar, abaikan email ini.",
			].join("\n"),
		};
	}
	return {
		subject: "[MediaShar] Confirm your email address",
		text: [
			`Hi ${v.username},`,
			"",
			"Open this link to confirm the email address of your MediaShar account:",
			v.link,
			"",
			`The link works for ${ttlText(v.ttlSec, "en")} and only once.`,
			"If you did not create a MediaShar account, ignore this email.",
		].join("\n"),
	};
}

export function passwordResetMail(lang: MailLang, v: { username: string; link: string; ttlSec: number }): AccountMail {
	if (lang === "id") {
		return {
			subject: "[MediaShar] Atur ulang kata sandi",
			text: [
				`Halo ${v.username},`,
				"",
				"Seseorang (semoga kamu) meminta pengaturan ulang kata sandi akun MediaShar kamu. Buka tautan ini untuk memilih kata sandi baru:",
				v.link,
				"",
				`Tautan ini berlaku ${ttlText(v.ttlSec, "id")} dan hanya bisa dipakai sekali. Setelah kata sandi diganti, semua sesi lain akan keluar.`,
				"Kalau kamu tidak memintanya, abaikan email ini: kata sandimu tetap sama.",
			].join("\n"),
		};
	}
	return {
		subject: "[MediaShar] Reset your password",
		text: [
			`Hi ${v.username},`,
			"",
			"Someone (hopefully you) asked to reset the password of your MediaShar account. Open this link to choose a new one:",
			v.link,
			"",
			`The link works for ${ttlText(v.ttlSec, "en")} and only once. Once the password is changed, every other session is signed out.`,
			"If you did not ask for this, ignore this email: your password stays the same.",
		].join("\n"),
	};
}
