import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import type { Socket } from "socket.io-client";
import { client, collect, connectSocket, nextEvent, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * The inbox end to end: channel messages in (as the donations and chat services send them),
 * REST and live Socket.IO out, email through a real SMTP conversation with a local sink.
 */
interface Mail {
	to: string[];
	raw: string;
}
const inbox: Mail[] = [];
const refusedOnce = new Set<string>();
let smtp: SMTPServer;
let h: Harness;
let api: ReturnType<typeof client>;
const sockets: Socket[] = [];

function startSink(): Promise<number> {
	smtp = new SMTPServer({
		authOptional: true,
		disabledCommands: ["STARTTLS", "AUTH"],
		logger: false,
		onRcptTo(address, _session, cb) {
			// "flaky" recipients are refused once with a temporary error, like a greylisting server.
			if (address.address.startsWith("flaky") && !refusedOnce.has(address.address)) {
				refusedOnce.add(address.address);
				const err = new Error("Greylisted, try again later") as Error & { responseCode: number };
				err.responseCode = 451;
				return cb(err);
			}
			cb();
		},
		onData(stream, session, cb) {
			let raw = "";
			stream.on("data", (c: Buffer) => (raw += c.toString()));
			stream.on("end", () => {
				inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
				cb();
			});
		},
	});
	return new Promise((resolve) => smtp.listen(0, "127.0.0.1", () => resolve((smtp.server.address() as AddressInfo).port)));
}

/** Sign-up also mails the email-verification link (account emails, keyed `account:`): these tests count notification emails. */
const notificationMails = (to: string) => inbox.filter((m) => m.to.includes(to) && !m.raw.includes("Subject: [MediaShar] Confirm your email address"));
const notificationRows = async (to: string) =>
	((await h.broker.call<any, any>("mailer.list", { to })).items as Array<{ key: string; status: string; attempts: number }>).filter(
		(r) => !r.key.startsWith("account:"),
	);

let donationSeq = 0;
function donation(recipient: { id: string; username: string }, extra: Record<string, unknown> = {}) {
	donationSeq++;
	return {
		id: `don_${Date.now()}_${donationSeq}`,
		recipientId: recipient.id,
		recipientUsername: recipient.username,
		donorName: "Budi",
		amount: 1_000_000,
		currency: "IDR",
		formattedAmount: "Rp 10.000",
		message: "semangat!",
		status: "paid",
		...extra,
	};
}

/** Publishes a channel message exactly as the producing service would. */
function send(channel: string, payload: unknown): Promise<void> {
	return (h.broker as unknown as { sendToChannel(c: string, p: unknown): Promise<void> }).sendToChannel(channel, payload);
}

async function socketFor(token: string) {
	const s = await connectSocket(h.url, "/", { token });
	sockets.push(s);
	return s;
}

beforeAll(async () => {
	const port = await startSink();
	h = await startHarness({
		services: ["users", "notifications", "mailer", "posts", "likes", "follows", "comments"],
		env: { SCRYPT_COST: "1024", SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_RETRY_BASE_MS: "50", MAIL_SWEEP_MS: "50", NOTIFY_SWEEP_MS: "100" },
	});
	api = client(h.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await h?.stop();
	await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
});

describe("notification inbox", () => {
	it("a paid donation lands in the streamer's inbox and is pushed live, once", async () => {
		const streamer = await registerUser(h.url, "nstreamer");
		const bystander = await registerUser(h.url, "nbystander");
		const socket = await socketFor(streamer.token);
		const secondTab = await socketFor(streamer.token);
		const otherUser = await socketFor(bystander.token);
		const anonymous = await connectSocket(h.url, "/");
		sockets.push(anonymous);
		const seen = collect(socket, "notification");
		const otherLeaks = collect(otherUser, "notification");
		const anonLeaks = collect(anonymous, "notification");
		const d = donation(streamer);
		const live = nextEvent(socket, "notification");
		const liveTab = nextEvent(secondTab, "notification");
		await send("donations.paid", { donation: d });
		const pushed = await live;
		expect(await liveTab).toEqual(pushed);
		expect(pushed).toMatchObject({ type: "donation.received", read: false, data: { donationId: d.id, formattedAmount: "Rp 10.000" } });
		expect(pushed.title).toContain("Rp 10.000");
		expect(typeof pushed.id).toBe("string");
		expect(typeof pushed.createdAt).toBe("string");

		// A redelivered message changes nothing; a reversal is a second notification.
		await send("donations.paid", { donation: d });
		await send("donations.reversed", { donation: { ...d, status: "reversed" } });
		await waitFor(() => seen.length >= 2, 5000, "reversal push");
		const list = await api("GET", "/api/notifications", undefined, { token: streamer.token });
		expect(list.status).toBe(200);
		expect(list.body.items.map((n: any) => n.type)).toEqual(["donation.reversed", "donation.received"]);
		expect(seen.map((n) => n.type)).toEqual(["donation.received", "donation.reversed"]);
		// Only the streamer's sockets heard about it.
		expect([...otherLeaks, ...anonLeaks]).toEqual([]);
		expect((await api("GET", "/api/notifications/unread-count", undefined, { token: streamer.token })).body).toEqual({ count: 2 });
	});

	it("read, read-all and unread filters; nobody reads another user's inbox", async () => {
		const streamer = await registerUser(h.url, "rstreamer");
		const snoop = await registerUser(h.url, "snoop");
		for (let i = 0; i < 3; i++) await send("donations.paid", { donation: donation(streamer) });
		const all = await waitFor(
			async () => {
				const r = await api("GET", "/api/notifications", undefined, { token: streamer.token });
				return r.body.items.length === 3 ? r.body.items : null;
			},
			5000,
			"three notifications",
		);
		const one = all[1].id;

		expect((await api("POST", `/api/notifications/${one}/read`, undefined, { token: snoop.token })).status).toBe(404);
		expect((await api("GET", "/api/notifications", undefined, { token: snoop.token })).body.items).toEqual([]);
		expect((await api("GET", "/api/notifications")).status).toBe(401);

		const read = await api("POST", `/api/notifications/${one}/read`, undefined, { token: streamer.token });
		expect(read.status).toBe(200);
		expect(read.body).toMatchObject({ id: one, read: true });
		expect((await api("GET", "/api/notifications/unread-count", undefined, { token: streamer.token })).body.count).toBe(2);
		const unread = await api("GET", "/api/notifications?unread=true", undefined, { token: streamer.token });
		expect(unread.body.items.map((n: any) => n.id)).toEqual([all[0].id, all[2].id]);

		const page1 = await api("GET", "/api/notifications?limit=2", undefined, { token: streamer.token });
		expect(page1.body.items).toHaveLength(2);
		const page2 = await api("GET", `/api/notifications?limit=2&cursor=${page1.body.nextCursor}`, undefined, { token: streamer.token });
		expect(page2.body.items.map((n: any) => n.id)).toEqual([all[2].id]);
		expect(page2.body.nextCursor).toBeNull();

		expect((await api("POST", "/api/notifications/read-all", undefined, { token: streamer.token })).body).toEqual({ updated: 2 });
		expect((await api("GET", "/api/notifications/unread-count", undefined, { token: streamer.token })).body.count).toBe(0);
		expect((await api("GET", "/api/notifications?unread=true", undefined, { token: streamer.token })).body.items).toEqual([]);
	});

	it("groups likes on one target into one notification", async () => {
		const author = await registerUser(h.url, "gauthor");
		const socket = await socketFor(author.token);
		const pushes = collect(socket, "notification");
		const post = (await api("POST", "/api/posts", { title: "group me", body: "b" }, { token: author.token })).body;
		const fans = await Promise.all(Array.from({ length: 5 }, (_, i) => registerUser(h.url, `gf${i}_`)));
		for (const f of fans) expect((await api("PUT", `/api/likes/post/${post.id}`, undefined, { token: f.token })).status).toBe(200);
		// The author liking their own post and a fan re-liking do not count.
		await api("PUT", `/api/likes/post/${post.id}`, undefined, { token: author.token });
		await api("DELETE", `/api/likes/post/${post.id}`, undefined, { token: fans[0].token });
		await api("PUT", `/api/likes/post/${post.id}`, undefined, { token: fans[0].token });

		const likes = await waitFor(
			async () => {
				const r = await api("GET", "/api/notifications", undefined, { token: author.token });
				const l = r.body.items.filter((n: any) => n.type === "like");
				return l.length === 1 && l[0].data.count === 5 ? l : null;
			},
			5000,
			"grouped like notification",
		);
		expect(likes[0].title).toBe(`${fans[4].username} and 4 others liked your post`);
		expect(likes[0].data).toMatchObject({ targetType: "post", targetId: post.id, count: 5 });
		expect(likes[0].data.users[0]).toBe(fans[4].username);
		// Live pushes carry the same notification id, updated as likes arrive.
		await waitFor(() => pushes.some((p) => p.data?.count === 5), 5000, "live grouped push");
		expect(new Set(pushes.filter((p) => p.type === "like").map((p) => p.id))).toEqual(new Set([likes[0].id]));
		expect((await api("GET", "/api/notifications/unread-count", undefined, { token: author.token })).body.count).toBe(1);
	});

	it("follows, comments, replies, mentions and DMs notify the right people", async () => {
		const streamer = await registerUser(h.url, "fstreamer");
		const fan = await registerUser(h.url, "ffan");
		const other = await registerUser(h.url, "fother");
		expect((await api("PUT", `/api/users/${streamer.username}/follow`, undefined, { token: fan.token })).status).toBe(204);
		const post = (await api("POST", "/api/posts", { title: "t", body: "b" }, { token: streamer.token })).body;
		const top = (await api("POST", "/api/comments", { type: "post", id: post.id, text: "nice stream" }, { token: fan.token })).body;
		await api("POST", "/api/comments", { type: "post", id: post.id, text: "agreed", parentId: top.id }, { token: other.token });
		await send("chat.mentioned", {
			messageId: `m_${Date.now()}`,
			channel: streamer.username,
			from: { id: other.id, username: other.username },
			userIds: [fan.id, other.id],
			text: `hi @${fan.username}`,
		});
		await send("chat.dm", {
			conversationId: "c1",
			messageId: `dm_${Date.now()}`,
			from: { id: other.id, username: other.username },
			to: streamer.id,
			text: "collab?",
		});

		const types = async (token: string) => (await api("GET", "/api/notifications", undefined, { token })).body.items.map((n: any) => n.type).sort();
		await waitFor(
			async () => JSON.stringify(await types(streamer.token)) === JSON.stringify(["comment", "comment", "dm", "follow"]),
			5000,
			"streamer notifications",
		);
		await waitFor(async () => JSON.stringify(await types(fan.token)) === JSON.stringify(["comment", "mention"]), 5000, "fan notifications");
		expect(await types(other.token)).toEqual([]);
		const fanItems = (await api("GET", "/api/notifications", undefined, { token: fan.token })).body.items;
		expect(fanItems.find((n: any) => n.type === "comment").title).toContain("replied to your comment");
	});
});

describe("email", () => {
	it("emails a user who opted in for the type, and not one who did not", async () => {
		const optedIn = await registerUser(h.url, "mailyes");
		const optedOut = await registerUser(h.url, "mailno");
		// "donation" is the family switch for donation.received and donation.reversed.
		const set = await api("PATCH", "/api/users/me", { settings: { email: { donation: true } } }, { token: optedIn.token });
		expect(set.status).toBe(200);
		expect((await api("PATCH", "/api/users/me", { settings: { email: { donation: false, follow: true } } }, { token: optedOut.token })).status).toBe(200);

		await send("donations.paid", { donation: donation(optedOut) });
		await send("donations.paid", { donation: donation(optedIn, { donorName: "Sari" }) });
		const mail = await waitFor(() => notificationMails(optedIn.user.email)[0], 5000, "email at the sink");
		expect(mail?.raw).toContain("Subject: [MediaShar] Sari donated Rp 10.000");
		// The opted-out user's notification exists, and no email was queued or sent for it.
		await waitFor(
			async () => (await api("GET", "/api/notifications", undefined, { token: optedOut.token })).body.items.length === 1,
			5000,
			"opted-out notification",
		);
		await waitFor(async () => (await notificationRows(optedIn.user.email))[0]?.status === "sent", 5000, "sent status");
		expect(await notificationRows(optedOut.user.email)).toEqual([]);
		expect(notificationMails(optedOut.user.email)).toEqual([]);
	});

	it("retries an email the SMTP server refused temporarily, and sends it once", async () => {
		const flaky = await registerUser(h.url, "flaky");
		// The sign-up's verification email met the greylisting first; greylist the address afresh for the notification.
		await waitFor(
			async () =>
				((await h.broker.call<any, any>("mailer.list", { to: flaky.user.email })).items as Array<{ status: string }>).some((r) => r.status === "sent"),
			5000,
			"verification email sent",
		);
		refusedOnce.delete(flaky.user.email);
		await api("PATCH", "/api/users/me", { settings: { email: { follow: true } } }, { token: flaky.token });
		const fan = await registerUser(h.url, "flakyfan");
		expect((await api("PUT", `/api/users/${flaky.username}/follow`, undefined, { token: fan.token })).status).toBe(204);
		const row = await waitFor(
			async () => {
				const r = (await notificationRows(flaky.user.email))[0];
				return r?.status === "sent" ? r : null;
			},
			5000,
			"email sent after a retry",
		);
		expect(row?.attempts).toBe(2);
		expect(refusedOnce.has(flaky.user.email)).toBe(true);
		expect(notificationMails(flaky.user.email)).toHaveLength(1);
	});
});
