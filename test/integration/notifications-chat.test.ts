import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { client, connectSocket, emitAck, nextEvent, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/** The real chat service feeding the inbox: a chat mention and a DM become notifications. */
let h: Harness;
let api: ReturnType<typeof client>;
const sockets: Socket[] = [];

beforeAll(async () => {
	h = await startHarness({ services: ["users", "chat", "dm", "follows", "notifications", "mailer"], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await h?.stop();
});

describe("chat → notifications", () => {
	it("a mention in channel chat and a direct message reach the right inboxes live", async () => {
		const streamer = await registerUser(h.url, "cstreamer");
		const viewer = await registerUser(h.url, "cviewer");
		const mentioned = await registerUser(h.url, "cmention");
		const vs = await connectSocket(h.url, "/", { token: viewer.token });
		const ms = await connectSocket(h.url, "/", { token: mentioned.token });
		const ss = await connectSocket(h.url, "/", { token: streamer.token });
		sockets.push(vs, ms, ss);

		expect((await emitAck(vs, "chat:join", { channel: streamer.username })).ok).toBe(true);
		const mentionPush = nextEvent(ms, "notification");
		const sent = await emitAck(vs, "chat:send", { channel: streamer.username, text: `hey @${mentioned.username} come watch` });
		expect(sent.ok).toBe(true);
		const pushed = await mentionPush;
		expect(pushed).toMatchObject({ type: "mention", read: false, data: { channel: streamer.username, user: { username: viewer.username } } });
		expect(pushed.body).toContain("come watch");

		const convo = await api("POST", "/api/conversations", { with: streamer.username }, { token: viewer.token });
		expect([200, 201]).toContain(convo.status);
		const dmPush = nextEvent(ss, "notification");
		expect((await api("POST", `/api/conversations/${convo.body.id}/messages`, { text: "collab?" }, { token: viewer.token })).status).toBeLessThan(300);
		expect(await dmPush).toMatchObject({ type: "dm", body: "collab?", data: { conversationId: convo.body.id } });

		const inbox = await waitFor(
			async () => (await api("GET", "/api/notifications", undefined, { token: streamer.token })).body.items,
			5000,
			"streamer inbox",
		);
		expect(inbox.map((n: any) => n.type)).toEqual(["dm"]);
		// The viewer was neither mentioned nor messaged: their inbox stays empty.
		expect((await api("GET", "/api/notifications", undefined, { token: viewer.token })).body.items).toEqual([]);
	});
});
