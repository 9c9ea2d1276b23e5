import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, connectSocket, emitAck, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, sandboxWebhook, setupStreamer, waitStatus } from "../support/flow";

/**
 * Every owner-scoped route (an `auth: "required"` action that takes a resource id or a channel
 * name) refuses a signed-in stranger with 403 or 404 and leaves the resource unchanged.
 * The `/me/...` routes take no id: they can only ever reach the caller's own data, which the
 * last test checks from the stranger's side.
 */

const ENV = {
	SCRYPT_COST: "1024",
	ALERT_ACK_GRACE_MS: "500",
	ALERT_TICK_MS: "100",
	REDRIVE_INTERVAL_MS: "500",
	WEBHOOK_BLOCK_PRIVATE: "false",
	RATE_LIMIT_IP_PER_MIN: "100000",
};

describe("security: owner-scoped routes refuse other users", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;
	let owner: Awaited<ReturnType<typeof setupStreamer>>;
	let friend: Awaited<ReturnType<typeof registerUser>>;
	let intruder: Awaited<ReturnType<typeof registerUser>>;
	let receiver: http.Server;
	const ids: Record<string, string> = {};
	const sockets: Socket[] = [];

	beforeAll(async () => {
		receiver = http.createServer((req, res) => {
			req.resume();
			req.on("end", () => res.writeHead(200).end("ok"));
		});
		await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
		h = await startHarness({ env: ENV });
		api = client(h.url);
		owner = await setupStreamer(h.url);
		friend = await registerUser(h.url, "friend");
		intruder = await registerUser(h.url, "intruder");

		const hook = await api("PUT", "/api/me/webhook", { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }, { token: owner.token });
		expect(hook.status).toBe(200);

		// a paid donation from friend to owner (donation, payment, alert, ledger, notification, webhook delivery)
		const d = await donate(h.url, owner.username, { donorName: undefined }, { token: friend.token });
		expect(d.status).toBe(201);
		ids.donation = d.body.donation.id;
		ids.payment = d.body.payment.id;
		expect((await pay(h.url, ids.payment)).status).toBe(202);
		await waitStatus(h.url, owner.token, ids.donation, "paid");

		const post = await api("POST", "/api/posts", { title: "Owner's post", body: "hello" }, { token: owner.token });
		expect(post.status).toBe(201);
		ids.post = post.body.id;
		const comment = await api("POST", "/api/comments", { type: "post", id: ids.post, text: "owner's comment" }, { token: owner.token });
		expect(comment.status).toBe(201);
		ids.comment = comment.body.id;

		const conv = await api("POST", "/api/conversations", { with: friend.username }, { token: owner.token });
		expect([200, 201]).toContain(conv.status);
		ids.conversation = conv.body.id;
		const dm = await api("POST", `/api/conversations/${ids.conversation}/messages`, { text: "private hello" }, { token: owner.token });
		expect([200, 201]).toContain(dm.status);

		const s = await connectSocket(h.url, "/", { token: owner.token });
		sockets.push(s);
		expect((await emitAck(s, "chat:join", { channel: owner.username })).ok).toBe(true);
		const sent = await emitAck(s, "chat:send", { channel: owner.username, text: "owner's chat line" });
		expect(sent.ok).toBe(true);
		ids.chatMessage = sent.message.id;

		ids.notification = await waitFor(
			async () => (await api("GET", "/api/notifications", undefined, { token: owner.token })).body.items?.[0]?.id,
			8000,
			"owner notification",
		);
		ids.delivery = await waitFor(
			async () => (await api("GET", "/api/me/webhook/deliveries", undefined, { token: owner.token })).body.items?.[0]?.id,
			8000,
			"webhook delivery",
		);
	});

	afterAll(async () => {
		for (const s of sockets) s.close();
		await h?.stop();
		await new Promise((r) => receiver?.close(r));
	});

	const as = (token: string) => (method: string, path: string, body?: unknown) => api(method, path, body, { token });

	/** Every owner-scoped route with a resource id, as the stranger calls it. */
	const ROUTES: [method: string, path: () => string, body?: () => unknown][] = [
		["GET", () => `/api/donations/${ids.donation}`],
		["POST", () => `/api/payments/${ids.payment}/refund`],
		["POST", () => `/api/alerts/${ids.donation}/replay`],
		["POST", () => `/api/alerts/${ids.donation}/approve`],
		["POST", () => `/api/alerts/${ids.donation}/reject`],
		["PATCH", () => `/api/posts/${ids.post}`, () => ({ title: "defaced" })],
		["DELETE", () => `/api/posts/${ids.post}`],
		["DELETE", () => `/api/comments/${ids.comment}`],
		["GET", () => `/api/conversations/${ids.conversation}`],
		["GET", () => `/api/conversations/${ids.conversation}/messages`],
		["POST", () => `/api/conversations/${ids.conversation}/messages`, () => ({ text: "let me in" })],
		["POST", () => `/api/conversations/${ids.conversation}/read`],
		["DELETE", () => `/api/channels/${owner.username}/messages/${ids.chatMessage}`],
		["POST", () => `/api/channels/${owner.username}/bans`, () => ({ userId: friend.id })],
		["DELETE", () => `/api/channels/${owner.username}/bans/${friend.id}`],
		["GET", () => `/api/channels/${owner.username}/bans`],
		["PUT", () => `/api/channels/${owner.username}/moderators/${intruder.id}`],
		["DELETE", () => `/api/channels/${owner.username}/moderators/${friend.id}`],
		["PUT", () => `/api/channels/${owner.username}/settings`, () => ({ slowModeSec: 600, followersOnly: true })],
		["POST", () => `/api/notifications/${ids.notification}/read`],
		["POST", () => `/api/me/webhook/deliveries/${ids.delivery}/redeliver`],
	];

	it.each(ROUTES.map(([m, p, b]) => ({ name: `${m} ${p.toString().replace(/^\(\) => /, "")}`, m, p, b })))(
		"$name → 403/404 for a stranger, 401 anonymous",
		async ({ m, p, b }) => {
			const res = await as(intruder.token)(m, p(), b?.());
			expect([403, 404], `${m} ${p()} answered ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
			expect(res.body).toMatchObject({
				code: res.status,
				name: expect.any(String),
				message: expect.any(String),
				type: expect.stringMatching(/^[A-Z_]+$/),
			});
			const anon = await api(m, p(), b?.());
			expect(anon.status).toBe(401);
		},
	);

	it("likes and comments on a donation answer a stranger the same 404 as GET /api/donations/:id; donor and recipient may", async () => {
		const seen = await as(intruder.token)("GET", `/api/donations/${ids.donation}`);
		expect(seen.status).toBe(404);
		const missing = await as(intruder.token)("PUT", "/api/likes/donation/no_such_donation");
		expect(missing.status).toBe(404);
		const attempts: [string, string, unknown?][] = [
			["PUT", `/api/likes/donation/${ids.donation}`],
			["DELETE", `/api/likes/donation/${ids.donation}`],
			["GET", `/api/likes/donation/${ids.donation}`],
			["POST", "/api/comments", { type: "donation", id: ids.donation, text: "I know this exists" }],
			["GET", `/api/comments?type=donation&id=${ids.donation}`],
		];
		for (const [m, p, b] of attempts) {
			const res = await as(intruder.token)(m, p, b);
			expect(res.status, `${m} ${p}`).toBe(404);
			expect(res.body, `${m} ${p}`).toEqual(missing.body);
			expect(res.body).toMatchObject({ type: seen.body.type });
		}
		for (const [m, p] of attempts.filter(([m]) => m === "GET")) expect((await api(m, p)).status, `anonymous ${m} ${p}`).toBe(404);

		// The parties: the donor likes it, the recipient answers in a comment.
		expect((await as(friend.token)("PUT", `/api/likes/donation/${ids.donation}`)).body).toEqual({ count: 1, liked: true });
		const thanks = await as(owner.token)("POST", "/api/comments", { type: "donation", id: ids.donation, text: "thank you!" });
		expect(thanks.status).toBe(201);
		expect((await as(friend.token)("GET", `/api/comments?type=donation&id=${ids.donation}`)).body.items.map((c: any) => c.text)).toEqual(["thank you!"]);
		// A comment on the donation is as private as the donation: liking or answering it is a 404 too.
		expect((await as(intruder.token)("PUT", `/api/likes/comment/${thanks.body.id}`)).status).toBe(404);
		expect((await as(intruder.token)("POST", "/api/comments", { type: "donation", id: ids.donation, text: "re", parentId: thanks.body.id })).status).toBe(
			404,
		);
		expect((await as(friend.token)("PUT", `/api/likes/comment/${thanks.body.id}`)).body).toEqual({ count: 1, liked: true });
		expect((await as(owner.token)("GET", `/api/likes/donation/${ids.donation}`)).body).toEqual({ count: 1, liked: false });
	});

	it("left everything the stranger touched unchanged", async () => {
		const o = as(owner.token);
		expect((await o("GET", `/api/donations/${ids.donation}`)).body.status).toBe("paid");
		expect((await o("GET", `/api/payments/${ids.payment}`)).body.status).toBe("paid");
		const post = await o("GET", `/api/posts/${ids.post}`);
		expect(post.status).toBe(200);
		expect(post.body.title).toBe("Owner's post");
		const comments = await o("GET", `/api/comments?type=post&id=${ids.post}`);
		expect(comments.body.items.map((c: any) => c.id)).toContain(ids.comment);
		const msgs = await o("GET", `/api/conversations/${ids.conversation}/messages`);
		expect(msgs.body.items.map((m: any) => m.text)).toEqual(["private hello"]);
		const chat = await o("GET", `/api/channels/${owner.username}/messages`);
		expect(chat.body.items.map((m: any) => m.id)).toContain(ids.chatMessage);
		const settings = await o("GET", `/api/channels/${owner.username}/settings`);
		expect(settings.body).toMatchObject({ slowModeSec: 0, followersOnly: false });
		const mods = await o("GET", `/api/channels/${owner.username}/moderators`);
		expect(JSON.stringify(mods.body)).not.toContain(intruder.id);
		const unread = await o("GET", "/api/notifications?unread=true");
		expect(unread.body.items.map((n: any) => n.id)).toContain(ids.notification);
		// the stranger's list of conversations does not include the owner's
		const theirs = await as(intruder.token)("GET", "/api/conversations");
		expect(theirs.body.items).toEqual([]);
	});

	it("the /me routes only ever show the caller's own data", async () => {
		const i = as(intruder.token);
		expect((await i("GET", "/api/me/balance")).body.balances).toEqual([]);
		expect((await i("GET", "/api/me/ledger")).body.items).toEqual([]);
		expect((await i("GET", "/api/me/donations/received")).body.items).toEqual([]);
		expect((await i("GET", "/api/me/donations/sent")).body.items).toEqual([]);
		expect((await i("GET", "/api/notifications")).body.items).toEqual([]);
		expect((await i("GET", "/api/me/webhook/deliveries")).body.items).toEqual([]);
		expect((await i("GET", "/api/me/webhook")).status).toBe(404);
		expect((await i("GET", "/api/alerts/held")).body.items ?? []).toEqual([]);
		const q = await i("GET", "/api/alerts/queue");
		expect(JSON.stringify(q.body)).not.toContain(ids.donation);
	});

	it("prototype keys as path parameters are unknown resources (404), never a server error", async () => {
		for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
			const hook = await fetch(`${h.url}/api/payments/webhooks/${key}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
			expect(hook.status, key).toBe(404);
			expect((await hook.json()).type).toMatch(/^[A-Z_]+$/);
			const doc = await api("GET", `/api/docs/${key}`);
			expect(doc.status, key).toBe(404);
			expect(doc.body.code).toBe(404);
		}
	});

	it("an overlay token cannot be used as an access token, nor an access token as an overlay token", async () => {
		expect((await api("GET", "/api/auth/me", undefined, { token: owner.overlayToken })).status).toBe(401);
		await expect(connectSocket(h.url, "/overlay", { token: owner.token })).rejects.toThrow();
	});

	it("webhooks: forged, replayed outside the tolerance, or v0-only signatures → 400 and nothing changes", async () => {
		const d = await donate(h.url, owner.username);
		const paymentId = d.body.payment.id;
		const body = { payment_id: paymentId, status: "settlement" };
		expect((await sandboxWebhook(h.url, body, { secret: "forged-secret" })).status).toBe(400);
		expect((await sandboxWebhook(h.url, body, { t: Math.floor(Date.now() / 1000) - 301 })).status).toBe(400);
		expect((await sandboxWebhook(h.url, body, { t: Math.floor(Date.now() / 1000) + 3600 })).status).toBe(400);
		expect((await sandboxWebhook(h.url, body, { scheme: "v0" })).status).toBe(400);
		const unsigned = await fetch(`${h.url}/api/payments/webhooks/sandbox`, {
			method: "POST",
			headers: { "Content-Type": "application/json" },
			body: JSON.stringify({ event_id: "e1", ...body }),
		});
		expect(unsigned.status).toBe(400);
		// Stripe is not configured on this server: its endpoint does not exist (signatures: payments-providers).
		const stripe = await fetch(`${h.url}/api/payments/webhooks/stripe`, {
			method: "POST",
			headers: { "Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00" },
			body: "{}",
		});
		expect(stripe.status).toBe(404);
		expect((await api("GET", `/api/payments/${paymentId}`)).body.status).toBe("pending");
		// a genuine one within tolerance still works afterwards
		expect((await sandboxWebhook(h.url, body)).status).toBe(200);
		await waitStatus(h.url, owner.token, d.body.donation.id, "paid");
	});
});
