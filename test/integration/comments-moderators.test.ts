import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, type Harness } from "../support/harness";

// Channel moderators appointed in chat may delete comments on the channel owner's posts.
let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({ services: ["users", "chat", "moderation", "posts", "comments", "likes", "follows"], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(() => h?.stop());

describe("comment moderation by chat moderators", () => {
	it("a moderator appointed in chat deletes a comment; a plain viewer may not", async () => {
		const owner = await registerUser(h.url, "owner");
		const mod = await registerUser(h.url, "mod");
		const viewer = await registerUser(h.url, "viewer");
		const post = await api("POST", "/api/posts", { title: "Stream tonight", body: "8pm" }, { token: owner.token });
		expect(post.status).toBe(201);
		const comment = await api("POST", "/api/comments", { type: "post", id: post.body.id, text: "spam spam" }, { token: viewer.token });
		expect(comment.status).toBe(201);

		const other = await registerUser(h.url, "other");
		expect((await api("DELETE", `/api/comments/${comment.body.id}`, undefined, { token: other.token })).status).toBe(403);
		expect((await api("DELETE", `/api/comments/${comment.body.id}`, undefined, { token: mod.token })).status).toBe(403);

		expect((await api("PUT", `/api/channels/${owner.username}/moderators/${mod.id}`, undefined, { token: owner.token })).status).toBe(204);
		const del = await api("DELETE", `/api/comments/${comment.body.id}`, undefined, { token: mod.token });
		expect(del.status).toBe(204);
		const list = await api("GET", `/api/comments?type=post&id=${post.body.id}`);
		expect(list.body.items.map((c: any) => c.id)).not.toContain(comment.body.id);
	});
});
