/**
 * What each source message becomes in a user's inbox: type, title, body, data and the unique
 * `sourceKey` that makes delivery idempotent (a redelivered message finds its key taken).
 */
export interface Actor {
	id: string;
	username: string;
	displayName?: string;
}

export interface Draft {
	userId: string;
	type: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	sourceKey: string;
}

export interface DonationLike {
	id: string;
	recipientId: string;
	recipientUsername?: string;
	donorName?: string;
	donorId?: string | null;
	amount?: number;
	currency?: string;
	formattedAmount?: string;
	message?: string | null;
	status?: string;
}

const clip = (s: string | null | undefined, n = 140) => {
	const t = (s ?? "").replace(/\s+/g, " ").trim();
	return t.length > n ? `${t.slice(0, n - 1)}…` : t;
};
const nameOf = (a: Actor) => a.displayName || a.username;

export function donationDraft(kind: "paid" | "reversed", d: DonationLike): Draft {
	const donor = d.donorName || "Someone";
	const money = d.formattedAmount || (d.amount !== undefined ? `${d.amount} ${d.currency ?? ""}`.trim() : "");
	const data = {
		donationId: d.id,
		donorName: donor,
		amount: d.amount,
		currency: d.currency,
		formattedAmount: money,
		message: d.message ?? null,
		status: d.status,
	};
	if (kind === "paid") {
		return {
			userId: d.recipientId,
			type: "donation.received",
			title: `${donor} donated ${money}`.trim(),
			body: clip(d.message),
			data,
			sourceKey: `donation.received:${d.id}`,
		};
	}
	return {
		userId: d.recipientId,
		type: "donation.reversed",
		title: `A donation of ${money} from ${donor} was ${d.status === "refunded" ? "refunded" : "reversed"}`,
		body: "The amount has been taken off your balance.",
		data,
		sourceKey: `donation.reversed:${d.id}`,
	};
}

export function followDraft(follower: Actor, followeeId: string): Draft {
	return {
		userId: followeeId,
		type: "follow",
		title: `${nameOf(follower)} followed you`,
		body: "",
		data: { user: follower },
		// One notification per pair: unfollow + follow again does not notify twice.
		sourceKey: `follow:${follower.id}:${followeeId}`,
	};
}

export interface CommentMsg {
	commentId: string;
	userId: string;
	targetType: string;
	targetId: string;
	targetOwnerId: string;
	parentId?: string | null;
	parentAuthorId?: string | null;
	text: string;
}

/** The target's owner hears about every comment; a reply's parent author hears about the reply. */
export function commentDrafts(msg: CommentMsg, author: Actor): Draft[] {
	const out: Draft[] = [];
	const data = { commentId: msg.commentId, targetType: msg.targetType, targetId: msg.targetId, parentId: msg.parentId ?? null, user: author };
	const add = (userId: string, title: string) => {
		if (!userId || userId === msg.userId || out.some((d) => d.userId === userId)) return;
		out.push({ userId, type: "comment", title, body: clip(msg.text), data, sourceKey: `comment:${msg.commentId}:${userId}` });
	};
	if (msg.parentId && msg.parentAuthorId) add(msg.parentAuthorId, `${nameOf(author)} replied to your comment`);
	add(msg.targetOwnerId, `${nameOf(author)} commented on your ${msg.targetType}`);
	return out;
}

export interface MentionMsg {
	messageId: string;
	channel: string;
	from: Actor;
	userIds: string[];
	text: string;
}

export function mentionDrafts(msg: MentionMsg): Draft[] {
	return [...new Set(msg.userIds)]
		.filter((id) => id && id !== msg.from.id)
		.map((userId) => ({
			userId,
			type: "mention",
			title: `${nameOf(msg.from)} mentioned you in ${msg.channel}'s chat`,
			body: clip(msg.text),
			data: { messageId: msg.messageId, channel: msg.channel, user: msg.from },
			sourceKey: `mention:${msg.messageId}:${userId}`,
		}));
}

export interface DmMsg {
	conversationId: string;
	messageId: string;
	from: Actor;
	to: string;
	text: string;
}

export function dmDraft(msg: DmMsg): Draft {
	return {
		userId: msg.to,
		type: "dm",
		title: `New message from ${nameOf(msg.from)}`,
		body: clip(msg.text),
		data: { conversationId: msg.conversationId, messageId: msg.messageId, user: msg.from },
		sourceKey: `dm:${msg.messageId}`,
	};
}

/** "alice liked your post", "alice and bob liked…", "alice and 4 others liked…" (newest first). */
export function likeTitle(recentNames: string[], total: number, targetType: string): string {
	const what = `your ${targetType}`;
	const names = recentNames.slice(-2).reverse();
	if (total <= 1 || names.length === 0) return `${names[0] ?? "Someone"} liked ${what}`;
	if (total === 2 && names.length === 2) return `${names[0]} and ${names[1]} liked ${what}`;
	const others = total - 1;
	return `${names[0]} and ${others} other${others === 1 ? "" : "s"} liked ${what}`;
}

/**
 * The key of the *open* like group of a target: likes within LIKE_GROUP_WINDOW_MS of the group's
 * first like join it; when the window has passed, the group is closed (its key renamed) and the
 * next like opens a new one. Unique keys make this race-free across nodes.
 */
export function likeGroupKey(ownerId: string, targetType: string, targetId: string): string {
	return `like:${ownerId}:${targetType}:${targetId}`;
}

/** The likes a like notification stands for: the last few names and how many in all. */
export interface LikeGroup {
	targetType: string;
	targetId: string;
	names: string[];
	count: number;
}

/** What a client sees of a notification (a like group's title and users come from the group). */
export interface NotificationView {
	id: string;
	type: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	createdAt: string;
	updatedAt: string;
	read: boolean;
}

export function notificationView(n: {
	_id: string;
	type: string;
	title: string;
	body: string;
	data: Record<string, unknown>;
	group?: LikeGroup;
	createdAt: string;
	updatedAt: string;
	read: boolean;
}): NotificationView {
	const group = n.group;
	return {
		id: n._id,
		type: n.type,
		title: group ? likeTitle(group.names, group.count, group.targetType) : n.title,
		body: n.body,
		data: group ? { ...n.data, count: group.count, users: [...group.names].reverse() } : n.data,
		createdAt: n.createdAt,
		updatedAt: n.updatedAt,
		read: n.read,
	};
}

/** A payout as the `payouts.paid` / `payouts.failed` channels carry it. */
export interface PayoutLike {
	id: string;
	userId: string;
	amount: number;
	currency: string;
	formattedAmount?: string;
	failureReason?: string | null;
}

/** The owner's `payout.paid` / `payout.failed` notification (one per payout and outcome). */
export function payoutDraft(kind: "paid" | "failed", p: PayoutLike): Draft {
	const money = p.formattedAmount || `${p.amount} ${p.currency}`;
	const data = { payoutId: p.id, amount: p.amount, currency: p.currency, formattedAmount: money, status: kind };
	if (kind === "paid") {
		return { userId: p.userId, type: "payout.paid", title: `Your payout of ${money} was paid`, body: "", data, sourceKey: `payout.paid:${p.id}` };
	}
	return {
		userId: p.userId,
		type: "payout.failed",
		title: `Your payout of ${money} failed; the amount is back in your balance`,
		body: clip(p.failureReason ?? ""),
		data: { ...data, failureReason: p.failureReason ?? null },
		sourceKey: `payout.failed:${p.id}`,
	};
}
