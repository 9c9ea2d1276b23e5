import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";

/**
 * Slow calls on one route do not hold up the others. The gateway's own HTTP entry (`api.rest`)
 * has no bulkhead of its own: bulkheads and breakers protect the actions that do the work, per
 * action and per node. A bulkhead on the entry would queue every request of the gateway behind
 * the slowest route, health probes included.
 */
describe("gateway isolation between routes", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;
	let release!: () => void;
	let holding = 0;
	const opened: string[] = [];
	const gate = new Promise<void>((resolve) => (release = resolve));

	beforeAll(async () => {
		h = await startHarness({
			services: ["users", "ops"],
			env: { SCRYPT_COST: "1024" },
			extra: [
				{
					name: "breakerwatch",
					events: {
						"$circuit-breaker.opened"(ctx: any) {
							opened.push(ctx.params.action);
						},
					},
				},
				{
					name: "slowpoke",
					actions: {
						hold: {
							rest: "GET /hold",
							// Enough room for every held call: what is measured is the gateway's own entry.
							bulkhead: { enabled: true, concurrency: 200, maxQueueSize: 10 },
							async handler() {
								holding++;
								await gate;
								return { ok: true };
							},
						},
						fail: {
							rest: "GET /fail",
							handler() {
								throw new Error("backend failure");
							},
						},
					},
				},
			],
		});
		api = client(h.url);
	});
	afterAll(async () => {
		release();
		await h?.stop();
	});

	it("answers health and other routes at once while 80 requests wait on a slow action", async () => {
		const held = Array.from({ length: 80 }, () => api("GET", "/api/slowpoke/hold"));
		await waitFor(() => holding === 80, 5000, "80 held calls reached the action");
		const { username } = await registerUser(h.url, "iso");
		const [health, profile] = await Promise.all([api("GET", "/health"), api("GET", `/api/users/${username}`)]);
		expect(health.status).toBe(200);
		expect(profile.status).toBe(200);
		release();
		const done = await Promise.all(held);
		expect(done.every((r) => r.status === 200)).toBe(true);
	});

	it("keeps serving other routes after many failures of one backend action, and opens the breaker of that action only", async () => {
		for (let i = 0; i < 40; i++) expect((await api("GET", "/api/slowpoke/fail")).status).toBeGreaterThanOrEqual(500);
		await waitFor(() => opened.includes("slowpoke.fail"), 2000, "the failing action's breaker opened");
		expect(opened).not.toContain("api.rest");
		expect((await api("GET", "/health")).status).toBe(200);
		const { username } = await registerUser(h.url, "iso");
		expect((await api("GET", `/api/users/${username}`)).status).toBe(200);
	});
});
