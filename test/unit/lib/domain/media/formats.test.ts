import { describe, expect, it } from "vitest";
import { fitsQuota, formatOf, maxBytesOf, parseMediaFileName, parseRange } from "../../../../../lib/domain/media/formats";

describe("formatOf", () => {
	it("accepts the contract's images, sounds and videos, one extension each", () => {
		expect(formatOf("image/png")).toEqual({ kind: "image", contentType: "image/png", ext: "png" });
		expect(formatOf("image/jpeg")?.ext).toBe("jpg");
		expect(formatOf("audio/mpeg")?.kind).toBe("audio");
		expect(formatOf("audio/ogg; codecs=opus")?.contentType).toBe("audio/ogg");
		expect(formatOf("video/webm")?.kind).toBe("video");
		expect(formatOf("video/mp4")?.kind).toBe("video");
	});
	it("refuses SVG, HTML and anything else", () => {
		for (const mime of ["image/svg+xml", "text/html", "application/xhtml+xml", "application/pdf", "image/tiff", "", undefined])
			expect(formatOf(mime)).toBeNull();
	});
});

describe("parseMediaFileName", () => {
	const hash = "a".repeat(64);
	it("reads a content address and its Content-Type", () => {
		expect(parseMediaFileName(`${hash}.gif`)).toEqual({ hash, ext: "gif", contentType: "image/gif" });
	});
	it("refuses what is not one", () => {
		for (const name of [`${hash}.html`, `${hash}.svg`, `${"A".repeat(64)}.png`, `${hash}`, "../x.png", `${hash.slice(1)}.png`, `${hash}.png/..`]) {
			expect(parseMediaFileName(name)).toBeNull();
		}
	});
});

describe("parseRange", () => {
	it("reads one range, open-ended or a suffix, clipped to the file", () => {
		expect(parseRange("bytes=0-99", 1000)).toEqual({ start: 0, end: 99 });
		expect(parseRange("bytes=900-", 1000)).toEqual({ start: 900, end: 999 });
		expect(parseRange("bytes=-100", 1000)).toEqual({ start: 900, end: 999 });
		expect(parseRange("bytes=-5000", 1000)).toEqual({ start: 0, end: 999 });
		expect(parseRange("bytes=990-5000", 1000)).toEqual({ start: 990, end: 999 });
	});
	it("answers unsatisfiable outside the file, and the whole file for what it does not read", () => {
		expect(parseRange("bytes=1000-", 1000)).toBe("unsatisfiable");
		expect(parseRange("bytes=50-10", 1000)).toBe("unsatisfiable");
		expect(parseRange("bytes=-0", 1000)).toBe("unsatisfiable");
		expect(parseRange(undefined, 1000)).toBeNull();
		expect(parseRange("bytes=0-1,5-6", 1000)).toBeNull();
		expect(parseRange("items=0-1", 1000)).toBeNull();
	});
});

describe("limits", () => {
	it("gives videos their own size limit, and the quota includes what is already used", () => {
		const limits = { maxBytes: 10, maxVideoBytes: 50 };
		expect(maxBytesOf("image", limits)).toBe(10);
		expect(maxBytesOf("audio", limits)).toBe(10);
		expect(maxBytesOf("video", limits)).toBe(50);
		expect(fitsQuota(150, 50, 200)).toBe(true);
		expect(fitsQuota(151, 50, 200)).toBe(false);
	});
});
