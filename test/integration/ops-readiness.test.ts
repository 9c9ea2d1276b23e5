import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startHarness, waitFor, type Harness } from "../support/harness";
import { hasNatsServer, startNatsServer, type NatsServer } from "../support/nats";

/**
 * Readiness fails while a required dependency is down and recovers with it: the transporter (a
 * real nats-server, killed and started again) and the database (its collections failing).
 */
describe.skipIf(!hasNatsServer)("/health/ready with dependencies going down", () => {
	let nats: NatsServer;
	let h: Harness;
	let api: ReturnType<typeof client>;
	const ready = async () => {
		const res = await api("GET", "/health/ready");
		return { status: res.status, checks: Object.fromEntries((res.body.checks ?? []).map((c: any) => [c.name, c])) as Record<string, any> };
	};

	beforeAll(async () => {
		nats = await startNatsServer();
		h = await startHarness({
			services: ["users", "ops"],
			env: { SCRYPT_COST: "1024" },
			nodeID: `ready-${process.pid}`,
			brokerOptions: { transporter: nats.url, namespace: `ready${process.pid}` },
		});
		api = client(h.url);
	});
	afterAll(async () => {
		await h?.stop();
		nats?.stop();
	});

	it("answers 503 while the transporter is disconnected and 200 once it is back", async () => {
		expect((await ready()).status).toBe(200);
		nats.kill();
		const down = await waitFor(
			async () => {
				const r = await ready();
				return r.status === 503 ? r : null;
			},
			10_000,
			"not ready without NATS",
		);
		expect(down!.checks.transporter).toMatchObject({ ok: false, detail: expect.stringMatching(/not connected|timed out/) });
		expect(down!.checks.database.ok).toBe(true);
		await nats.start();
		await waitFor(async () => (await ready()).status === 200, 20_000, "ready again with NATS");
	});

	it("answers 503 while the database fails and 200 once it answers again", async () => {
		const stores = (h.broker.services as any[]).map((s) => s.store).filter(Boolean);
		const originals = stores.map((s) => s.count);
		for (const s of stores) s.count = async () => Promise.reject(new Error("connection refused"));
		try {
			const down = await ready();
			expect(down.status).toBe(503);
			expect(down.checks.database).toMatchObject({ ok: false, detail: expect.stringContaining("connection refused") });
		} finally {
			stores.forEach((s, i) => (s.count = originals[i]));
		}
		expect((await ready()).status).toBe(200);
	});
});
