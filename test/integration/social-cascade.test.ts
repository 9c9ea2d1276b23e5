import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * Deleting a post takes its comments, their replies and every like on any of them; deleting a
 * comment takes its replies' likes too. Counters that drifted are recomputed by `recount`.
 */
let h: Harness;
let api: ReturnType<typeof client>;
beforeAll(async () => {
	h = await startHarness({ services: ["users", "posts", "comments", "likes", "follows", "chat"], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(() => h?.stop());

const likeRows = () => (h.broker.getLocalService("likes") as any).store.count({});

describe("social cascade and recount", () => {
	it("deleting a post removes the likes on its comments and replies", async () => {
		const [author, fan] = await Promise.all([registerUser(h.url, "casc"), registerUser(h.url, "cfan")]);
		const post = (await api("POST", "/api/posts", { title: "t", body: "b" }, { token: author.token })).body;
		const c1 = (await api("POST", "/api/comments", { type: "post", id: post.id, text: "first" }, { token: fan.token })).body;
		const r1 = (await api("POST", "/api/comments", { type: "post", id: post.id, text: "reply", parentId: c1.id }, { token: author.token })).body;
		const c2 = (await api("POST", "/api/comments", { type: "post", id: post.id, text: "second" }, { token: fan.token })).body;
		const before = await likeRows();
		for (const [type, id] of [
			["post", post.id],
			["comment", c1.id],
			["comment", r1.id],
			["comment", c2.id],
		]) {
			expect((await api("PUT", `/api/likes/${type}/${id}`, undefined, { token: fan.token })).status).toBe(200);
		}
		expect(await likeRows()).toBe(before + 4);

		// Deleting one comment takes its reply's like too.
		expect((await api("DELETE", `/api/comments/${c1.id}`, undefined, { token: author.token })).status).toBe(204);
		await waitFor(async () => (await likeRows()) === before + 2, 3000, "likes of the comment and its reply gone");
		expect((await api("DELETE", `/api/posts/${post.id}`, undefined, { token: author.token })).status).toBe(204);
		await waitFor(async () => (await likeRows()) === before, 3000, "every like of the post gone");
	});

	it("recount repairs a like or comment count that drifted", async () => {
		const [author, fan] = await Promise.all([registerUser(h.url, "recount"), registerUser(h.url, "rfan")]);
		const post = (await api("POST", "/api/posts", { title: "t", body: "b" }, { token: author.token })).body;
		await api("PUT", `/api/likes/post/${post.id}`, undefined, { token: fan.token });
		await api("POST", "/api/comments", { type: "post", id: post.id, text: "hi" }, { token: fan.token });
		// A crash between a row and its counter leaves them apart.
		await (h.broker.getLocalService("likes") as any).stores.like_counts.upsert({ _id: `post:${post.id}` }, { $set: { count: 7 } });
		await (h.broker.getLocalService("comments") as any).stores.comment_counts.upsert({ _id: `post:${post.id}` }, { $set: { count: 0 } });
		expect((await api("GET", `/api/posts/${post.id}`)).body).toMatchObject({ likeCount: 7, commentCount: 0 });
		expect(await h.broker.call("likes.recount", { type: "post", id: post.id })).toEqual({ type: "post", id: post.id, count: 1 });
		expect(await h.broker.call("comments.recount", { type: "post", id: post.id })).toEqual({ type: "post", id: post.id, count: 1 });
		expect((await api("GET", `/api/posts/${post.id}`)).body).toMatchObject({ likeCount: 1, commentCount: 1 });
	});
});
