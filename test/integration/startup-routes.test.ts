import type { Server } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import type { Context, ServiceBroker } from "moleculer";
import { client, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * The gateway listens as soon as its own service starts, before the others have. Until every
 * local service has started and the REST routes are built, /health answers 503 "starting" and
 * every other route 503 STARTING (never 404); from that moment every route answers as written.
 * After a stop begins, /health says "stopping", new requests get 503 SHUTTING_DOWN, and the
 * requests already inside finish.
 */

function listeningUrl(broker: ServiceBroker | undefined): string | null {
	const server = (broker?.getLocalService("api") as unknown as { server?: Server } | undefined)?.server;
	const addr = server?.listening ? server.address() : null;
	return typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : null;
}

describe("startup", () => {
	let h: Harness | undefined;
	afterAll(async () => {
		await h?.stop();
	});

	it("answers 503 starting on every route while services start, and serves every route the moment /health is 200", async () => {
		let open!: () => void;
		const gate = new Promise<void>((resolve) => (open = resolve));
		let broker!: ServiceBroker;
		const starting = startHarness({
			services: ["users", "ops"],
			env: { SCRYPT_COST: "1024" },
			extra: [{ name: "slowpoke", started: () => gate }],
			onCreated: (b) => (broker = b),
		});

		const base = await waitFor(() => listeningUrl(broker), 10_000, "gateway listening");
		const api = client(base!);

		const early = await api("GET", "/health/ready");
		expect(early.status).toBe(503);
		expect(early.body.checks).toContainEqual(expect.objectContaining({ name: "broker", ok: false, detail: "starting" }));
		const health = await api("GET", "/health");
		expect(health.status).toBe(503);
		expect(health.body.status).toBe("starting");

		const register = await api("POST", "/api/auth/register", { username: "too_early", email: "too_early@example.test", password: "correct horse battery" });
		expect(register.status).toBe(503);
		expect(register.body.type).toBe("STARTING");
		expect(Number(register.headers.get("retry-after"))).toBeGreaterThan(0);
		for (const p of ["/api/openapi.json", "/u/someone", "/metrics", "/health/services"]) {
			const res = await api("GET", p);
			expect(res.status, p).toBe(503);
			expect(res.body.type, p).toBe("STARTING");
		}

		open();
		// Poll /health exactly as a deploy script would: the first 200 means every route is there.
		await waitFor(async () => (await api("GET", "/health")).status === 200, 10_000, "/health 200");
		const res = await api("POST", "/api/auth/register", { username: "early_bird", email: "early@example.test", password: "correct horse battery" });
		expect(res.status).toBe(201);
		expect(res.body.user.username).toBe("early_bird");
		h = await starting;
		expect((await api("GET", "/health/ready")).status).toBe(200);
	});
});

describe("shutdown", () => {
	it("says stopping at once, refuses new requests with SHUTTING_DOWN, and finishes the ones inside", async () => {
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		let entered!: () => void;
		const inside = new Promise<void>((resolve) => (entered = resolve));
		const h = await startHarness({
			services: ["ops"],
			extra: [
				{
					name: "slowpoke",
					settings: { rest: "/slowpoke" },
					actions: {
						wait: {
							rest: "GET /wait",
							async handler(this: unknown, _ctx: Context) {
								entered();
								await held;
								return { finished: true };
							},
						},
					},
				},
			],
		});
		const api = client(h.url);
		const inFlight = api("GET", "/api/slowpoke/wait");
		await inside;
		const stopping = h.stop();

		const health = await waitFor(
			async () => {
				const r = await api("GET", "/health");
				return r.status === 503 ? r : null;
			},
			5_000,
			"/health 503",
		);
		expect(health!.body.status).toBe("stopping");
		const refused = await api("GET", "/api/openapi.json");
		expect(refused.status).toBe(503);
		expect(refused.body.type).toBe("SHUTTING_DOWN");
		expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
		const ready = await api("GET", "/health/ready");
		expect(ready.status).toBe(503);

		release();
		const done = await inFlight;
		expect(done.status).toBe(200);
		expect(done.body).toEqual({ finished: true });
		await stopping;
	});
});

describe("services that join later", () => {
	it("a gateway that is already up routes a service's REST actions the moment that service is known", async () => {
		const gw = await startHarness({
			services: [],
			nodeID: `late-gw-${process.pid}`,
			brokerOptions: { transporter: "Fake", namespace: `late${process.pid}` },
		});
		let users: Harness | undefined;
		try {
			const api = client(gw.url);
			expect((await api("GET", "/health")).status).toBe(200);
			// The first request made once the gateway's registry has the users service.
			const known = new Promise<Awaited<ReturnType<typeof api>>>((resolve) => {
				const onChange = () => {
					if (!gw.broker.registry.getServiceList({ onlyAvailable: true }).some((svc: { name: string }) => svc.name === "users")) return;
					gw.broker.localBus.off("$services.changed", onChange);
					setImmediate(() =>
						resolve(api("POST", "/api/auth/register", { username: "late_joiner", email: "late@example.test", password: "correct horse battery" })),
					);
				};
				gw.broker.localBus.on("$services.changed", onChange);
			});
			users = await startHarness({
				services: ["users"],
				env: { SCRYPT_COST: "1024" },
				nodeID: `late-users-${process.pid}`,
				brokerOptions: { transporter: "Fake", namespace: `late${process.pid}` },
			});
			const res = await known;
			expect(res.status, JSON.stringify(res.body)).toBe(201);
		} finally {
			await users?.stop();
			await gw.stop();
		}
	});
});
