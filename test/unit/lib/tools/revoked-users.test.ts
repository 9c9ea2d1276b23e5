import { describe, expect, it } from "vitest";
import { RevokedUsers } from "../../../../lib/tools/revoked-users";

describe("revoked users", () => {
	it("refuses a banned user's tokens for one token lifetime after the ban, then forgets them", () => {
		let now = 1_000_000;
		const r = new RevokedUsers(15 * 60_000, () => now);
		r.revoke("u1");
		r.revoke("u2", now - 20 * 60_000); // banned longer ago than any unexpired token
		expect([r.has("u1"), r.has("u2"), r.has("u3")]).toEqual([true, false, false]);
		now += 14 * 60_000;
		expect(r.has("u1")).toBe(true);
		now += 2 * 60_000;
		expect(r.has("u1")).toBe(false);
		expect(r.size).toBe(0);
	});

	it("lifting a ban accepts the user's tokens again", () => {
		const r = new RevokedUsers(60_000);
		r.revoke("u1");
		r.restore("u1");
		expect(r.has("u1")).toBe(false);
	});

	it("refuses an ended session's tokens (named by sid) for one token lifetime, and only that session's", () => {
		let now = 1_000_000;
		const r = new RevokedUsers(15 * 60_000, () => now);
		r.endSessions(["fam1", "fam2"]);
		r.endSessions(["old"], now - 20 * 60_000);
		expect([r.has("u1", "fam1"), r.has("u1", "fam2"), r.has("u1", "fam3"), r.has("u1"), r.has("u1", "old")]).toEqual([true, true, false, false, false]);
		now += 16 * 60_000;
		expect(r.has("u1", "fam1")).toBe(false);
		expect(r.size).toBe(1);
	});
});
