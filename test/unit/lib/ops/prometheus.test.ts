import os from "node:os";
import { describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { escapeLabelValue, metricName, parsePrometheus, renderPrometheus } from "../../../../lib/ops/prometheus";
import { METRIC, ProductMetricsMiddleware, observePaymentToAlert, countWebhook } from "../../../../lib/tools/metrics";

describe("prometheus rendering", () => {
	it("names and escapes like the exposition format requires", () => {
		expect(metricName("moleculer.request.total")).toBe("moleculer_request_total");
		expect(metricName("moleculer.channels.messages.deadLettering.total")).toBe("moleculer_channels_messages_deadLettering_total");
		expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
	});

	it("groups one metric of several nodes under one HELP/TYPE header with a nodeID label", () => {
		const metric = (value: number) => ({ name: "x.count", type: "counter", description: "X", values: [{ labels: { kind: "a" }, value }] });
		const text = renderPrometheus([
			{ nodeID: "n1", metrics: [metric(1)] },
			{ nodeID: "n2", metrics: [metric(2)] },
		]);
		expect(text.match(/# TYPE x_count counter/g)).toHaveLength(1);
		expect(text).toContain('x_count{nodeID="n1",kind="a"} 1');
		expect(text).toContain('x_count{nodeID="n2",kind="a"} 2');
	});

	it("renders a real broker's histograms with cumulative buckets, +Inf, _sum and _count", async () => {
		const broker = new ServiceBroker({ logger: false, metrics: { enabled: true, reporter: [] }, middlewares: [ProductMetricsMiddleware as any] });
		await broker.start();
		try {
			const now = Date.now();
			observePaymentToAlert(broker, now - 300, now); // 0.3 s
			observePaymentToAlert(broker, new Date(now - 3000).toISOString(), now); // 3 s
			countWebhook(broker, "sandbox", "accepted");
			const text = renderPrometheus([{ nodeID: broker.nodeID, metrics: broker.metrics.list() as any }]);
			const samples = parsePrometheus(text);
			const name = metricName(METRIC.PAYMENT_TO_ALERT_SECONDS);
			const bucket = (le: string) => samples.find((s) => s.name === `${name}_bucket` && s.labels.le === le)?.value;
			expect(bucket("0.25")).toBe(0);
			expect(bucket("0.5")).toBe(1);
			expect(bucket("5")).toBe(2);
			expect(bucket("+Inf")).toBe(2);
			expect(samples.find((s) => s.name === `${name}_count`)?.value).toBe(2);
			expect(samples.find((s) => s.name === `${name}_sum`)?.value).toBeCloseTo(3.3, 5);
			expect(samples.find((s) => s.name === metricName(METRIC.WEBHOOKS))?.labels).toMatchObject({ provider: "sandbox", outcome: "accepted" });
			// Built-in metrics come along.
			expect(samples.some((s) => s.name === "moleculer_node_type")).toBe(true);
			// No datetime metrics (a label per second would explode Prometheus' series count).
			expect(text).not.toContain("os_datetime");
		} finally {
			await broker.stop();
		}
	});

	it("leaves out a real broker's host details: hostname, OS user, home directory, addresses, arguments", async () => {
		// Moleculer skips its process and OS metrics under NODE_ENV=test unless asked.
		const broker = new ServiceBroker({ logger: false, nodeID: "node-1", metrics: { enabled: true, reporter: [], collectProcessMetrics: true } });
		await broker.start();
		try {
			const listed = (broker.metrics.list() as Array<{ name: string }>).map((m) => m.name);
			// Moleculer collects them, so the filter has something to do.
			expect(listed).toEqual(expect.arrayContaining(["os.hostname", "os.user.homedir", "process.arguments"]));
			const text = renderPrometheus([{ nodeID: broker.nodeID, metrics: broker.metrics.list() as any }]);
			expect(text).toContain("process_memory_rss");
			for (const name of ["os_hostname", "os_user_", "os_network_", "process_arguments"]) expect(text, name).not.toContain(name);
			expect(text).not.toContain(`"${os.hostname()}"`);
			expect(text).not.toContain(os.userInfo().homedir);
			expect(text).not.toContain(process.argv[1]);
		} finally {
			await broker.stop();
		}
	});
});
