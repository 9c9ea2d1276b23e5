import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, connectSocket, emitAck, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { setupStreamer } from "../support/flow";

/** Public entry points refuse fields they do not declare (422, each field named) and change nothing. */
let h: Harness;
let api: ReturnType<typeof client>;
beforeAll(async () => {
	h = await startHarness({ services: ["users", "payments", "donations", "ledger", "stats", "alerts", "chat"], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(() => h?.stop());

describe("unknown params", () => {
	it("a donation with an unknown field is refused, naming it, and nothing is stored", async () => {
		const s = await setupStreamer(h.url);
		const res = await api("POST", "/api/donations", {
			to: s.username,
			amount: 5_000_00,
			currency: "IDR",
			provider: "sandbox",
			donorName: "Budi",
			status: "paid",
			fee: 0,
		});
		expect(res.status).toBe(422);
		expect(res.body).toMatchObject({ name: "ValidationError", code: 422, type: "VALIDATION_ERROR" });
		expect(res.body.data.map((d: any) => d.field).sort()).toEqual(["fee", "status"]);
		expect(res.body.data[0]).toMatchObject({ type: "unknownField", message: expect.stringContaining("not a known field") });
		expect((await api("GET", "/api/me/donations/received", undefined, { token: s.token })).body.items).toEqual([]);
		expect(
			(await api("POST", "/api/donations", { to: s.username, amount: 5_000_00, currency: "IDR", provider: "sandbox", donorName: "Budi" })).status,
		).toBe(201);
	});

	it("an entry point without params accepts none; a query string counts too", async () => {
		const s = await setupStreamer(h.url);
		const pause = await api("POST", "/api/alerts/pause", { everything: true }, { token: s.token });
		expect(pause.status).toBe(422);
		expect(pause.body.data).toEqual([expect.objectContaining({ field: "everything", type: "unknownField" })]);
		expect((await api("GET", "/api/alerts/queue", undefined, { token: s.token })).body.paused).toBe(false);
		expect((await api("GET", `/api/users/${s.username}?fields=all`)).status).toBe(422);
		expect((await api("GET", `/api/users/${s.username}`)).status).toBe(200);
	});

	it("a socket event with an unknown field gets an error ack and no broadcast", async () => {
		const [s, fan] = await Promise.all([registerUser(h.url, "strictch"), registerUser(h.url, "strictfan")]);
		const socket = await connectSocket(h.url, "/", { token: fan.token });
		try {
			expect((await emitAck(socket, "chat:join", { channel: s.username })).ok).toBe(true);
			const got: unknown[] = [];
			socket.on("chat:message", (m) => got.push(m));
			const ack = await emitAck(socket, "chat:send", { channel: s.username, text: "hi", pinned: true });
			expect(ack).toMatchObject({ ok: false, error: { type: "VALIDATION_ERROR" } });
			expect((await emitAck(socket, "chat:send", { channel: s.username, text: "hi" })).ok).toBe(true);
			await waitFor(() => got.length > 0, 3000, "the accepted message");
			expect(got.map((m: any) => m.text)).toEqual(["hi"]);
		} finally {
			socket.close();
		}
	});
});
