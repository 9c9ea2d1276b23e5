import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { tracingExporter } from "../../../../moleculer.config";
import { waitFor } from "../../../support/harness";

/** Two services: the gateway-like caller and a callee, so one request makes two spans. */
const services: ServiceSchema[] = [
	{ name: "front", actions: { hello: { handler: (ctx: any) => ctx.call("back.work", { n: 1 }) } } },
	{ name: "back", actions: { work: { handler: () => ({ done: true }) } } },
];

function traced(env: Record<string, string>, extra: ServiceSchema[] = []) {
	const broker = new ServiceBroker({ logger: false, tracing: { enabled: true, exporter: tracingExporter(env) as any, events: true } });
	for (const s of [...services, ...extra]) broker.createService(s);
	return broker;
}

describe("tracing exporters chosen by TRACING_EXPORTER", () => {
	let broker: ServiceBroker | null = null;
	afterEach(async () => {
		await broker?.stop();
		broker = null;
	});

	it("rejects an unknown exporter and is off when unset", () => {
		expect(tracingExporter({})).toBeUndefined();
		expect(tracingExporter({ TRACING_EXPORTER: "none" })).toBeUndefined();
		expect(tracingExporter({ TRACING_EXPORTER: "console" })).toMatchObject([{ type: "Console" }]);
		expect(() => tracingExporter({ TRACING_EXPORTER: "xray" })).toThrow(/console, zipkin, jaeger, event or none/);
	});

	it("event: spans of one request share the request id as trace id", async () => {
		const spans: any[] = [];
		broker = traced({ TRACING_EXPORTER: "event", TRACING_FLUSH_SEC: "0" }, [
			{ name: "collector", events: { "$tracing.spans": { handler: (ctx: any) => void spans.push(...ctx.params) } } },
		]);
		await broker.start();
		await broker.call("front.hello", {}, { requestID: "req-trace-1" });
		await waitFor(() => spans.filter((s) => s.traceID === "req-trace-1").length >= 2, 3000, "spans");
		const names = spans.filter((s) => s.traceID === "req-trace-1").map((s) => s.name);
		expect(names).toEqual(expect.arrayContaining(["action 'front.hello'", "action 'back.work'"]));
	});

	it("zipkin (and jaeger through its Zipkin collector): spans are POSTed to the collector", async () => {
		const bodies: any[] = [];
		const server = http.createServer((req, res) => {
			let data = "";
			req.on("data", (c) => (data += c));
			req.on("end", () => {
				bodies.push({ url: req.url, spans: JSON.parse(data) });
				res.writeHead(202).end();
			});
		});
		await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		try {
			for (const [kind, key] of [
				["zipkin", "ZIPKIN_URL"],
				["jaeger", "JAEGER_ZIPKIN_URL"],
			]) {
				bodies.length = 0;
				broker = traced({ TRACING_EXPORTER: kind, [key]: url, TRACING_FLUSH_SEC: "0.1" });
				await broker.start();
				await broker.call("front.hello", {}, { requestID: `req-${kind}` });
				await waitFor(() => bodies.some((b) => b.spans.some((s: any) => s.name === "action 'back.work'")), 4000, `${kind} spans`);
				expect(bodies[0].url).toBe("/api/v2/spans");
				const sp = bodies.flatMap((b) => b.spans);
				expect(new Set(sp.map((s: any) => s.traceId)).size).toBe(1);
				await broker.stop();
				broker = null;
			}
		} finally {
			server.close();
		}
	});
});
