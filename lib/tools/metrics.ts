import type { ServiceBroker } from "moleculer";

/**
 * The product's own metrics, next to Moleculer's built-in ones. Registered on every broker by
 * `ProductMetricsMiddleware` (moleculer.config.ts), so any service may increment them without
 * caring which node it runs on; `/metrics` renders the registries of every node.
 */
export const METRIC = {
	/** Alerts shown on an overlay (labels: kind = donation|mediashare|test|replay). */
	ALERTS_DELIVERED: "mediashar.alerts.delivered.total",
	/** Alerts waiting in the queues of every channel (gauge, read when /metrics is scraped). */
	ALERT_QUEUE_DEPTH: "mediashar.alerts.queue.depth",
	/** Seconds from a payment settling to its alert being shown. */
	PAYMENT_TO_ALERT_SECONDS: "mediashar.alerts.payment_to_alert.seconds",
	/** Provider webhooks received (labels: provider, outcome = accepted|duplicate|rejected|error). */
	WEBHOOKS: "mediashar.payments.webhooks.total",
	/** Chat messages accepted (labels: kind = channel|dm). */
	CHAT_MESSAGES: "mediashar.chat.messages.total",
	/** Sockets connected to this gateway node (labels: namespace). */
	SOCKETS_CONNECTED: "mediashar.sockets.connected",
	/** Requests refused by a rate limit (labels: source = http|socket). */
	RATE_LIMITED: "mediashar.ratelimit.refused.total",
	/** Messages parked in the dead-letter queue, by original channel. */
	DEAD_LETTERS: "mediashar.channels.deadletters.total",
} as const;

/** Alert latency buckets, seconds: the overlay should show an alert within a couple of seconds. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

export interface MetricDef {
	name: string;
	type: "counter" | "gauge" | "histogram";
	description: string;
	labelNames: string[];
	unit?: string;
	buckets?: number[];
}

export const PRODUCT_METRICS: MetricDef[] = [
	{ name: METRIC.ALERTS_DELIVERED, type: "counter", description: "Alerts shown on an overlay", labelNames: ["kind"] },
	{ name: METRIC.ALERT_QUEUE_DEPTH, type: "gauge", description: "Alerts waiting in the channels' queues", labelNames: [] },
	{
		name: METRIC.PAYMENT_TO_ALERT_SECONDS,
		type: "histogram",
		description: "Seconds from a payment settling to its alert being shown",
		labelNames: [],
		unit: "second",
		buckets: LATENCY_BUCKETS,
	},
	{ name: METRIC.WEBHOOKS, type: "counter", description: "Payment provider webhooks by provider and outcome", labelNames: ["provider", "outcome"] },
	{ name: METRIC.CHAT_MESSAGES, type: "counter", description: "Chat messages accepted", labelNames: ["kind"] },
	{ name: METRIC.SOCKETS_CONNECTED, type: "gauge", description: "Sockets connected to this gateway node", labelNames: ["namespace"] },
	{ name: METRIC.RATE_LIMITED, type: "counter", description: "Requests refused by a rate limit", labelNames: ["source"] },
	{ name: METRIC.DEAD_LETTERS, type: "counter", description: "Channel messages parked in the dead-letter queue", labelNames: ["channel"] },
];

/** Registers the product metrics on a broker (idempotent; a no-op when metrics are disabled). */
export function registerProductMetrics(broker: ServiceBroker): void {
	if (!broker.isMetricsEnabled()) return;
	for (const def of PRODUCT_METRICS) {
		if (broker.metrics.getMetric(def.name)) continue;
		broker.metrics.register({
			name: def.name,
			type: def.type,
			description: def.description,
			labelNames: def.labelNames,
			unit: def.unit,
			...(def.buckets ? { buckets: def.buckets, quantiles: false } : {}),
		} as any);
	}
}

function metrics(broker: ServiceBroker) {
	return broker.isMetricsEnabled() ? broker.metrics : null;
}

// One-line helpers for the services that own the events.

export function countAlertDelivered(broker: ServiceBroker, kind = "donation") {
	metrics(broker)?.increment(METRIC.ALERTS_DELIVERED, { kind });
}
export function setAlertQueueDepth(broker: ServiceBroker, depth: number) {
	metrics(broker)?.set(METRIC.ALERT_QUEUE_DEPTH, depth);
}
/** `settledAt` is the payment's settle time (ms or ISO string); observed when the alert shows. */
export function observePaymentToAlert(broker: ServiceBroker, settledAt: number | string | Date, now = Date.now()) {
	const t = typeof settledAt === "number" ? settledAt : new Date(settledAt).getTime();
	if (!Number.isFinite(t)) return;
	metrics(broker)?.observe(METRIC.PAYMENT_TO_ALERT_SECONDS, Math.max(0, (now - t) / 1000));
}
export function countWebhook(broker: ServiceBroker, provider: string, outcome: "accepted" | "duplicate" | "rejected" | "error" | string) {
	metrics(broker)?.increment(METRIC.WEBHOOKS, { provider, outcome });
}
export function countChatMessage(broker: ServiceBroker, kind: "channel" | "dm" = "channel") {
	metrics(broker)?.increment(METRIC.CHAT_MESSAGES, { kind });
}
export function countRateLimited(broker: ServiceBroker, source: "http" | "socket") {
	metrics(broker)?.increment(METRIC.RATE_LIMITED, { source });
}
export function countDeadLetter(broker: ServiceBroker, channel: string) {
	metrics(broker)?.increment(METRIC.DEAD_LETTERS, { channel });
}

/** Copies a gateway hub's `connected` counts into the sockets gauge (read at scrape time). */
export function refreshSocketGauge(broker: ServiceBroker): void {
	const m = metrics(broker);
	if (!m) return;
	const api = broker.getLocalService("api") as unknown as { hub?: { connected?: Record<string, number> } } | undefined;
	const connected = api?.hub?.connected;
	if (!connected) return;
	for (const [namespace, n] of Object.entries(connected)) m.set(METRIC.SOCKETS_CONNECTED, n, { namespace });
}

/** Reads the alert queue depth from a local alerts service into its gauge (at scrape time). */
async function refreshQueueDepth(broker: ServiceBroker): Promise<void> {
	const alerts = broker.getLocalService("alerts") as unknown as { queueDepth?(): Promise<number> } | undefined;
	if (!alerts?.queueDepth) return;
	setAlertQueueDepth(broker, await alerts.queueDepth());
}

/**
 * Broker middleware: registers the product metrics when a broker is created, refreshes the
 * socket and alert queue gauges before this node's metrics are read, and counts rate-limit
 * refusals answered to sockets (HTTP refusals are counted by the gateway's error handler).
 */
export const ProductMetricsMiddleware = {
	name: "ProductMetrics",
	created(broker: ServiceBroker) {
		registerProductMetrics(broker);
	},
	localAction(next: (ctx: any) => Promise<unknown>, action: { name: string; socket?: unknown }) {
		if (action.name === "$node.metrics") {
			return async function (this: unknown, ctx: any) {
				refreshSocketGauge(ctx.broker);
				await refreshQueueDepth(ctx.broker).catch(() => undefined);
				return next(ctx);
			};
		}
		// Only the socket hub calls actions for a socket, and only those that declare `socket`: the
		// others (REST, internal) keep their handler unwrapped, with no extra promise per call.
		if (typeof action.socket !== "string") return next;
		return function (this: unknown, ctx: any) {
			return next(ctx).catch((err: any) => {
				if (err?.code === 429 && ctx.meta?.socket && ctx.level === 1) countRateLimited(ctx.broker, "socket");
				throw err;
			});
		};
	},
};
