/**
 * Who may do what in a channel's chat, and whether a message may be sent. Pure functions: the
 * chat service gathers the facts (roles, ban row, follow state, last send) and these decide.
 */

export type ChannelRole = "admin" | "owner" | "moderator" | "viewer";

/** Higher ranks may act on lower ones; nobody acts on an equal or higher rank. */
const RANK: Record<ChannelRole, number> = { viewer: 1, moderator: 2, owner: 3, admin: 4 };

export interface RoleFacts {
	user: { id: string; roles?: string[] } | null | undefined;
	ownerId: string;
	moderators: string[];
}

export function channelRole({ user, ownerId, moderators }: RoleFacts): ChannelRole | null {
	if (!user) return null;
	if (user.roles?.includes("admin")) return "admin";
	if (user.id === ownerId) return "owner";
	if (moderators.includes(user.id)) return "moderator";
	return "viewer";
}

/** Owner, moderators and admins moderate (delete, ban, time out, settings). */
export function canModerate(role: ChannelRole | null): boolean {
	return role === "admin" || role === "owner" || role === "moderator";
}

/** Only the owner and admins appoint or remove moderators. */
export function canManageModerators(role: ChannelRole | null): boolean {
	return role === "admin" || role === "owner";
}

/** Exempt from slow mode, followers-only and blocked terms: people who run the channel. */
export function isExempt(role: ChannelRole | null): boolean {
	return canModerate(role);
}

/** May `actor` ban or time out `target`? The owner never; otherwise only a strictly lower rank. */
export function canSanction(actor: ChannelRole | null, target: ChannelRole): boolean {
	if (!actor || !canModerate(actor)) return false;
	if (target === "owner") return false;
	return RANK[actor] > RANK[target];
}

export interface BanFacts {
	/** Epoch ms when a timeout ends; null for a ban without end. */
	until: number | null;
}

/** A ban row is in force when it has no end or its end is in the future. */
export function banInForce(ban: BanFacts | null | undefined, now: number): boolean {
	return !!ban && (ban.until === null || ban.until > now);
}

export type RefusalType = "SLOW_MODE" | "BANNED" | "TIMED_OUT" | "FOLLOWERS_ONLY" | "BLOCKED_TERM" | "RATE_LIMITED";

export interface Refusal {
	type: RefusalType;
	message: string;
	retryAfterSec?: number;
}

export interface SendFacts {
	now: number;
	role: ChannelRole;
	ban: BanFacts | null;
	followersOnly: boolean;
	/** Undefined when not looked up (exempt users or followers-only off). */
	isFollower?: boolean;
	blockedTerm: string | null;
}

/**
 * Everything but slow mode and rate limits (those consume a slot and are checked last, atomically,
 * by the service). Order matters: the most lasting reason is reported first.
 */
export function refuseSend(f: SendFacts): Refusal | null {
	if (banInForce(f.ban, f.now)) {
		if (f.ban!.until === null) return { type: "BANNED", message: "You are banned from this chat" };
		const retryAfterSec = Math.max(1, Math.ceil((f.ban!.until - f.now) / 1000));
		return { type: "TIMED_OUT", message: `You are timed out for ${retryAfterSec} more second(s)`, retryAfterSec };
	}
	if (isExempt(f.role)) return null;
	if (f.followersOnly && !f.isFollower) return { type: "FOLLOWERS_ONLY", message: "This chat is for followers only" };
	if (f.blockedTerm) return { type: "BLOCKED_TERM", message: "Your message contains a term this channel does not allow" };
	return null;
}

/** Slow mode: seconds to wait after a message sent at `lastAt`, or 0 when sending is allowed. */
export function slowModeWait(lastAt: number | null | undefined, slowModeSec: number, now: number): number {
	if (!slowModeSec || lastAt == null) return 0;
	const readyAt = lastAt + slowModeSec * 1000;
	return readyAt > now ? Math.max(1, Math.ceil((readyAt - now) / 1000)) : 0;
}

export function slowModeRefusal(waitSec: number): Refusal {
	return { type: "SLOW_MODE", message: `Slow mode is on: wait ${waitSec} second(s) between messages`, retryAfterSec: waitSec };
}
