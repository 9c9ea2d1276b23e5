import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { encodeQr } from "../../web/lib/qr";
import { mediaSecondsFor, parseMajor, presets, toInput } from "../../web/lib/money";
import { embedUrl, parseYouTube } from "../../web/lib/youtube";
import { negotiateLang, renderShell } from "../../services/gateway/pages";
import { buildPages } from "./support";

/** The pages' pure helpers (no browser needed): what a person types and what the URL bar holds. */
describe("amounts typed on the pages", () => {
	it("reads rupiah with or without thousands separators and sends minor units", () => {
		for (const typed of ["10000", "10.000", "10,000", "Rp 10.000", " 10.000 "]) expect(parseMajor(typed, "IDR")).toBe(1_000_000);
		expect(parseMajor("1.000.000", "IDR")).toBe(100_000_000);
		expect(parseMajor("10.5", "IDR")).toBeNull();
		expect(parseMajor("", "IDR")).toBeNull();
		expect(parseMajor("abc", "IDR")).toBeNull();
	});

	it("reads dollars with a dot or a comma for cents", () => {
		expect(parseMajor("5", "USD")).toBe(500);
		expect(parseMajor("5.5", "USD")).toBe(550);
		expect(parseMajor("5,50", "USD")).toBe(550);
		expect(parseMajor("1,234.56", "USD")).toBe(123_456);
		expect(parseMajor("5.555", "USD")).toBeNull();
		expect(parseMajor("-5", "USD")).toBeNull();
		expect(parseMajor("$5", "USD")).toBe(500);
		expect(parseMajor("Rp.10.000", "IDR")).toBe(1_000_000);
		expect(parseMajor("1e3", "USD")).toBeNull();
		expect(parseMajor("500", "JPY")).toBe(500);
	});

	it("round-trips minor units through the input box", () => {
		expect(toInput(1_000_000, "IDR")).toBe("10000");
		expect(toInput(550, "USD")).toBe("5.50");
		expect(parseMajor(toInput(123_456, "EUR"), "EUR")).toBe(123_456);
	});

	it("offers presets at or above the streamer's minimum", () => {
		expect(presets("IDR", 0)).toEqual([1_000_000, 2_500_000, 5_000_000, 10_000_000]);
		expect(presets("IDR", 500_000)).toEqual([500_000, 1_000_000, 2_500_000, 5_000_000]);
		expect(presets("USD", 1_000)).toEqual([1_000, 2_000]);
		expect(presets("IDR", 50_000_000)).toEqual([50_000_000]);
	});

	it("previews media seconds like the donations service", () => {
		expect(mediaSecondsFor(1_500_000, 100_000, 60)).toBe(15);
		expect(mediaSecondsFor(100_000_000, 100_000, 60)).toBe(60);
		expect(mediaSecondsFor(1, 0, 45)).toBe(45);
	});
});

describe("YouTube links", () => {
	it("finds the video and start time in every common link shape", () => {
		expect(parseYouTube("https://www.youtube.com/watch?v=dQw4w9WgXcQ")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
		expect(parseYouTube("https://youtu.be/dQw4w9WgXcQ?t=42")).toEqual({ id: "dQw4w9WgXcQ", start: 42 });
		expect(parseYouTube("https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=1m30s")).toEqual({ id: "dQw4w9WgXcQ", start: 90 });
		expect(parseYouTube("https://www.youtube.com/shorts/dQw4w9WgXcQ")).toEqual({ id: "dQw4w9WgXcQ", start: 0 });
		expect(parseYouTube("https://www.youtube.com/embed/dQw4w9WgXcQ?start=5")).toEqual({ id: "dQw4w9WgXcQ", start: 5 });
	});

	it("refuses what is not a YouTube video", () => {
		for (const url of [
			"https://vimeo.com/123",
			"https://youtube.com.evil.test/watch?v=dQw4w9WgXcQ",
			"javascript:alert(1)",
			"https://www.youtube.com/watch?v=short",
			"not a url",
		]) {
			expect(parseYouTube(url)).toBeNull();
		}
	});

	it("embeds privacy-enhanced, from the start point for the paid seconds", () => {
		const u = new URL(embedUrl({ id: "dQw4w9WgXcQ", start: 30 }, 15));
		expect(u.host).toBe("www.youtube-nocookie.com");
		expect(u.searchParams.get("start")).toBe("30");
		expect(u.searchParams.get("end")).toBe("45");
		expect(u.searchParams.get("autoplay")).toBe("1");
	});
});

describe("page language and shell", () => {
	it("picks ?lang, then the cookie, then Accept-Language, then English", () => {
		expect(negotiateLang({ lang: "id" }, "lang=en", "en-US")).toBe("id");
		expect(negotiateLang({}, "a=1; lang=id", "en-US")).toBe("id");
		expect(negotiateLang({}, undefined, "id-ID,id;q=0.9,en;q=0.8")).toBe("id");
		expect(negotiateLang({}, undefined, "en;q=0.5, id;q=0.9")).toBe("id");
		expect(negotiateLang({}, undefined, "fr-FR, en;q=0.7")).toBe("en");
		expect(negotiateLang({}, undefined, "de-DE")).toBe("en");
		expect(negotiateLang({ lang: "xx" }, "lang=zz", undefined)).toBe("en");
	});

	it("escapes every value it writes into the HTML shell", () => {
		buildPages();
		const html = renderShell("overlay-goal", { lang: "en", data: { username: `"><script>alert(1)</script>` } })!;
		expect(html).not.toContain("<script>alert");
		expect(html).toContain('data-username="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
	});
});

describe("QR codes for QRIS payments", () => {
	const zbarimg = ["/usr/bin/zbarimg", "/usr/local/bin/zbarimg"].find((p) => fs.existsSync(p));

	function toPbm(text: string): string {
		const qr = encodeQr(text);
		const quiet = 4;
		const scale = 3;
		const w = (qr.size + quiet * 2) * scale;
		const rows: string[] = [];
		for (let y = 0; y < w; y++) {
			const row: string[] = [];
			for (let x = 0; x < w; x++) {
				const my = Math.floor(y / scale) - quiet;
				const mx = Math.floor(x / scale) - quiet;
				row.push(my >= 0 && mx >= 0 && my < qr.size && mx < qr.size && qr.modules[my][mx] ? "1" : "0");
			}
			rows.push(row.join(" "));
		}
		const file = path.join(os.tmpdir(), `mediashar-qr-${process.pid}-${text.length}.pbm`);
		fs.writeFileSync(file, `P1\n${w} ${w}\n${rows.join("\n")}\n`);
		return file;
	}

	it("picks the smallest version for level M and draws the fixed patterns", () => {
		expect(encodeQr("x".repeat(14)).version).toBe(1);
		expect(encodeQr("x".repeat(15)).version).toBe(2);
		expect(encodeQr("x".repeat(2331)).version).toBe(40);
		expect(() => encodeQr("x".repeat(2332))).toThrow(RangeError);
		const qr = encodeQr("00020101021226620014COM.GO-JEK.WWW0118936009143123456789");
		expect(qr.size).toBe(qr.version * 4 + 17);
		// Finder pattern corners: a dark 7×7 ring with a dark 3×3 centre, a light separator.
		for (const [x, y] of [
			[0, 0],
			[qr.size - 7, 0],
			[0, qr.size - 7],
		]) {
			expect(qr.modules[y][x] && qr.modules[y + 6][x + 6] && qr.modules[y + 3][x + 3]).toBe(true);
			expect(qr.modules[y + 1][x + 1]).toBe(false);
		}
		// Timing pattern alternates between the finders; the dark module is always dark.
		for (let i = 8; i < qr.size - 8; i++) expect(qr.modules[6][i]).toBe(i % 2 === 0);
		expect(qr.modules[qr.size - 8][8]).toBe(true);
	});

	it.skipIf(!zbarimg)("decodes back to the same text with a real QR reader (zbarimg), from version 1 to 40", () => {
		for (const n of [5, 40, 150, 271, 700, 2000]) {
			const text = Array.from({ length: n }, (_, i) => "0123456789ABCDEF:-./"[i % 20]).join("");
			const file = toPbm(text);
			const out = execFileSync(zbarimg!, ["--raw", "-q", file], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
			fs.rmSync(file, { force: true });
			expect(out, `length ${n}`).toBe(text);
		}
	});
});
