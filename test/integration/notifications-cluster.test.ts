import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { client, connectSocket, nextEvent, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * Two nodes over Moleculer's in-process transporter: A runs users and notifications with a
 * gateway, B only a gateway. A user with one tab on each gateway gets the push on both.
 */
let a: Harness;
let b: Harness;
const sockets: Socket[] = [];

beforeAll(async () => {
	const env = { SCRYPT_COST: "1024" };
	a = await startHarness({ services: ["users", "notifications", "mailer"], env, nodeID: `notif-a-${process.pid}`, brokerOptions: { transporter: "Fake" } });
	b = await startHarness({ services: [], env, nodeID: `notif-b-${process.pid}`, brokerOptions: { transporter: "Fake" } });
	await b.broker.waitForServices(["notifications", "users"], 10_000);
	// A must know gateway B before it broadcasts to it.
	await waitFor(() => a.broker.registry.nodes.get(b.broker.nodeID)?.available, 10_000, "node B known to A");
	const gw = b.broker.getLocalService("api") as any;
	for (const route of gw.routes) if (route.opts.autoAliases) gw.regenerateAutoAliases(route);
});
afterAll(async () => {
	for (const s of sockets) s.close();
	await b?.stop();
	await a?.stop();
});

describe("notifications across gateway nodes", () => {
	it("pushes to the user's sockets on every gateway and serves the inbox through either", async () => {
		const streamer = await registerUser(a.url, "clstreamer");
		const onA = await connectSocket(a.url, "/", { token: streamer.token });
		const onB = await connectSocket(b.url, "/", { token: streamer.token });
		sockets.push(onA, onB);
		const gotA = nextEvent(onA, "notification");
		const gotB = nextEvent(onB, "notification");
		// Published on B, consumed by the notifications service on A, pushed back through both gateways.
		await (b.broker as unknown as { sendToChannel(c: string, p: unknown): Promise<void> }).sendToChannel("donations.paid", {
			donation: {
				id: `don_cl_${Date.now()}`,
				recipientId: streamer.id,
				recipientUsername: streamer.username,
				donorName: "Rina",
				amount: 500,
				currency: "USD",
				formattedAmount: "$5.00",
				message: "hi",
				status: "paid",
			},
		});
		const [pa, pb] = await Promise.all([gotA, gotB]);
		expect(pa).toMatchObject({ type: "donation.received", title: "Rina donated $5.00" });
		expect(pb).toEqual(pa);
		const viaB = await waitFor(
			async () => {
				const r = await client(b.url)("GET", "/api/notifications", undefined, { token: streamer.token });
				return r.status === 200 && r.body.items.length === 1 ? r.body.items : null;
			},
			5000,
			"inbox through gateway B",
		);
		expect(viaB[0].id).toBe(pa.id);
	});
});
