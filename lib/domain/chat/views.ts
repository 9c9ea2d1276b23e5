import type { BanDoc, MessageDoc, Owner, RoomDoc } from "./docs";

/** What clients see of chat rows (the payloads of /work/shared/API.md). */

export interface Identity {
	id: string;
	username: string;
	displayName: string;
}

export function identity(u: { id: string; username: string; displayName?: string }): Identity {
	return { id: u.id, username: u.username, displayName: u.displayName || u.username };
}

/** A message as clients see it: `channel` on a channel message, `conversationId` on a direct one. */
function messageView<K extends "channel" | "conversationId">(m: MessageDoc, where: K) {
	return {
		id: m._id,
		[where]: m[where],
		user: { id: m.userId, username: m.username, displayName: m.displayName },
		text: m.text,
		createdAt: m.createdAt,
	} as { id: string; user: Identity; text: string; createdAt: string } & Record<K, string | undefined>;
}

export const channelView = (m: MessageDoc) => messageView(m, "channel");
export const dmView = (m: MessageDoc) => messageView(m, "conversationId");

export function banView(b: BanDoc, owner: Owner) {
	return {
		channel: owner.username,
		userId: b.userId,
		type: b.until === null ? "ban" : "timeout",
		until: b.until === null ? null : new Date(b.until).toISOString(),
		reason: b.reason,
		by: b.by,
		createdAt: b.createdAt,
	};
}

/** Blocked terms are shown to moderators only. */
export function settingsView(r: RoomDoc, withTerms: boolean) {
	return { channel: r.channel, slowModeSec: r.slowModeSec, followersOnly: r.followersOnly, ...(withTerms ? { blockedTerms: r.blockedTerms } : {}) };
}
