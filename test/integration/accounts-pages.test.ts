import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startHarness, type Harness } from "../support/harness";

/**
 * The pages the account emails link to (/auth/verify, /auth/reset) are served like every page:
 * the built bundle, the language negotiated, a strict policy, never framed, and no token in a
 * Referer sent elsewhere.
 */
let h: Harness;
beforeAll(async () => {
	execFileSync(process.execPath, [path.join(ROOT, "scripts", "build-public.mjs")], { cwd: ROOT, stdio: "pipe" });
	h = await startHarness({ services: ["users"], env: { SCRYPT_COST: "1024" } });
});
afterAll(() => h?.stop());

describe("account landing pages", () => {
	for (const page of ["/auth/verify", "/auth/reset"]) {
		it(`${page}?token=… is the auth page, in the reader's language, never framed`, async () => {
			const en = await fetch(`${h.url}${page}?token=${"a".repeat(43)}`);
			expect(en.status).toBe(200);
			expect(en.headers.get("content-type")).toContain("text/html");
			expect(en.headers.get("x-frame-options")).toBe("DENY");
			expect(en.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
			expect(en.headers.get("cache-control")).toBe("no-store");
			expect(en.headers.get("content-security-policy")).toContain("script-src 'self'");
			const html = await en.text();
			expect(html).toMatch(/<script src="\/build\/auth-[^"]+\.js" defer><\/script>/);
			expect(html).toContain("<title>Account · MediaShar</title>");
			expect(html).not.toContain("a".repeat(43));
			const id = await fetch(`${h.url}${page}?token=x`, { headers: { "Accept-Language": "id-ID,id;q=0.9" } });
			const idHtml = await id.text();
			expect(idHtml).toContain('<html lang="id">');
			expect(idHtml).toContain("<title>Akun · MediaShar</title>");
		});
	}
});
