import { describe, expect, it } from "vitest";
import {
	banInForce,
	canManageModerators,
	canModerate,
	canSanction,
	channelRole,
	isExempt,
	refuseSend,
	slowModeWait,
	type SendFacts,
} from "../../../../../lib/domain/chat/rules";

const owner = { id: "o", roles: ["user"] };
const mod = { id: "m", roles: ["user"] };
const viewer = { id: "v", roles: ["user"] };
const admin = { id: "a", roles: ["user", "admin"] };
const roleOf = (user: { id: string; roles: string[] } | null) => channelRole({ user, ownerId: "o", moderators: ["m"] });

describe("channel roles", () => {
	it("derives admin, owner, moderator, viewer and anonymous", () => {
		expect([admin, owner, mod, viewer, null].map(roleOf)).toEqual(["admin", "owner", "moderator", "viewer", null]);
	});

	it("lets owner, moderators and admins moderate; only owner and admins appoint", () => {
		expect(["admin", "owner", "moderator", "viewer", null].map((r) => canModerate(r as any))).toEqual([true, true, true, false, false]);
		expect(["admin", "owner", "moderator", "viewer"].map((r) => canManageModerators(r as any))).toEqual([true, true, false, false]);
		expect(isExempt("moderator")).toBe(true);
		expect(isExempt("viewer")).toBe(false);
	});

	it("sanctions only strictly lower ranks and never the owner", () => {
		expect(canSanction("moderator", "viewer")).toBe(true);
		expect(canSanction("moderator", "moderator")).toBe(false);
		expect(canSanction("owner", "moderator")).toBe(true);
		expect(canSanction("admin", "owner")).toBe(false);
		expect(canSanction("owner", "admin")).toBe(false);
		expect(canSanction("viewer", "viewer")).toBe(false);
		expect(canSanction(null, "viewer")).toBe(false);
	});
});

describe("send decisions", () => {
	const now = 1_000_000;
	const base: SendFacts = { now, role: "viewer", ban: null, followersOnly: false, blockedTerm: null };

	it("allows a plain message", () => {
		expect(refuseSend(base)).toBeNull();
	});

	it("reports bans, then timeouts with the seconds left, and forgets expired timeouts", () => {
		expect(refuseSend({ ...base, ban: { until: null } })?.type).toBe("BANNED");
		expect(refuseSend({ ...base, ban: { until: now + 1500 } })).toMatchObject({ type: "TIMED_OUT", retryAfterSec: 2 });
		expect(refuseSend({ ...base, ban: { until: now } })).toBeNull();
		expect(banInForce({ until: now + 1 }, now)).toBe(true);
		expect(banInForce(null, now)).toBe(false);
		// a ban binds moderators too (an owner or admin lifts it)
		expect(refuseSend({ ...base, role: "moderator", ban: { until: null } })?.type).toBe("BANNED");
	});

	it("enforces followers-only and blocked terms for viewers, not for the people running the channel", () => {
		expect(refuseSend({ ...base, followersOnly: true, isFollower: false })?.type).toBe("FOLLOWERS_ONLY");
		expect(refuseSend({ ...base, followersOnly: true })?.type).toBe("FOLLOWERS_ONLY");
		expect(refuseSend({ ...base, followersOnly: true, isFollower: true })).toBeNull();
		expect(refuseSend({ ...base, blockedTerm: "x" })?.type).toBe("BLOCKED_TERM");
		for (const role of ["moderator", "owner", "admin"] as const) expect(refuseSend({ ...base, role, followersOnly: true, blockedTerm: "x" })).toBeNull();
	});

	it("computes the slow-mode wait, rounding up to whole seconds", () => {
		expect(slowModeWait(null, 5, now)).toBe(0);
		expect(slowModeWait(now - 1000, 0, now)).toBe(0);
		expect(slowModeWait(now - 1000, 5, now)).toBe(4);
		expect(slowModeWait(now - 4999, 5, now)).toBe(1);
		expect(slowModeWait(now - 5000, 5, now)).toBe(0);
	});
});
