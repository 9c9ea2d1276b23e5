import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { client, collect, connectSocket, nextEvent, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, sandboxWebhook, setupStreamer } from "../support/flow";

/** A donation paid through the real pipeline lands in the streamer's inbox and is pushed live, once. */
let h: Harness;
let api: ReturnType<typeof client>;
beforeAll(async () => {
	h = await startHarness({
		services: ["users", "payments", "donations", "ledger", "stats", "alerts", "notifications", "mailer", "integrations"],
		env: { SCRYPT_COST: "1024", WEBHOOK_BLOCK_PRIVATE: "false" },
	});
	api = client(h.url);
});
afterAll(() => h?.stop());

describe("donation.received", () => {
	it("reaches the streamer's inbox and open tabs when the payment settles", async () => {
		const streamer = await setupStreamer(h.url);
		const socket = await connectSocket(h.url, "/", { token: streamer.token });
		try {
			const all = collect(socket, "notification");
			const live = nextEvent(socket, "notification", 8000);
			const res = await donate(h.url, streamer.username, { donorName: "Sari", message: "semangat!" });
			expect(all).toEqual([]); // nothing before the money arrives
			await pay(h.url, res.body.payment.id);
			const pushed = await live;
			expect(pushed).toMatchObject({ type: "donation.received", read: false, data: { donationId: res.body.donation.id, formattedAmount: "Rp 5.000" } });
			expect(pushed.title).toContain("Sari");
			const inbox = await api("GET", "/api/notifications", undefined, { token: streamer.token });
			expect(inbox.body.items.map((n: any) => [n.id, n.type])).toEqual([[pushed.id, "donation.received"]]);
			expect((await api("GET", "/api/notifications/unread-count", undefined, { token: streamer.token })).body).toEqual({ count: 1 });
			// The provider settling it again (a new event for the same payment) changes nothing.
			expect((await sandboxWebhook(h.url, { payment_id: res.body.payment.id, status: "settlement" })).status).toBe(200);
			expect((await api("GET", `/api/donations/${res.body.donation.id}`, undefined, { token: streamer.token })).body.status).toBe("paid");
			expect(all).toHaveLength(1);
			expect((await api("GET", "/api/notifications/unread-count", undefined, { token: streamer.token })).body).toEqual({ count: 1 });
		} finally {
			socket.close();
		}
	});
});

describe("donor names with blocked terms", () => {
	it("are masked in the streamer's notification and in the integrator's webhook", async () => {
		const bodies: string[] = [];
		const receiver = http.createServer((req, res) => {
			let body = "";
			req.on("data", (c) => (body += c));
			req.on("end", () => {
				bodies.push(body);
				res.writeHead(200).end("ok");
			});
		});
		await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
		try {
			const streamer = await setupStreamer(h.url, { moderation: { blockedTerms: ["scam"], blockedTermAction: "mask" } });
			expect(
				(await api("PUT", "/api/me/webhook", { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }, { token: streamer.token }))
					.status,
			).toBe(200);
			const socket = await connectSocket(h.url, "/", { token: streamer.token });
			try {
				const live = nextEvent(socket, "notification", 8000);
				const res = await donate(h.url, streamer.username, { donorName: "sc\u0430m bot", message: "hi" });
				await pay(h.url, res.body.payment.id);
				const pushed = await live;
				expect(pushed.data.donorName).toBe("**** bot");
				expect(pushed.title).toContain("**** bot");
				expect(JSON.stringify(pushed)).not.toContain("sc\u0430m");
			} finally {
				socket.close();
			}
			await waitFor(() => bodies.length > 0, 8000, "webhook delivery");
			expect(JSON.parse(bodies[0]).data.donation.donorName).toBe("**** bot");
		} finally {
			await new Promise<void>((r) => receiver.close(() => r()));
		}
	});
});
