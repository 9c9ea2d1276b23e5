/**
 * Does a user want email for a notification type? `settings.email` maps a type to true/false.
 * The exact type wins ("donation.received"); otherwise the family before the first dot
 * ("donation" covers donation.received and donation.reversed). Nothing set → no email.
 */
export function wantsEmail(prefs: Record<string, unknown> | null | undefined, type: string): boolean {
	if (!prefs) return false;
	const exact = prefs[type];
	if (typeof exact === "boolean") return exact;
	const family = prefs[type.split(".")[0]];
	return family === true;
}

/** A notification's recipient as the email step reads it (`users.get`). */
export interface Recipient {
	username: string;
	email?: string | null;
	bannedAt?: string | null;
	settings?: { email?: Record<string, unknown> | null } | null;
}

/** Does this recipient get this notification by email: known, not suspended, with an address, opted in. */
export function recipientWantsEmail(user: Recipient | null | undefined, type: string): user is Recipient & { email: string } {
	return !!user && !user.bannedAt && !!user.email && wantsEmail(user.settings?.email, type);
}
