import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Errors, ServiceBroker } from "moleculer";
import { createMiddlewares } from "../../../moleculer.config";

/** The metrics Moleculer keeps per call, as the registry (and so /metrics) reports them. */
let broker: ServiceBroker;

function series(name: string, labels: Record<string, unknown> = {}) {
	const metric = broker.metrics.list().find((m: any) => m.name === name) as any;
	return (metric?.values ?? []).filter((v: any) => Object.entries(labels).every(([k, x]) => v.labels?.[k] === x));
}

beforeAll(async () => {
	broker = new ServiceBroker({
		logger: false,
		metrics: { enabled: true, reporter: [] },
		bulkhead: { enabled: true, concurrency: 2, maxQueueSize: 10 },
		cacher: { type: "MemoryLRU", options: { max: 100 } },
		internalMiddlewares: false,
		middlewares: createMiddlewares(),
	});
	broker.createService({
		name: "math",
		actions: {
			add: { params: { a: "number", b: "number" }, handler: (ctx: any) => ctx.params.a + ctx.params.b },
			slow: { handler: () => new Promise((r) => setTimeout(() => r(1), 30)) },
			fail: {
				handler() {
					throw new Errors.MoleculerClientError("nope", 422, "NOPE");
				},
			},
			cached: { cache: true, handler: () => ({ at: Date.now() }) },
			viaCaller: { handler: (ctx: any) => ctx.call("math.add", { a: 1, b: 1 }) },
		},
		events: { "thing.happened": { handler: () => undefined } },
	});
	await broker.start();
});
afterAll(() => broker.stop());

describe("per-call metrics", () => {
	it("counts calls per action and caller, with a time histogram and nothing left active", async () => {
		for (let i = 0; i < 5; i++) await broker.call("math.add", { a: i, b: 1 });
		await broker.call("math.viaCaller");
		const direct = series("moleculer.request.total", { action: "math.add", caller: null, type: "local" });
		expect(direct.map((v: any) => v.value)).toEqual([5]);
		expect(series("moleculer.request.total", { action: "math.add", caller: "math" }).map((v: any) => v.value)).toEqual([1]);
		const time = series("moleculer.request.time", { action: "math.add", caller: null })[0];
		expect(time.count).toBe(5);
		expect(time.sum).toBeGreaterThan(0);
		// Buckets are cumulative: every call took under 10 s.
		expect(time.buckets[10000]).toBe(5);
		expect(series("moleculer.request.active", { action: "math.add" }).every((v: any) => v.value === 0)).toBe(true);
		expect(series("moleculer.request.levels", { level: 2 })[0]?.value).toBeGreaterThanOrEqual(1);
	});

	it("counts errors by name, code and type", async () => {
		await expect(broker.call("math.fail")).rejects.toThrow("nope");
		await expect(broker.call("math.fail")).rejects.toThrow("nope");
		expect(series("moleculer.request.error.total", { action: "math.fail", errorCode: 422, errorType: "NOPE" })[0]?.value).toBe(2);
		expect(series("moleculer.request.time", { action: "math.fail" })[0]?.count).toBe(2);
		expect(series("moleculer.request.active", { action: "math.fail" })[0]?.value).toBe(0);
	});

	it("reports bulkhead in-flight and queue sizes while calls wait, and zero after", async () => {
		const calls = Array.from({ length: 5 }, () => broker.call("math.slow"));
		await new Promise((r) => setTimeout(r, 5));
		expect(series("moleculer.request.bulkhead.inflight", { action: "math.slow" })[0]?.value).toBe(2);
		expect(series("moleculer.request.bulkhead.queue.size", { action: "math.slow" })[0]?.value).toBe(3);
		await Promise.all(calls);
		expect(series("moleculer.request.bulkhead.inflight", { action: "math.slow" })[0]?.value).toBe(0);
		expect(series("moleculer.request.bulkhead.queue.size", { action: "math.slow" })[0]?.value).toBe(0);
	});

	it("counts cache lookups and hits, and received events", async () => {
		const gets = () => series("moleculer.cacher.get.total")[0]?.value ?? 0;
		const before = gets();
		await broker.call("math.cached");
		await broker.call("math.cached");
		expect(gets() - before).toBe(2);
		expect(series("moleculer.cacher.found.total")[0]?.value).toBeGreaterThanOrEqual(1);
		broker.emit("thing.happened", {});
		broker.emit("thing.happened", {});
		await new Promise((r) => setTimeout(r, 10));
		expect(series("moleculer.event.received.total", { event: "thing.happened" })[0]?.value).toBe(2);
		expect(series("moleculer.event.emit.total", { event: "thing.happened" })[0]?.value).toBe(2);
	});
});
