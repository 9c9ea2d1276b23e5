import type { Server } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import type { ServiceBroker } from "moleculer";
import { client, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * The gateway listens as soon as its own service starts, before the others have. Readiness says
 * "starting" until the whole broker has started, and from that moment the REST routes exist
 * (moleculer-web would otherwise build them half a second after the last service change).
 */
describe("startup", () => {
	let h: Harness | undefined;
	afterAll(async () => {
		await h?.stop();
	});

	it("is not ready while services start, and serves every REST route the moment it is", async () => {
		let open!: () => void;
		const gate = new Promise<void>((resolve) => (open = resolve));
		let broker!: ServiceBroker;
		const starting = startHarness({
			services: ["users", "ops"],
			env: { SCRYPT_COST: "1024" },
			extra: [{ name: "slowpoke", started: () => gate }],
			onCreated: (b) => (broker = b),
		});

		const base = await waitFor(() => {
			const server = (broker?.getLocalService("api") as unknown as { server?: Server } | undefined)?.server;
			const addr = server?.listening ? server.address() : null;
			return typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : null;
		}, 10_000, "gateway listening");
		const api = client(base!);

		const early = await api("GET", "/health/ready");
		expect(early.status).toBe(503);
		expect(early.body.checks).toContainEqual(expect.objectContaining({ name: "broker", ok: false, detail: "starting" }));
		expect((await api("GET", "/health")).status).toBe(200);

		open();
		h = await starting;
		const ready = await api("GET", "/health/ready");
		expect(ready.status).toBe(200);
		const res = await api("POST", "/api/auth/register", { username: "early_bird", email: "early@example.test", password: "correct horse battery" });
		expect(res.status).toBe(201);
		expect(res.body.user.username).toBe("early_bird");
	});
});
