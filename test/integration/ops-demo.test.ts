import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allServiceNames, client, startHarness, type Harness } from "../support/harness";
import { demoSummary, runDemo } from "../../lib/ops/demo";

const ENV = { SCRYPT_COST: "1024" };

describe("npm run demo against the full system", () => {
	let h: Harness;
	beforeAll(async () => {
		h = await startHarness({ services: allServiceNames(), env: ENV });
	});
	afterAll(() => h?.stop());

	it("seeds a streamer, viewers, posts and paid donations, and prints the URLs", async () => {
		const lines: string[] = [];
		const r = await runDemo(h.url, { log: (l) => lines.push(l), viewers: 2, streamer: "demo_int" });
		expect(r.skipped).toEqual([]);
		expect(r.donations).toHaveLength(3);
		expect(r.donations.every((d) => d.status === "paid")).toBe(true);
		expect(r.posts).toHaveLength(2);
		expect(lines.some((l) => l.includes("✓ 3 donations paid through the sandbox"))).toBe(true);

		const api = client(h.url);
		const stats = await api("GET", "/api/users/demo_int/stats");
		expect(stats.body.totals).toMatchObject([{ currency: "IDR", amount: 85_000_00, count: 3 }]);
		// The overlay URL printed is one the overlay socket accepts (token of the streamer).
		expect(r.urls.overlay).toMatch(/\/overlay\/alerts\?token=.+/);
		expect(demoSummary(r, "pw")).toContain(`${h.url}/u/demo_int`);

		// Running it again signs in instead of failing on the taken usernames.
		const again = await runDemo(h.url, { log: () => undefined, viewers: 2, streamer: "demo_int" });
		expect(again.donations).toHaveLength(3);
	});
});

describe("npm run demo when some services are not deployed", () => {
	let h: Harness;
	beforeAll(async () => {
		h = await startHarness({ services: ["users", "ops"], env: ENV });
	});
	afterAll(() => h?.stop());

	it("skips the steps whose endpoints answer 404, with a message", async () => {
		const lines: string[] = [];
		const r = await runDemo(h.url, { log: (l) => lines.push(l), viewers: 1, streamer: "demo_partial" });
		expect(r.skipped.some((s) => s.includes("POST /api/donations answered 404"))).toBe(true);
		expect(r.skipped.some((s) => s.includes("POST /api/posts answered 404"))).toBe(true);
		expect(lines.some((l) => /skipped, POST \/api\/posts answered 404/.test(l))).toBe(true);
		expect(r.donations).toEqual([]);
		expect(demoSummary(r, "pw")).toContain("Skipped (not running in this deployment):");
	});
});
