import type { Context } from "moleculer";
import { SocialMixin, type SocialSchema, type Ctx as AnyCtx, type Identity } from "../../mixins/social.mixin";
import { newId } from "../../lib/tools/ids";
import { invalid, notFound } from "../../lib/tools/errors";
import { loaded } from "../../lib/domain/permissions";
import { MEDIA_URL_MAX, POST_BODY_MAX, POST_TITLE_MAX, isHttpUrl } from "../../lib/domain/social/limits";
import { ID, PAGE, USERNAME, type PageParams } from "../../lib/domain/social/params";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Streamer posts. Like and comment counts are kept by the likes and comments services (one
 * counter document per target, changed only by the insert or delete that really happened) and
 * read here in one batched call per page.
 */

interface PostDoc {
	_id: string;
	authorId: string;
	title: string;
	body: string;
	mediaUrl: string | null;
	createdAt: string;
	updatedAt: string;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

/** What a client sees of a post. */
interface PostView {
	id: string;
	author: Identity;
	title: string;
	body: string;
	mediaUrl: string | null;
	likeCount: number;
	liked: boolean;
	commentCount: number;
	createdAt: string;
	updatedAt: string;
}

type LikeSummary = Record<string, { count: number; liked: boolean }>;

interface Methods {
	checkMediaUrl(url: string | null | undefined): void;
	/** The id of the post to change: the one "post.author" checked, else (system calls) an existing one. */
	postToChange(ctx: AnyCtx, id: string): Promise<string>;
	views(ctx: AnyCtx, docs: PostDoc[]): Promise<PostView[]>;
}
const MEDIA_URL = {
	type: "multi",
	optional: true,
	rules: [
		{ type: "url", max: MEDIA_URL_MAX },
		{ type: "equal", value: null },
	],
};

const schema: SocialSchema<PostDoc, Methods> = {
	name: "posts",
	mixins: [SocialMixin<PostDoc>({ collection: "posts", indexes: [{ fields: "authorId" }] })],

	actions: {
		/** Publish a post on the caller's channel. */
		create: {
			rest: "POST /posts",
			status: 201,
			// Never retried by the broker: a second run would make a second post.
			retryPolicy: { enabled: false },
			auth: "required",
			params: {
				title: { type: "string", text: "line", min: 1, max: POST_TITLE_MAX },
				body: { type: "string", text: "block", min: 1, max: POST_BODY_MAX },
				mediaUrl: MEDIA_URL,
			},
			async handler(ctx: Ctx<{ title: string; body: string; mediaUrl?: string | null }>) {
				const p = ctx.params;
				this.checkMediaUrl(p.mediaUrl);
				const now = new Date().toISOString();
				const doc: PostDoc = {
					_id: newId(),
					authorId: ctx.meta.user!.id,
					title: p.title,
					body: p.body,
					mediaUrl: p.mediaUrl ?? null,
					createdAt: now,
					updatedAt: now,
				};
				await this.store.insert(doc);
				return (await this.views(ctx, [doc]))[0];
			},
		},

		/** One post with likeCount, commentCount and whether the caller liked it. */
		get: {
			rest: "GET /posts/:id",
			auth: "optional",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.store.findById(ctx.params.id);
				if (!doc) throw notFound("Post");
				return (await this.views(ctx, [doc]))[0];
			},
		},

		/** Edit a post (author only). */
		update: {
			rest: "PATCH /posts/:id",
			auth: "required",
			permissions: ["post.author"],
			params: {
				id: ID,
				title: { type: "string", text: "line", min: 1, max: POST_TITLE_MAX, optional: true },
				body: { type: "string", text: "block", min: 1, max: POST_BODY_MAX, optional: true },
				mediaUrl: MEDIA_URL,
			},
			async handler(ctx: Ctx<{ id: string; title?: string; body?: string; mediaUrl?: string | null }>) {
				const id = await this.postToChange(ctx, ctx.params.id);
				const p = ctx.params;
				this.checkMediaUrl(p.mediaUrl);
				const $set: Record<string, unknown> = { updatedAt: new Date().toISOString() };
				if (p.title !== undefined) $set.title = p.title;
				if (p.body !== undefined) $set.body = p.body;
				if (p.mediaUrl !== undefined) $set.mediaUrl = p.mediaUrl;
				await this.store.updateMany({ _id: id }, { $set });
				const updated = await this.store.findById(id);
				if (!updated) throw notFound("Post");
				return (await this.views(ctx, [updated]))[0];
			},
		},

		/** Delete a post (author only); its likes and comments go with it. */
		remove: {
			rest: "DELETE /posts/:id",
			status: 204,
			auth: "required",
			permissions: ["post.author"],
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const id = await this.postToChange(ctx, ctx.params.id);
				const removed = await this.store.removeMany({ _id: id });
				if (removed) ctx.broadcast("social.targetRemoved", { type: "post", id });
				return null;
			},
		},

		/** A channel's posts, newest first. */
		listByUser: {
			rest: "GET /users/:username/posts",
			auth: "optional",
			params: {
				username: USERNAME,
				...PAGE,
			},
			async handler(ctx: Ctx<{ username: string } & PageParams>) {
				// Any known user, suspended ones included.
				const user = await this.userByName(ctx, ctx.params.username, true);
				const page = await this.store.page({ authorId: user.id }, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				return { items: await this.views(ctx, page.items), nextCursor: page.nextCursor };
			},
		},

		// ---- internal ----

		/** For likes and comments: does this post exist, and whose is it? */
		exists: {
			visibility: "public",
			params: { id: ID },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.store.findById(ctx.params.id);
				return doc ? { exists: true, ownerId: doc.authorId } : { exists: false };
			},
		},
	},

	methods: {
		checkMediaUrl(url: string | null | undefined) {
			if (url && !isHttpUrl(url)) throw invalid("mediaUrl", "mediaUrl must be an http(s) URL");
		},
		async postToChange(ctx: AnyCtx, id: string): Promise<string> {
			if (loaded(ctx, "post", id)) return id;
			const doc = await this.store.findById(id);
			if (!doc) throw notFound("Post");
			return doc._id;
		},
		/** Post views with author identity and counts, in one call per dependency for the page. */
		async views(ctx: AnyCtx, docs: PostDoc[]) {
			if (docs.length === 0) return [];
			const ids = docs.map((d) => d._id);
			const viewer = ctx.meta.user?.id;
			// Counts are decoration: a post still renders (with zeros) while a counter service restarts.
			const [authors, likes, comments] = await Promise.all([
				this.identities(
					ctx,
					docs.map((d) => d.authorId),
				),
				this.softCall<LikeSummary>(ctx, "likes.summary", { type: "post", ids, userId: viewer }),
				this.softCall<Record<string, number>>(ctx, "comments.counts", { type: "post", ids }),
			]);
			return docs.map((d) => ({
				id: d._id,
				author: authors.get(d.authorId) ?? { id: d.authorId },
				title: d.title,
				body: d.body,
				mediaUrl: d.mediaUrl,
				likeCount: likes?.[d._id]?.count ?? 0,
				liked: likes?.[d._id]?.liked ?? false,
				commentCount: comments?.[d._id] ?? 0,
				createdAt: d.createdAt,
				updatedAt: d.updatedAt,
			}));
		},
	},
};

export default schema;
