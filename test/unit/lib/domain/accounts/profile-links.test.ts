import { describe, expect, it } from "vitest";
import { checkLinks, checkPlatform, checkPlatforms, platformName } from "../../../../../lib/domain/accounts/profile-links";

describe("profile links", () => {
	it("keeps http(s) links with a cleaned label", () => {
		const r = checkLinks([{ label: "  My shop\n", url: "https://shop.example.com/a?b=1" }]);
		expect(r).toEqual({ ok: true, value: [{ label: "My shop", url: "https://shop.example.com/a?b=1" }] });
	});

	it("refuses other schemes, credentials, empty labels and more than 10", () => {
		for (const url of ["javascript:alert(1)", "data:text/html,x", "ftp://x.example", "https://u:p@x.example", "not a url"]) {
			const r = checkLinks([{ label: "x", url }]);
			expect(r.ok, url).toBe(false);
		}
		expect(checkLinks([{ label: "   ", url: "https://x.example" }])).toMatchObject({ ok: false, problems: [{ field: "links[0].label" }] });
		expect(checkLinks(Array.from({ length: 11 }, () => ({ label: "a", url: "https://a.example" }))).ok).toBe(false);
		expect(checkLinks(Array.from({ length: 10 }, () => ({ label: "a", url: "https://a.example" }))).ok).toBe(true);
	});
});

describe("linked platforms", () => {
	it("normalises a handle and derives the url", () => {
		expect(checkPlatform({ platform: "twitch", handle: "@Alice_Streams" })).toEqual({
			ok: true,
			value: { platform: "twitch", handle: "alice_streams", url: "https://www.twitch.tv/alice_streams" },
		});
		expect(checkPlatform({ platform: "youtube", handle: "AliceTV" })).toMatchObject({ value: { url: "https://www.youtube.com/@alicetv" } });
		expect(checkPlatform({ platform: "x", handle: "alice" })).toMatchObject({ value: { url: "https://x.com/alice" } });
	});

	it("reads the handle from a profile url on the platform's own hosts", () => {
		expect(checkPlatform({ platform: "tiktok", url: "https://www.tiktok.com/@Alice.Live?lang=id" })).toMatchObject({
			value: { handle: "alice.live", url: "https://www.tiktok.com/@alice.live" },
		});
		expect(checkPlatform({ platform: "x", url: "https://twitter.com/Alice" })).toMatchObject({ value: { handle: "alice", url: "https://x.com/alice" } });
		expect(checkPlatform({ platform: "kick", url: "https://kick.com/alice" })).toMatchObject({ value: { url: "https://kick.com/alice" } });
	});

	it("refuses a url on another host, a url and handle that disagree, and bad handles", () => {
		expect(checkPlatform({ platform: "twitch", url: "https://twitch.tv.evil.example/alice" })).toMatchObject({
			ok: false,
			problems: [{ field: "platform.url" }],
		});
		expect(checkPlatform({ platform: "youtube", url: "javascript://www.youtube.com/@a" }).ok).toBe(false);
		expect(checkPlatform({ platform: "youtube", url: "https://www.youtube.com/watch?v=x" }).ok).toBe(false);
		expect(checkPlatform({ platform: "twitch", handle: "bob", url: "https://twitch.tv/alice" })).toMatchObject({ ok: false });
		expect(checkPlatform({ platform: "x", handle: "this_handle_is_too_long" }).ok).toBe(false);
		expect(checkPlatform({ platform: "myspace", handle: "alice" }).ok).toBe(false);
		expect(checkPlatform({ platform: "twitch" }).ok).toBe(false);
	});

	it("at most 10, each account once", () => {
		expect(
			checkPlatforms([
				{ platform: "twitch", handle: "alice" },
				{ platform: "twitch", handle: "@ALICE" },
			]),
		).toMatchObject({
			ok: false,
			problems: [{ field: "platforms[1]" }],
		});
		expect(checkPlatforms(Array.from({ length: 11 }, (_, i) => ({ platform: "x", handle: `a${i}` }))).ok).toBe(false);
	});

	it("names platforms as people know them", () => {
		expect(platformName("youtube")).toBe("YouTube");
		expect(platformName("x")).toBe("X");
	});
});
