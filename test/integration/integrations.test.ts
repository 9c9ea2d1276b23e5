import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * Outgoing webhooks against a receiver on 127.0.0.1 that answers whatever the test scripts
 * (500 first, then 200), checking the signature on every request exactly as an integrator would.
 */
interface Received {
	path: string;
	headers: http.IncomingHttpHeaders;
	body: string;
	answered: number;
}
const received: Received[] = [];
/** Status codes to answer, per path, in order; the last one repeats. */
const script = new Map<string, number[]>();
let receiver: http.Server;
let base: string;
let h: Harness;
let api: ReturnType<typeof client>;

function send(channel: string, payload: unknown): Promise<void> {
	return (h.broker as unknown as { sendToChannel(c: string, p: unknown): Promise<void> }).sendToChannel(channel, payload);
}

/** What an integrator runs: HMAC-SHA256 over `${t}.${body}`, constant time not needed in a test. */
function signatureValid(header: string | undefined, body: string, secret: string): boolean {
	if (!header) return false;
	const parts = Object.fromEntries(header.split(",").map((p) => p.split("=", 2) as [string, string]));
	const expected = createHmac("sha256", secret).update(`${parts.t}.${body}`).digest("hex");
	return parts.v1 === expected && Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;
}

beforeAll(async () => {
	receiver = http.createServer((req, res) => {
		let body = "";
		req.on("data", (c) => (body += c));
		req.on("end", () => {
			const codes = script.get(req.url ?? "") ?? [200];
			const code = codes.length > 1 ? codes.shift()! : codes[0];
			received.push({ path: req.url ?? "", headers: req.headers, body, answered: code });
			res.writeHead(code).end(code < 300 ? "ok" : "nope");
		});
	});
	await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
	base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
	h = await startHarness({
		services: ["users", "integrations"],
		env: { SCRYPT_COST: "1024", WEBHOOK_RETRY_BASE_MS: "50", WEBHOOK_RETRY_MAX_MS: "200", WEBHOOK_SWEEP_MS: "50", WEBHOOK_TIMEOUT_MS: "2000" },
	});
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
	await new Promise<void>((r) => receiver.close(() => r()));
});

function paid(user: { id: string; username: string }, id: string) {
	return {
		id,
		recipientId: user.id,
		recipientUsername: user.username,
		donorId: "secret-donor-id",
		donorName: "Budi",
		amount: 500,
		currency: "USD",
		formattedAmount: "$5.00",
		message: "gg",
		status: "paid",
	};
}

describe("outgoing webhooks", () => {
	it("signs each POST, retries after a 500, and delivers the event once with a stable id", async () => {
		const streamer = await registerUser(h.url, "hooked");
		const path = `/hook/${streamer.username}`;
		script.set(path, [500, 200]);
		const set = await api("PUT", "/api/me/webhook", { url: base + path }, { token: streamer.token });
		expect(set.status).toBe(200);
		expect(set.body.url).toBe(base + path);
		expect(set.body.secret).toMatch(/^whsec_/);
		const secret = set.body.secret;

		const donationId = `don_${Date.now()}`;
		await send("donations.paid", { donation: paid(streamer, donationId) });
		const mine = () => received.filter((r) => r.path === path);
		await waitFor(() => mine().some((r) => r.answered === 200), 5000, "a 2xx delivery");

		const [first, second] = mine();
		expect(first.answered).toBe(500);
		expect(second.answered).toBe(200);
		for (const r of mine()) {
			expect(signatureValid(r.headers["x-mediashar-signature"] as string, r.body, secret)).toBe(true);
			expect(signatureValid(r.headers["x-mediashar-signature"] as string, r.body, "wrong-secret")).toBe(false);
		}
		const event = JSON.parse(second.body);
		expect(event).toMatchObject({ type: "donation.paid", data: { donation: { id: donationId, amount: 500, currency: "USD", formattedAmount: "$5.00" } } });
		expect(event.data.donation).not.toHaveProperty("donorId");
		expect(JSON.parse(first.body).id).toBe(event.id);
		expect(second.headers["x-mediashar-delivery"]).toBe(event.id);

		// A redelivered channel message does not send the event again; a new event does go out.
		await send("donations.paid", { donation: paid(streamer, donationId) });
		await send("donations.reversed", { donation: { ...paid(streamer, donationId), status: "reversed" } });
		await waitFor(() => mine().some((r) => JSON.parse(r.body).type === "donation.reversed"), 5000, "the reversal");
		const paidDeliveries = mine().filter((r) => JSON.parse(r.body).type === "donation.paid" && r.answered === 200);
		expect(paidDeliveries).toHaveLength(1);
		const reversal = JSON.parse(mine().find((r) => JSON.parse(r.body).type === "donation.reversed")!.body);
		expect(reversal.id).not.toBe(event.id);

		// The owner sees the delivery log.
		const log = await waitFor(
			async () => {
				const r = await api("GET", "/api/me/webhook/deliveries", undefined, { token: streamer.token });
				return r.body.items.length === 2 && r.body.items.every((d: any) => d.status === "delivered") ? r.body.items : null;
			},
			5000,
			"delivery log",
		);
		const paidRow = log.find((d: any) => d.type === "donation.paid");
		expect(paidRow).toMatchObject({ eventId: event.id, attempts: 2, lastStatusCode: 200 });
		expect(paidRow.log.map((a: any) => a.statusCode)).toEqual([500, 200]);
	});

	it("refuses non-http(s) URLs with 422, keeps the secret on URL change, and stops after DELETE", async () => {
		const u = await registerUser(h.url, "hookcfg");
		for (const url of ["ftp://127.0.0.1/x", "javascript:alert(1)", "file:///etc/passwd", "not a url"]) {
			const r = await api("PUT", "/api/me/webhook", { url }, { token: u.token });
			expect(r.status).toBe(422);
			expect(r.body.data[0].field).toBe("url");
		}
		expect((await api("PUT", "/api/me/webhook", { url: "http://127.0.0.1/x" })).status).toBe(401);
		const a = await api("PUT", "/api/me/webhook", { url: `${base}/cfg/a` }, { token: u.token });
		const b = await api("PUT", "/api/me/webhook", { url: `${base}/cfg/b` }, { token: u.token });
		expect(b.body).toMatchObject({ url: `${base}/cfg/b`, secret: a.body.secret });
		expect((await api("GET", "/api/me/webhook", undefined, { token: u.token })).body.url).toBe(`${base}/cfg/b`);
		expect((await api("DELETE", "/api/me/webhook", undefined, { token: u.token })).status).toBe(204);
		expect((await api("DELETE", "/api/me/webhook", undefined, { token: u.token })).status).toBe(204);
		expect((await api("GET", "/api/me/webhook", undefined, { token: u.token })).status).toBe(404);
		// u's donation goes first; once a later one for a hooked user has arrived, u's was handled too.
		const v = await registerUser(h.url, "hookcfgv");
		await api("PUT", "/api/me/webhook", { url: `${base}/cfg2/v` }, { token: v.token });
		await send("donations.paid", { donation: paid(u, `don_cfg_${Date.now()}`) });
		await send("donations.paid", { donation: paid(v, `don_cfg2_${Date.now()}`) });
		await waitFor(() => received.some((r) => r.path === "/cfg2/v"), 5000, "the hooked user's delivery");
		expect((await api("GET", "/api/me/webhook/deliveries", undefined, { token: u.token })).body.items).toEqual([]);
		expect(received.some((r) => r.path.startsWith("/cfg/"))).toBe(false);
	});
});
