import { describe, expect, it } from "vitest";
import { passwordResetMail, ttlText, verifyEmailMail } from "../../../../../lib/domain/accounts/emails";

describe("account emails", () => {
	it("say how long the link lasts, in the reader's language", () => {
		expect(ttlText(1800, "en")).toBe("30 minutes");
		expect(ttlText(1800, "id")).toBe("30 menit");
		expect(ttlText(86_400, "en")).toBe("24 hours");
		expect(ttlText(3600, "en")).toBe("1 hour");
		expect(ttlText(86_400, "id")).toBe("24 jam");
		expect(ttlText(10, "en")).toBe("1 minute");
	});

	it("carry the link and the username in English and Indonesian", () => {
		const v = { username: "budi", link: "https://x.test/auth/reset?token=T", ttlSec: 1800 };
		const en = passwordResetMail("en", v);
		const id = passwordResetMail("id", v);
		expect(en.subject).toBe("[MediaShar] Reset your password");
		expect(id.subject).toBe("[MediaShar] Atur ulang kata sandi");
		for (const m of [en, id, verifyEmailMail("en", v), verifyEmailMail("id", v)]) {
			expect(m.text).toContain(v.link);
			expect(m.text).toContain("budi");
		}
		expect(id.text).toContain("30 menit");
		expect(verifyEmailMail("id", v).subject).toBe("[MediaShar] Konfirmasi alamat email kamu");
	});
});
