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
