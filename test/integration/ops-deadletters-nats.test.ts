import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { channelsAdapter } from "../../moleculer.config";
import DeadLetters from "../../services/ops/deadletters.service";
import { waitFor } from "../support/harness";
import { hasNatsServer, startNatsServer, type NatsServer } from "../support/nats";
import { replCommands } from "../../lib/ops/repl-commands";

/**
 * The dead-letter path with a real JetStream: a consumer that keeps failing gets its message
 * moved to DEAD_LETTER by @moleculer/channels, the deadletters service parks it, and the REPL's
 * `dlq retry` re-publishes it to the original channel once the consumer is fixed.
 */
describe.skipIf(!hasNatsServer)("dead letters over NATS JetStream", () => {
	let nats: NatsServer;
	let broker: ServiceBroker & { sendToChannel(name: string, payload: unknown, opts?: unknown): Promise<void> };
	let failing = true;
	const attempts: unknown[] = [];
	const handled: unknown[] = [];

	beforeAll(async () => {
		nats = await startNatsServer({ jetstream: true });
		const prev = process.env.CHANNELS_MAX_RETRIES;
		process.env.CHANNELS_MAX_RETRIES = "1";
		const adapter = channelsAdapter(nats.url) as any;
		process.env.CHANNELS_MAX_RETRIES = prev;
		broker = new ServiceBroker({
			logger: process.env.TEST_LOG ? { type: "Console", options: { level: process.env.TEST_LOG } } : false,
			namespace: `dlq${process.pid}`,
			middlewares: [ChannelsMiddleware({ adapter, sendMethodName: "sendToChannel" } as any)],
		}) as typeof broker;
		broker.createService(DeadLetters);
		broker.createService({
			name: "flaky",
			channels: {
				"ops.flaky": {
					group: "flaky",
					async handler(payload: unknown) {
						attempts.push(payload);
						if (failing) throw new Error("downstream is down");
						handled.push(payload);
					},
				},
			},
		} as any);
		await broker.start();
	}, 30_000);

	afterAll(async () => {
		await broker?.stop();
		nats?.stop();
	});

	it("parks the failed message and re-publishes it with `dlq retry`", async () => {
		await broker.sendToChannel("ops.flaky", { order: 7 });
		const parked = await waitFor(async () => (await broker.call<any, any>("deadletters.list", { channel: "ops.flaky" })).items[0], 15_000, "dead letter");
		expect(parked).toMatchObject({ channel: "ops.flaky", group: "flaky", status: "parked" });
		expect(attempts).toEqual([{ order: 7 }]); // CHANNELS_MAX_RETRIES=1: one delivery, then the dead-letter queue
		expect((await broker.call<any, any>("deadletters.get", { id: parked.id })).payload).toEqual({ order: 7 });

		failing = false;
		const out: string[] = [];
		const dlq = replCommands((s) => out.push(s)).find((c) => c.command.startsWith("dlq"))!;
		await dlq.action(broker as any, { verb: "retry", id: parked.id, options: {} });
		expect(out[0]).toBe(`Re-published ${parked.id} to "ops.flaky".`);
		await waitFor(() => handled.length === 1, 10_000, "redelivered message handled");
		expect(handled[0]).toEqual({ order: 7 });
		expect((await broker.call<any, any>("deadletters.get", { id: parked.id })).status).toBe("retried");
	}, 40_000);
});
