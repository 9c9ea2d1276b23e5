import { describe, expect, it } from "vitest";
import { circuitEntries, probe, readyReport, requiredServices, servicesReport } from "../../../../lib/ops/health";

describe("health reports", () => {
	it("requires the default services that exist, or the configured list", () => {
		expect(requiredServices(undefined, ["users", "donations", "posts", "api"])).toEqual(["users", "donations"]);
		expect(requiredServices(" users , chat ", [])).toEqual(["users", "chat"]);
	});

	it("groups nodes per service and is degraded when a required service has no live node", () => {
		const r = servicesReport(
			"gw",
			[
				{ name: "users", nodeID: "a", available: true },
				{ name: "users", nodeID: "b", available: false },
				{ name: "donations", nodeID: "b", available: false },
				{ name: "$node", nodeID: "a", available: true },
			],
			[{ endpoint: "a:users.get", action: "users.get", nodeID: "a", state: "open", failures: 12, count: 20 }],
			["users", "donations", "payments"],
		);
		expect(r.status).toBe("degraded");
		expect(r.missing).toEqual(["donations", "payments"]);
		const users = r.services.find((s) => s.name === "users")!;
		expect(users.available).toBe(true);
		expect(users.nodes).toEqual([
			{ nodeID: "a", available: true },
			{ nodeID: "b", available: false },
		]);
		expect(users.circuits).toEqual([{ action: "users.get", nodeID: "a", state: "open" }]);
		expect(r.services.some((s) => s.name === "$node")).toBe(false);
		expect(servicesReport("gw", [{ name: "users", nodeID: "a", available: true }], [], ["users"]).status).toBe("ok");
	});

	it("reads moleculer's circuit-breaker store", () => {
		const store = new Map([["n1:users.get", { ep: { action: { name: "users.get" }, node: { id: "n1" } }, state: "half_open", failures: 3, count: 5 }]]);
		expect(circuitEntries(store as any)).toEqual([
			{ endpoint: "n1:users.get", action: "users.get", nodeID: "n1", state: "half_open", failures: 3, count: 5 },
		]);
		expect(circuitEntries(undefined)).toEqual([]);
	});

	it("probes fail on throw, false or timeout", async () => {
		expect(await probe("a", () => "fine")).toEqual({ name: "a", ok: true, detail: "fine" });
		expect(await probe("b", () => false)).toEqual({ name: "b", ok: false });
		expect(
			await probe("c", async () => {
				throw new Error("down");
			}),
		).toEqual({ name: "c", ok: false, detail: "down" });
		expect((await probe("d", () => new Promise(() => {}), 20)).detail).toMatch(/timed out/);
		expect(
			readyReport("n", [
				{ name: "a", ok: true },
				{ name: "b", ok: false },
			]).status,
		).toBe("not_ready");
	});
});
