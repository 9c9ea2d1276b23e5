import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/cluster";
import { client, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * Readiness fails while a required dependency is down and recovers with it: the transporter (a
 * real nats-server, killed and started again) and the database (its collections failing).
 */
const hasNats = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].some((p) => fs.existsSync(p));

function startNats(port: number): ChildProcess {
	return spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port)], { stdio: "ignore" });
}
const listening = (port: number) =>
	new Promise<boolean>((resolve) => {
		const s = net.connect({ port, host: "127.0.0.1" });
		s.once("connect", () => (s.destroy(), resolve(true)));
		s.once("error", () => resolve(false));
	});

describe.skipIf(!hasNats)("/health/ready with dependencies going down", () => {
	let nats: ChildProcess;
	let port: number;
	let h: Harness;
	let api: ReturnType<typeof client>;
	const ready = async () => {
		const res = await api("GET", "/health/ready");
		return { status: res.status, checks: Object.fromEntries((res.body.checks ?? []).map((c: any) => [c.name, c])) as Record<string, any> };
	};

	beforeAll(async () => {
		port = await freePort();
		nats = startNats(port);
		await waitFor(() => listening(port), 10_000, "nats-server");
		h = await startHarness({ services: ["users", "ops"], env: { SCRYPT_COST: "1024" }, nodeID: `ready-${process.pid}`, brokerOptions: { transporter: `nats://127.0.0.1:${port}`, namespace: `ready${process.pid}` } });
		api = client(h.url);
	});
	afterAll(async () => {
		await h?.stop();
		nats?.kill("SIGKILL");
	});

	it("answers 503 while the transporter is disconnected and 200 once it is back", async () => {
		expect((await ready()).status).toBe(200);
		nats.kill("SIGKILL");
		const down = await waitFor(async () => {
			const r = await ready();
			return r.status === 503 ? r : null;
		}, 10_000, "not ready without NATS");
		expect(down!.checks.transporter).toMatchObject({ ok: false, detail: expect.stringMatching(/not connected|timed out/) });
		expect(down!.checks.database.ok).toBe(true);
		nats = startNats(port);
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
