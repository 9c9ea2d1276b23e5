import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";

/**
 * A diagnostic service loaded only by the cluster tests: it tells which node answered, can be
 * slow, can be made to fail, and counts what it is doing, so the broker's fault-tolerance
 * settings can be observed from outside over HTTP.
 */
const schema: ServiceSchema = {
	name: "diag",
	settings: { rest: "/" },

	actions: {
		/** Which node answered. */
		whoami: {
			rest: "GET /diag/whoami",
			handler(this: any) {
				this.calls++;
				return { nodeID: this.broker.nodeID };
			},
		},

		/** Answers after `ms` milliseconds (in-flight work for shutdown and retry tests). */
		slow: {
			rest: "GET /diag/slow",
			params: { ms: { type: "number", convert: true, min: 0, max: 20_000 } },
			async handler(this: any, ctx: Context<{ ms: number }>) {
				this.inflight++;
				this.started++;
				try {
					await new Promise((r) => setTimeout(r, ctx.params.ms));
					return { nodeID: this.broker.nodeID };
				} finally {
					this.inflight--;
				}
			},
		},

		/** Fails with a server error while this node is set failing (circuit breaker tests). */
		flaky: {
			rest: "GET /diag/flaky",
			handler(this: any) {
				if (this.failing) throw new Errors.MoleculerError("Diagnostic failure", 500, "DIAG_FAILURE");
				return { nodeID: this.broker.nodeID };
			},
		},

		/** Busy work under a per-action bulkhead: 2 running, 2 waiting, the rest refused. */
		busy: {
			rest: "GET /diag/busy",
			params: { ms: { type: "number", convert: true, min: 0, max: 5_000 } },
			bulkhead: { enabled: true, concurrency: 2, maxQueueSize: 2 },
			async handler(this: any, ctx: Context<{ ms: number }>) {
				this.busyNow++;
				this.busyPeak = Math.max(this.busyPeak, this.busyNow);
				try {
					await new Promise((r) => setTimeout(r, ctx.params.ms));
					return { nodeID: this.broker.nodeID };
				} finally {
					this.busyNow--;
				}
			},
		},

		/** Switches `flaky` on this node. */
		setFailing: {
			params: { failing: "boolean" },
			handler(this: any, ctx: Context<{ failing: boolean }>) {
				this.failing = ctx.params.failing;
				return { nodeID: this.broker.nodeID, failing: this.failing };
			},
		},

		/** Counters of this node. */
		stats: {
			handler(this: any) {
				return { nodeID: this.broker.nodeID, calls: this.calls, inflight: this.inflight, started: this.started, busyPeak: this.busyPeak };
			},
		},
	},

	created(this: any) {
		this.calls = 0;
		this.inflight = 0;
		this.started = 0;
		this.failing = false;
		this.busyNow = 0;
		this.busyPeak = 0;
	},
};

export default schema;
