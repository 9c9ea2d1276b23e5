import { afterEach, describe, expect, it } from "vitest";
import { ServiceBroker, type Service, type ServiceSchema } from "moleculer";
import { SweeperMixin, type SweeperMethods } from "../../../mixins/sweeper.mixin";
import { waitFor } from "../../support/harness";

/** A promise with its resolve handle, so a test decides when a sweep run finishes. */
function deferred() {
	let resolve!: () => void;
	const promise = new Promise<void>((r) => (resolve = r));
	return { promise, resolve };
}

type Svc = Service & SweeperMethods;

let broker: ServiceBroker | null = null;
afterEach(async () => {
	if (broker) await broker.stop();
	broker = null;
});

function start(schema: Partial<ServiceSchema>): { svc: Svc; ready: Promise<void> } {
	broker = new ServiceBroker({ logger: false });
	const svc = broker.createService({ name: "sweepy", ...schema } as ServiceSchema) as unknown as Svc;
	return { svc, ready: broker.start() };
}

describe("SweeperMixin", () => {
	it("runs the sweep every interval", async () => {
		let runs = 0;
		const { ready } = start({ mixins: [SweeperMixin({ name: "tick", everyMs: () => 20, run: () => void runs++ })] });
		await ready;
		await waitFor(() => runs >= 3, 2_000, "three runs");
		expect(runs).toBeGreaterThanOrEqual(3);
	});

	it("never starts a second run while one is in flight", async () => {
		let inFlight = 0;
		let maxInFlight = 0;
		let calls = 0;
		const gate = deferred();
		let ticks = 0;
		const { svc, ready } = start({
			mixins: [
				SweeperMixin(
					{
						name: "slow",
						everyMs: () => 10,
						run: async () => {
							calls++;
							inFlight++;
							maxInFlight = Math.max(maxInFlight, inFlight);
							await gate.promise;
							inFlight--;
						},
					},
					// Same interval: counts the ticks that passed while "slow" was busy.
					{ name: "clock", everyMs: () => 10, run: () => void ticks++ },
				),
			],
		});
		await ready;
		await waitFor(() => calls === 1, 2_000, "first run");
		// Asking for a run while one is in flight answers that run.
		const asked = svc.runSweep("slow");
		const seen = ticks;
		await waitFor(() => ticks >= seen + 5, 2_000, "five more ticks");
		expect(calls).toBe(1);
		gate.resolve();
		await asked;
		expect(maxInFlight).toBe(1);
		await waitFor(() => calls >= 2, 2_000, "the next run after the first finished");
		expect(maxInFlight).toBe(1);
	});

	it("logs a failed run and runs again at the next tick", async () => {
		let calls = 0;
		const warnings: unknown[][] = [];
		const { svc, ready } = start({
			mixins: [
				SweeperMixin({
					name: "flaky",
					everyMs: () => 15,
					run: () => {
						calls++;
						if (calls === 1) throw new Error("store down");
					},
				}),
			],
		});
		(svc as unknown as { logger: { warn: (...a: unknown[]) => void } }).logger.warn = (...args: unknown[]) => void warnings.push(args);
		await ready;
		await waitFor(() => calls >= 2, 2_000, "a run after the failure");
		expect(warnings.length).toBe(1);
		expect(String(warnings[0][0])).toContain("flaky");
		expect(warnings[0][1]).toBe("store down");
	});

	it("runs an onBrokerStarted sweep once right after the broker started, not before", async () => {
		const runs: boolean[] = [];
		let ticks = 0;
		const { ready } = start({
			mixins: [
				SweeperMixin(
					{
						name: "startup",
						everyMs: () => 60_000,
						onBrokerStarted: true,
						run: () => void runs.push(broker!.started),
					},
					{ name: "clock", everyMs: () => 10, run: () => void ticks++ },
				),
			],
		});
		await ready;
		await waitFor(() => runs.length === 1, 2_000, "the start-up run");
		expect(runs).toEqual([true]);
		// The interval is a minute away: no second run while the clock ticks.
		await waitFor(() => ticks >= 5, 2_000, "five ticks");
		expect(runs).toEqual([true]);
	});

	it("a sweep without onBrokerStarted waits for its first interval", async () => {
		let runs = 0;
		let ticks = 0;
		const { ready } = start({
			mixins: [
				SweeperMixin({ name: "later", everyMs: () => 60_000, run: () => void runs++ }, { name: "clock", everyMs: () => 10, run: () => void ticks++ }),
			],
		});
		await ready;
		await waitFor(() => ticks >= 5, 2_000, "five ticks");
		expect(runs).toBe(0);
	});

	it("stop awaits the run in flight, then no timer runs again", async () => {
		let calls = 0;
		let finished = false;
		const gate = deferred();
		const { ready } = start({
			mixins: [
				SweeperMixin({
					name: "busy",
					everyMs: () => 10,
					run: async () => {
						calls++;
						if (calls === 1) {
							await gate.promise;
							finished = true;
						}
					},
				}),
			],
		});
		await ready;
		await waitFor(() => calls === 1, 2_000, "first run");
		const b = broker!;
		broker = null;
		let stopped = false;
		const stopping = b.stop().then(() => (stopped = true));
		await new Promise((r) => setTimeout(r, 30));
		expect(stopped).toBe(false);
		gate.resolve();
		await stopping;
		expect(finished).toBe(true);
		const after = calls;
		await new Promise((r) => setTimeout(r, 50));
		expect(calls).toBe(after);
	});

	it("runSweep rejects an unknown sweep name", async () => {
		const { svc, ready } = start({ mixins: [SweeperMixin({ name: "known", everyMs: () => 60_000, run: () => undefined })] });
		await ready;
		await expect(svc.runSweep("unknown")).rejects.toThrow(/No sweep named unknown/);
	});
});
