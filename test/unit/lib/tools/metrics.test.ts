import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { METRIC, ProductMetricsMiddleware, PRODUCT_METRICS, countChatMessage } from "../../../../lib/tools/metrics";
import { tooMany } from "../../../../lib/tools/errors";

function value(broker: ServiceBroker, name: string, labels: Record<string, string> = {}) {
	const m = broker.metrics.list({ includes: name })[0] as any;
	return (m?.values ?? [])
		.filter((v: any) => Object.entries(labels).every(([k, l]) => v.labels?.[k] === l))
		.reduce((s: number, v: any) => s + (v.value ?? 0), 0);
}

describe("product metrics middleware", () => {
	const broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [] }, middlewares: [ProductMetricsMiddleware as any] });
	broker.createService({
		name: "limited",
		actions: {
			send: {
				socket: "limited:send",
				handler: () => {
					throw tooMany("Slow down", 3);
				},
			},
		},
	});
	broker.createService({
		name: "api",
		created(this: any) {
			this.hub = { connected: { "/": 4, "/overlay": 1 } };
		},
	});
	beforeAll(() => broker.start());
	afterAll(() => broker.stop());

	it("registers every product metric on the broker", () => {
		for (const def of PRODUCT_METRICS) expect(broker.metrics.getMetric(def.name)?.type).toBe(def.type);
	});

	it("counts 429s answered to sockets, not those of plain calls", async () => {
		await expect(broker.call("limited.send", {}, { meta: { socket: { id: "s1", namespace: "/" } } })).rejects.toMatchObject({ code: 429 });
		await expect(broker.call("limited.send", {})).rejects.toMatchObject({ code: 429 });
		expect(value(broker, METRIC.RATE_LIMITED, { source: "socket" })).toBe(1);
	});

	it("leaves actions that no socket can reach unwrapped (no extra promise per REST or internal call)", () => {
		const next = async () => "ok";
		expect(ProductMetricsMiddleware.localAction(next, { name: "users.profile" })).toBe(next);
		expect(ProductMetricsMiddleware.localAction(next, { name: "chat.send", socket: "chat:send" })).not.toBe(next);
	});

	it("reads the gateway hub's socket counts when $node.metrics is called", async () => {
		await broker.call("$node.metrics", {});
		expect(value(broker, METRIC.SOCKETS_CONNECTED, { namespace: "/" })).toBe(4);
		expect(value(broker, METRIC.SOCKETS_CONNECTED, { namespace: "/overlay" })).toBe(1);
	});

	it("helpers are no-ops when metrics are off", async () => {
		const off = new ServiceBroker({ logger: false, metrics: false, middlewares: [ProductMetricsMiddleware as any] });
		expect(() => countChatMessage(off)).not.toThrow();
		countChatMessage(broker, "dm");
		expect(value(broker, METRIC.CHAT_MESSAGES, { kind: "dm" })).toBe(1);
	});
});
