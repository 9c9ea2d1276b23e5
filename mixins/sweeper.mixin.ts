import type { Service, ServiceSchema, ServiceSettingSchema } from "moleculer";

/**
 * The periodic loops that re-drive what a crash or an outage left unfinished (outbox rows,
 * payments to expire, alerts to re-send, chat history to prune): one timer per sweep, unref'd so
 * it never holds the process open, never two runs of one sweep at once, a failure logged and
 * tried again at the next tick. A sweep with `onBrokerStarted` also runs once when every local
 * service has started (`$broker.started`), so work left by the previous process is picked up
 * without waiting a whole interval. Timers stop (and a run in flight is awaited) on `stopped`.
 */
export interface Sweep<S = Service> {
	/** Names the sweep in logs and in `runSweep()`. */
	name: string;
	/** The interval, read when the service starts (services take it from their config). */
	everyMs: (svc: S) => number;
	/** The work; its promise is awaited before the next run of the same sweep may start. */
	run: (svc: S) => Promise<unknown> | unknown;
	/** Also run once on `$broker.started`. */
	onBrokerStarted?: boolean;
}

interface SweepState {
	timer: NodeJS.Timeout | null;
	running: Promise<void> | null;
	stopped: boolean;
}

/** What the sweeper adds to `this`. */
export interface SweeperMethods {
	/** Runs one sweep now; while it is already running, answers that run instead of starting another. */
	runSweep(name: string): Promise<void>;
}

export interface SweeperLocal {
	$sweeps: Map<string, SweepState>;
}

export function SweeperMixin<S = Service>(...sweeps: Sweep<S>[]): Partial<ServiceSchema> {
	const byName = new Map(sweeps.map((s) => [s.name, s]));
	type This = Service & SweeperLocal & SweeperMethods;
	const mixin: Partial<ServiceSchema<ServiceSettingSchema, SweeperMethods, SweeperLocal>> = {
		methods: {
			runSweep(this: This, name: string): Promise<void> {
				const sweep = byName.get(name);
				const state = this.$sweeps.get(name);
				if (!sweep || !state) return Promise.reject(new Error(`No sweep named ${name} on ${this.name}`));
				if (state.running) return state.running;
				if (state.stopped) return Promise.resolve();
				// A run that throws before its first await finishes inside this call: it must not be
				// left as the run in flight (every later tick would answer it instead of running).
				let done = false;
				let run: Promise<void> | null = null;
				run = (async () => {
					try {
						await sweep.run(this as unknown as S);
					} catch (err) {
						this.logger.warn(`Sweep ${name} failed; it runs again at the next tick`, (err as Error).message);
					} finally {
						done = true;
						if (state.running === run) state.running = null;
					}
				})();
				if (!done) state.running = run;
				return run;
			},
		},
		events: {
			"$broker.started"(this: This) {
				for (const s of sweeps) if (s.onBrokerStarted) void this.runSweep(s.name);
			},
		},
		created(this: This) {
			this.$sweeps = new Map(sweeps.map((s) => [s.name, { timer: null, running: null, stopped: false }]));
		},
		started(this: This) {
			for (const s of sweeps) {
				const state = this.$sweeps.get(s.name)!;
				state.stopped = false;
				const every = Math.max(10, s.everyMs(this as unknown as S));
				state.timer = setInterval(() => void this.runSweep(s.name), every);
				state.timer.unref();
			}
		},
		async stopped(this: This) {
			for (const state of this.$sweeps.values()) {
				state.stopped = true;
				if (state.timer) clearInterval(state.timer);
				state.timer = null;
			}
			await Promise.all([...this.$sweeps.values()].map((s) => s.running));
		},
	};
	return mixin as unknown as Partial<ServiceSchema>;
}
