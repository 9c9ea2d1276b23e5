/**
 * Text limits and target kinds for posts, likes and comments (see docs/social.md).
 * The validators and the docs both read these, so the numbers live in one place.
 */
export const POST_TITLE_MAX = 200;
export const POST_BODY_MAX = 10_000;
export const COMMENT_TEXT_MAX = 1_000;
export const MEDIA_URL_MAX = 2048;

/** What can be liked. */
export const LIKE_TARGETS = ["post", "comment", "donation"] as const;
export type LikeTarget = (typeof LIKE_TARGETS)[number];

/** What can be commented on (replies are comments with a parentId, one level deep). */
export const COMMENT_TARGETS = ["post", "donation"] as const;
export type CommentTarget = (typeof COMMENT_TARGETS)[number];

/** Synthetic unique keys: the database enforces "one like per user and target". */
export const targetKey = (type: string, id: string) => `${type}:${id}`;
export const likeKey = (userId: string, type: string, id: string) => `${userId}:${type}:${id}`;
export const followKey = (followerId: string, followeeId: string) => `${followerId}:${followeeId}`;

/** True for an http(s) URL; anything else (javascript:, data:, ftp:) is refused. */
export function isHttpUrl(value: string): boolean {
	try {
		const u = new URL(value);
		return u.protocol === "http:" || u.protocol === "https:";
	} catch {
		return false;
	}
}
