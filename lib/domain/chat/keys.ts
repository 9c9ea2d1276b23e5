/**
 * The unique keys chat's promises rest on (one message per sender nonce, one ban row per channel
 * and user, one conversation per pair) and the storage room of direct messages. Socket room names
 * are built in lib/domain/rooms.ts; a channel message's `room` is its socket room (`rooms.chat`).
 */

/** `room` of a direct message (a storage key, not a socket room: DMs are pushed to user rooms). */
export const dmRoom = (conversationId: string) => `dm:${conversationId}`;

/** One message per (room, sender, nonce). */
export const nonceKey = (room: string, userId: string, nonce: string) => `${room}:${userId}:${nonce}`;

/** One ban row per (channel, user); also the slow-mode row of that pair. */
export const banKey = (channelId: string, userId: string) => `${channelId}:${userId}`;
export const slowKey = banKey;

/** One conversation per pair of users, whoever opened it. */
export function conversationPair(a: string, b: string): { participants: string[]; pairKey: string } {
	const participants = [a, b].sort();
	return { participants, pairKey: participants.join(":") };
}

/** The participant of a two-person conversation who is not `me`. */
export const otherParticipant = (participants: string[], me: string) => participants.find((p) => p !== me);
