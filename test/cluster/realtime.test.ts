import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { Cluster, type ClusterProcess } from "../support/cluster";
import { client, connectSocket, emitAck, nextEvent, registerUser, waitFor } from "../support/harness";

/**
 * Chat, presence, notifications and overlay disconnects across two gateway processes: the
 * sockets sit on one gateway while the action that pushes to them runs behind the other.
 */
describe("realtime across gateways (real processes)", () => {
	const cluster = new Cluster({ redis: true, env: { SCRYPT_COST: "1024", RATE_LIMIT_IP_PER_MIN: "100000", CHAT_PRESENCE_WINDOW_MS: "100" } });
	let gwA: ClusterProcess;
	let gwB: ClusterProcess;
	const sockets: Socket[] = [];

	beforeAll(async () => {
		await cluster.startInfra();
		[, gwA, gwB] = await cluster.startNodes([
			{ name: "users", services: ["users"] },
			{ name: "gw-a", services: ["api"], http: true },
			{ name: "gw-b", services: ["api"], http: true },
			{ name: "chat", services: ["chat"] },
			{ name: "social", services: ["follows"] },
			{ name: "notify", services: ["notifications", "mailer"] },
		]);
		// Both gateways know every service (sockets route to them at once) and have built the REST
		// routes of the ones the tests call through them (moleculer-web rebuilds them shortly after).
		for (const svc of ["users", "chat", "follows", "notifications"]) await cluster.waitForInstances(svc, 1, 20_000, ["gw-a", "gw-b"]);
		for (const gw of [gwA, gwB]) {
			const api = client(gw.url!);
			await waitFor(async () => (await api("GET", "/api/notifications")).status === 401, 15_000, `notifications route on ${gw.name}`);
			await waitFor(async () => (await api("PUT", "/api/users/nobody/follow")).status === 401, 15_000, `follows route on ${gw.name}`);
		}
	});

	afterAll(async () => {
		for (const s of sockets) s.close();
		await cluster.stop();
	});

	async function socketOn(gw: ClusterProcess, namespace = "/", auth?: Record<string, unknown>) {
		const s = await connectSocket(gw.url!, namespace, auth);
		sockets.push(s);
		return s;
	}

	it("a chat line sent through gateway B reaches a viewer on gateway A", async () => {
		const streamer = await registerUser(gwA.url!, "chan");
		const viewer = await registerUser(gwB.url!, "talker");
		const onA = await socketOn(gwA);
		const onB = await socketOn(gwB, "/", { token: viewer.token });
		expect(await emitAck(onA, "chat:join", { channel: streamer.username })).toMatchObject({ ok: true });
		expect(await emitAck(onB, "chat:join", { channel: streamer.username })).toMatchObject({ ok: true });
		const arriving = nextEvent(onA, "chat:message", 8000);
		const sent = await emitAck(onB, "chat:send", { channel: streamer.username, text: "halo dari B" });
		expect(sent).toMatchObject({ ok: true });
		const msg = await arriving;
		expect(msg).toMatchObject({ channel: streamer.username, text: "halo dari B", user: { username: viewer.username } });
		expect(msg.id).toBe(sent.message.id);
	});

	it("a follow made through gateway B notifies the streamer's socket on gateway A", async () => {
		const streamer = await registerUser(gwA.url!, "famous");
		const fan = await registerUser(gwB.url!, "fan");
		const onA = await socketOn(gwA, "/", { token: streamer.token });
		const arriving = nextEvent(onA, "notification", 8000);
		const res = await client(gwB.url!)("PUT", `/api/users/${streamer.username}/follow`, undefined, { token: fan.token });
		expect(res.status).toBe(204);
		const n = await arriving;
		expect(n).toMatchObject({ type: "follow", read: false });
		const unread = await client(gwB.url!)("GET", "/api/notifications/unread-count", undefined, { token: streamer.token });
		expect(unread.status).toBe(200);
		expect(unread.body).toEqual({ count: 1 });
	});

	it("rotating the overlay token through gateway B disconnects the overlay on gateway A", async () => {
		const streamer = await registerUser(gwA.url!, "rot");
		const rotated = await client(gwA.url!)("POST", "/api/users/me/overlay-token", undefined, { token: streamer.token });
		expect(rotated.status).toBe(200);
		const overlay = await socketOn(gwA, "/overlay", { token: rotated.body.overlayToken });
		const gone = new Promise<string>((resolve) => overlay.once("disconnect", (reason) => resolve(reason)));
		const again = await client(gwB.url!)("POST", "/api/users/me/overlay-token", undefined, { token: streamer.token });
		expect(again.status).toBe(200);
		expect(await Promise.race([gone, new Promise((r) => setTimeout(() => r("still connected"), 8000))])).toBe("io server disconnect");
		await expect(connectSocket(gwA.url!, "/overlay", { token: rotated.body.overlayToken })).rejects.toThrow();
	});

	it("presence counts viewers on both gateways and drops a gateway's share when it dies", async () => {
		const streamer = await registerUser(gwA.url!, "live");
		const viewersOn = (s: Socket) => {
			const seen: number[] = [];
			s.on("presence", (p: { channel: string; viewers: number }) => {
				if (p.channel === streamer.username) seen.push(p.viewers);
			});
			return seen;
		};
		const onA = await socketOn(gwA);
		const seenA = viewersOn(onA);
		await emitAck(onA, "chat:join", { channel: streamer.username });
		// Two signed-in viewers on B (anonymous sockets from one address count as one viewer).
		for (let i = 0; i < 2; i++) {
			const viewer = await registerUser(gwB.url!, "watcher");
			const onB = await socketOn(gwB, "/", { token: viewer.token });
			await emitAck(onB, "chat:join", { channel: streamer.username });
		}
		await waitFor(() => seenA.at(-1) === 3, 10_000, "3 viewers across both gateways");
		gwB.signal("SIGKILL");
		await waitFor(() => seenA.at(-1) === 1, 15_000, "gw-b's 2 viewers dropped");
	});
});
