import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, collect, connectSocket, nextEvent, startHarness, type Harness } from "../support/harness";
import { donate, pay, sandboxWebhook, setupStreamer } from "../support/flow";

/** A donation paid through the real pipeline lands in the streamer's inbox and is pushed live, once. */
let h: Harness;
let api: ReturnType<typeof client>;
beforeAll(async () => {
	h = await startHarness({ services: ["users", "payments", "donations", "alerts", "notifications", "mailer"], env: { SCRYPT_COST: "1024" } });
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
