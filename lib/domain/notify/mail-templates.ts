/** Plain-text email for a notification: subject = title, a short body and a link to the inbox. */
export function notificationEmail(n: { type: string; title: string; body: string }, publicUrl: string, username: string) {
	const lines = [`Hi ${username},`, "", n.title];
	if (n.body) lines.push("", n.body);
	lines.push("", `See it in MediaShar: ${publicUrl}/`, "", `You get these emails because "${n.type}" emails are on in your settings (settings.email).`);
	return { subject: `[MediaShar] ${n.title}`.slice(0, 200), text: lines.join("\n") };
}
