import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startHarness, type Harness } from "../support/harness";

/**
 * Every page is served with a Content-Security-Policy that lets it load only from this server
 * (scripts, styles, images, sockets); only the overlay and the donation page may frame the
 * YouTube player, and only the widgets meant for OBS and embedding may be framed.
 */
let h: Harness;
beforeAll(async () => {
	// The pages are served from the project's own build (npm start builds them first).
	execFileSync(process.execPath, [path.join(ROOT, "scripts", "build-public.mjs")], { cwd: ROOT, stdio: "pipe" });
	h = await startHarness({ services: ["users"], env: { SCRYPT_COST: "1024" } });
});
afterAll(() => h?.stop());

async function policy(path: string) {
	const res = await fetch(`${h.url}${path}`);
	expect(res.headers.get("content-type"), path).toContain("text/html");
	const header = res.headers.get("content-security-policy");
	expect(header, path).toBeTruthy();
	return Object.fromEntries(
		header!
			.split(";")
			.map((d) => d.trim().split(/\s+/))
			.map(([k, ...v]) => [k, v]),
	);
}

describe("page security policy", () => {
	it("loads nothing from another origin on any page", async () => {
		for (const path of [
			"/u/somebody",
			"/dashboard",
			"/chat/somebody",
			"/pay/sandbox/abc",
			"/overlay/alerts?token=x",
			"/overlay/goal?token=x",
			"/overlay/leaderboard?token=x",
		]) {
			const p = await policy(path);
			expect(p["default-src"], path).toEqual(["'self'"]);
			expect(p["script-src"], path).toEqual(["'self'"]);
			expect(p["style-src"], path).toEqual(["'self'"]);
			expect(p["img-src"], path).toEqual(["'self'", "data:"]);
			expect(
				p["connect-src"].filter((s: string) => !s.startsWith("ws://127.0.0.1") && !s.startsWith("wss://127.0.0.1")),
				path,
			).toEqual(["'self'"]);
			expect(p["object-src"], path).toEqual(["'none'"]);
		}
	});

	it("frames the YouTube player only where media share plays, and is framed only where meant to be", async () => {
		expect((await policy("/overlay/alerts?token=x"))["frame-src"]).toEqual(["https://www.youtube-nocookie.com", "https://www.youtube.com"]);
		expect((await policy("/dashboard"))["frame-src"]).toEqual(["'none'"]);
		expect((await policy("/dashboard"))["frame-ancestors"]).toEqual(["'none'"]);
		expect((await policy("/chat/somebody"))["frame-ancestors"]).toEqual(["*"]);
		expect((await policy("/overlay/alerts?token=x"))["frame-ancestors"]).toEqual(["*"]);
	});
});
