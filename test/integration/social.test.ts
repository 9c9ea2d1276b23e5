import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceSchema } from "moleculer";
import { client, registerUser, startHarness, type Harness } from "../support/harness";

/**
 * Posts, follows, likes and comments over real HTTP. The chat service is represented by a tiny
 * schema answering `chat.isModerator` from a set, so comment moderation by channel moderators
 * is exercised without the whole chat stack.
 */
const moderators = new Set<string>();
const chatStub: Partial<ServiceSchema> = {
	name: "chat",
	actions: {
		isModerator: {
			visibility: "public",
			handler(ctx: any) {
				return moderators.has(`${ctx.params.channel}:${ctx.params.userId}`);
			},
		},
	},
};

/** Minimal donations: `donations.get` answers a paid and a pending donation for one streamer. */
const donationOwner: { id?: string; username?: string; donorId?: string } = {};
const donationsStub: Partial<ServiceSchema> = {
	name: "donations",
	actions: {
		get: {
			visibility: "public",
			handler(ctx: any) {
				const status = ctx.params.id === "don_paid" ? "paid" : ctx.params.id === "don_pending" ? "pending" : null;
				return status
					? { id: ctx.params.id, recipientId: donationOwner.id, recipientUsername: donationOwner.username, donorId: donationOwner.donorId, status }
					: null;
			},
		},
	},
};

let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({ services: ["users", "posts", "likes", "comments", "follows"], extra: [chatStub], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(() => h?.stop());

describe("posts", () => {
	it("creates, reads, edits and deletes a post; only the author may change it", async () => {
		const author = await registerUser(h.url, "poster");
		const other = await registerUser(h.url, "other");
		const created = await api(
			"POST",
			"/api/posts",
			{ title: "Stream schedule", body: "Friday 8pm", mediaUrl: "https://example.test/a.png" },
			{ token: author.token },
		);
		expect(created.status).toBe(201);
		expect(created.body).toMatchObject({ title: "Stream schedule", likeCount: 0, commentCount: 0, liked: false, author: { username: author.username } });
		const id = created.body.id;

		expect((await api("PATCH", `/api/posts/${id}`, { title: "hacked" }, { token: other.token })).status).toBe(403);
		expect((await api("DELETE", `/api/posts/${id}`, undefined, { token: other.token })).status).toBe(403);
		const edited = await api("PATCH", `/api/posts/${id}`, { title: "Schedule v2" }, { token: author.token });
		expect(edited.status).toBe(200);
		expect(edited.body.title).toBe("Schedule v2");
		expect((await api("GET", `/api/posts/${id}`)).body.title).toBe("Schedule v2");

		const list = await api("GET", `/api/users/${author.username}/posts?limit=10`);
		expect(list.status).toBe(200);
		expect(list.body.items.map((p: any) => p.id)).toEqual([id]);
		expect(list.body.nextCursor).toBeNull();

		expect((await api("DELETE", `/api/posts/${id}`, undefined, { token: author.token })).status).toBe(204);
		expect((await api("GET", `/api/posts/${id}`)).status).toBe(404);
	});

	it("enforces text limits and http(s) media URLs with 422, anonymous with 401", async () => {
		const u = await registerUser(h.url, "limits");
		expect((await api("POST", "/api/posts", { title: "x".repeat(201), body: "b" }, { token: u.token })).status).toBe(422);
		expect((await api("POST", "/api/posts", { title: "t", body: "b".repeat(10_001) }, { token: u.token })).status).toBe(422);
		const js = await api("POST", "/api/posts", { title: "t", body: "b", mediaUrl: "javascript:alert(1)" }, { token: u.token });
		expect(js.status).toBe(422);
		expect(js.body.data[0].field).toBe("mediaUrl");
		expect((await api("POST", "/api/posts", { title: "t", body: "b" })).status).toBe(401);
		expect((await api("GET", "/api/users/nobody_at_all/posts")).status).toBe(404);
	});

	it("pages a channel's posts newest first with a cursor", async () => {
		const u = await registerUser(h.url, "pager");
		const ids: string[] = [];
		for (let i = 0; i < 5; i++) ids.push((await api("POST", "/api/posts", { title: `p${i}`, body: "b" }, { token: u.token })).body.id);
		const first = await api("GET", `/api/users/${u.username}/posts?limit=3`);
		expect(first.body.items.map((p: any) => p.id)).toEqual(ids.slice(2).reverse());
		const second = await api("GET", `/api/users/${u.username}/posts?limit=3&cursor=${first.body.nextCursor}`);
		expect(second.body.items.map((p: any) => p.id)).toEqual(ids.slice(0, 2).reverse());
		expect(second.body.nextCursor).toBeNull();
	});
});

describe("follows", () => {
	it("follow and unfollow are idempotent and keep followerCount exact", async () => {
		const streamer = await registerUser(h.url, "streamer");
		const fan = await registerUser(h.url, "fan");
		// The streamer's own account view reads the stored count directly.
		const count = async () => (await api("GET", "/api/auth/me", undefined, { token: streamer.token })).body.followerCount;

		const twice = await Promise.all([1, 2, 3].map(() => api("PUT", `/api/users/${streamer.username}/follow`, undefined, { token: fan.token })));
		expect(twice.map((r) => r.status)).toEqual([204, 204, 204]);
		expect(await count()).toBe(1);
		expect(await h.broker.call("follows.isFollowing", { followerId: fan.id, followeeId: streamer.id })).toBe(true);

		const followers = await api("GET", `/api/users/${streamer.username}/followers`);
		expect(followers.status).toBe(200);
		expect(followers.body.items.map((f: any) => f.username)).toEqual([fan.username]);

		const un = await Promise.all([1, 2].map(() => api("DELETE", `/api/users/${streamer.username}/follow`, undefined, { token: fan.token })));
		expect(un.map((r) => r.status)).toEqual([204, 204]);
		expect(await count()).toBe(0);
		expect(await h.broker.call("follows.isFollowing", { followerId: fan.id, followeeId: streamer.id })).toBe(false);
		expect((await api("GET", `/api/users/${streamer.username}/followers`)).body.items).toEqual([]);
	});

	it("refuses following yourself (422), unknown users (404) and anonymous callers (401)", async () => {
		const u = await registerUser(h.url, "selfie");
		expect((await api("PUT", `/api/users/${u.username}/follow`, undefined, { token: u.token })).status).toBe(422);
		expect((await api("PUT", "/api/users/no_such_user_x/follow", undefined, { token: u.token })).status).toBe(404);
		expect((await api("PUT", `/api/users/${u.username}/follow`)).status).toBe(401);
	});
});

describe("likes", () => {
	it("50 concurrent likes then unlikes from different users leave the exact count", async () => {
		const author = await registerUser(h.url, "liked");
		const post = (await api("POST", "/api/posts", { title: "like me", body: "please" }, { token: author.token })).body;
		const fans = await Promise.all(Array.from({ length: 50 }, (_, i) => registerUser(h.url, `lk${i}_`)));

		// Every fan likes twice at the same time: 100 concurrent PUTs, 50 distinct likes.
		const likes = await Promise.all(fans.flatMap((f) => [1, 2].map(() => api("PUT", `/api/likes/post/${post.id}`, undefined, { token: f.token }))));
		expect(likes.every((r) => r.status === 200 && r.body.liked === true)).toBe(true);
		expect((await api("GET", `/api/likes/post/${post.id}`)).body).toEqual({ count: 50, liked: false });
		expect((await api("GET", `/api/posts/${post.id}`, undefined, { token: fans[0].token })).body).toMatchObject({ likeCount: 50, liked: true });

		// Half unlike concurrently (each twice) while the other half like again.
		const half = fans.slice(0, 25);
		const rest = fans.slice(25);
		const mixed = await Promise.all([
			...half.flatMap((f) => [1, 2].map(() => api("DELETE", `/api/likes/post/${post.id}`, undefined, { token: f.token }))),
			...rest.map((f) => api("PUT", `/api/likes/post/${post.id}`, undefined, { token: f.token })),
		]);
		expect(mixed.every((r) => r.status === 200)).toBe(true);
		expect((await api("GET", `/api/likes/post/${post.id}`, undefined, { token: fans[0].token })).body).toEqual({ count: 25, liked: false });
		expect((await api("GET", `/api/likes/post/${post.id}`, undefined, { token: fans[30].token })).body).toEqual({ count: 25, liked: true });

		await Promise.all(rest.map((f) => api("DELETE", `/api/likes/post/${post.id}`, undefined, { token: f.token })));
		expect((await api("GET", `/api/posts/${post.id}`)).body.likeCount).toBe(0);
	});

	it("answers 404 for missing targets and 422 for unknown types", async () => {
		const u = await registerUser(h.url, "liker");
		expect((await api("PUT", "/api/likes/post/01ARZ3NDEKTSV4RRFFQ69G5FAV", undefined, { token: u.token })).status).toBe(404);
		expect((await api("PUT", "/api/likes/comment/01ARZ3NDEKTSV4RRFFQ69G5FAV", undefined, { token: u.token })).status).toBe(404);
		expect((await api("PUT", "/api/likes/user/abc", undefined, { token: u.token })).status).toBe(422);
	});

	it("likes and comments on paid donations by their donor; pending or unknown donations are 404", async () => {
		const streamer = await registerUser(h.url, "donee");
		const fan = await registerUser(h.url, "donfan");
		Object.assign(donationOwner, { id: streamer.id, username: streamer.username, donorId: fan.id });
		const svc = h.broker.createService(donationsStub as ServiceSchema);
		await h.broker.waitForServices("donations");
		try {
			expect((await api("PUT", "/api/likes/donation/don_paid", undefined, { token: fan.token })).body).toEqual({ count: 1, liked: true });
			expect((await api("PUT", "/api/likes/donation/don_pending", undefined, { token: fan.token })).status).toBe(404);
			expect((await api("PUT", "/api/likes/donation/don_nope", undefined, { token: fan.token })).status).toBe(404);
			const c = await api("POST", "/api/comments", { type: "donation", id: "don_paid", text: "thanks!" }, { token: fan.token });
			expect(c.status).toBe(201);
			// The donation's recipient owns it, so may delete comments on it.
			expect((await api("DELETE", `/api/comments/${c.body.id}`, undefined, { token: streamer.token })).status).toBe(204);
		} finally {
			await h.broker.destroyService(svc);
		}
		// Without a donations service: a clear 503, not a 500.
		const down = await api("PUT", "/api/likes/donation/don_paid", undefined, { token: fan.token });
		expect(down.status).toBe(503);
		expect(down.body.type).toBe("SERVICE_UNAVAILABLE");
	});
});

describe("comments", () => {
	it("comments, replies one level deep, and keeps commentCount", async () => {
		const owner = await registerUser(h.url, "cowner");
		const a = await registerUser(h.url, "ca");
		const b = await registerUser(h.url, "cb");
		const post = (await api("POST", "/api/posts", { title: "t", body: "b" }, { token: owner.token })).body;
		const top = await api("POST", "/api/comments", { type: "post", id: post.id, text: "first!" }, { token: a.token });
		expect(top.status).toBe(201);
		expect(top.body).toMatchObject({ text: "first!", parentId: null, author: { username: a.username } });
		const reply = await api("POST", "/api/comments", { type: "post", id: post.id, text: "welcome", parentId: top.body.id }, { token: b.token });
		expect(reply.status).toBe(201);
		const deep = await api("POST", "/api/comments", { type: "post", id: post.id, text: "too deep", parentId: reply.body.id }, { token: a.token });
		expect(deep.status).toBe(422);
		expect((await api("POST", "/api/comments", { type: "post", id: post.id, text: "x".repeat(1001) }, { token: a.token })).status).toBe(422);
		expect((await api("POST", "/api/comments", { type: "post", id: "01ARZ3NDEKTSV4RRFFQ69G5FAV", text: "hi" }, { token: a.token })).status).toBe(404);

		const list = await api("GET", `/api/comments?type=post&id=${post.id}`);
		expect(list.status).toBe(200);
		expect(list.body.items).toHaveLength(1);
		expect(list.body.items[0]).toMatchObject({ id: top.body.id, replyCount: 1 });
		const replies = await api("GET", `/api/comments?type=post&id=${post.id}&parentId=${top.body.id}`);
		expect(replies.body.items.map((c: any) => c.id)).toEqual([reply.body.id]);
		expect((await api("GET", `/api/posts/${post.id}`)).body.commentCount).toBe(2);

		// Likes work on comments too.
		expect((await api("PUT", `/api/likes/comment/${top.body.id}`, undefined, { token: b.token })).body).toEqual({ count: 1, liked: true });

		// Deleting the top-level comment takes its reply with it.
		expect((await api("DELETE", `/api/comments/${top.body.id}`, undefined, { token: a.token })).status).toBe(204);
		expect((await api("GET", `/api/posts/${post.id}`)).body.commentCount).toBe(0);
		expect((await api("GET", `/api/likes/comment/${top.body.id}`)).status).toBe(404);
	});

	it("deletion: author, target owner, channel moderator and admin may; others get 403", async () => {
		const owner = await registerUser(h.url, "downer");
		const author = await registerUser(h.url, "dauthor");
		const mod = await registerUser(h.url, "dmod");
		const stranger = await registerUser(h.url, "dstranger");
		const admin = await registerUser(h.url, "dadmin");
		await h.broker.call("users.setRoles", { username: admin.username, roles: ["user", "admin"] });
		const adminToken = (await api("POST", "/api/auth/login", { login: admin.username, password: "correct horse battery" })).body.accessToken;
		moderators.add(`${owner.username}:${mod.id}`);

		const post = (await api("POST", "/api/posts", { title: "t", body: "b" }, { token: owner.token })).body;
		const comment = async () =>
			(await api("POST", "/api/comments", { type: "post", id: post.id, text: "hello" }, { token: author.token })).body.id as string;

		const c1 = await comment();
		expect((await api("DELETE", `/api/comments/${c1}`, undefined, { token: stranger.token })).status).toBe(403);
		expect((await api("DELETE", `/api/comments/${c1}`)).status).toBe(401);
		expect((await api("DELETE", `/api/comments/${c1}`, undefined, { token: author.token })).status).toBe(204);
		expect((await api("DELETE", `/api/comments/${c1}`, undefined, { token: author.token })).status).toBe(404);

		for (const token of [owner.token, mod.token, adminToken]) {
			const id = await comment();
			expect((await api("DELETE", `/api/comments/${id}`, undefined, { token })).status).toBe(204);
		}
		// A moderator of a different channel is not a moderator here.
		moderators.delete(`${owner.username}:${mod.id}`);
		const c5 = await comment();
		expect((await api("DELETE", `/api/comments/${c5}`, undefined, { token: mod.token })).status).toBe(403);
		expect((await api("GET", `/api/posts/${post.id}`)).body.commentCount).toBe(1);
	});
});
