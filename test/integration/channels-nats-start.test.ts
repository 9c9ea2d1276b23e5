import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { channelsAdapter } from "../../moleculer.config";
import { waitFor } from "../support/harness";
import { hasNatsServer, startNatsServer, type NatsServer } from "../support/nats";

/**
 * Two instances of one consumer group starting at the same moment (docker compose with two
 * replicas) both come up on JetStream, and a message is handled by exactly one of them.
 */
describe.skipIf(!hasNatsServer)("JetStream consumers of one group starting together", () => {
	let nats: NatsServer;
	let url: string;

	beforeAll(async () => {
		nats = await startNatsServer({ jetstream: true });
		url = nats.url;
	});
	afterAll(() => nats?.stop());

	it("both start, every time, and share the work", async () => {
		for (let round = 0; round < 3; round++) {
			const namespace = `jsstart${process.pid}r${round}`;
			const handled: string[] = [];
			const brokers = [0, 1].map((i) => {
				const b = new ServiceBroker({
					nodeID: `w${i}-${namespace}`,
					namespace,
					logger: false,
					middlewares: [ChannelsMiddleware({ adapter: channelsAdapter(url), sendMethodName: "sendToChannel" } as any)],
				});
				b.createService({
					name: "worker",
					channels: { "jobs.created": { group: "worker", handler: async (p: { n: number }) => void handled.push(`${i}:${p.n}`) } },
				} as any);
				return b;
			});
			try {
				const started = await Promise.allSettled(brokers.map((b) => b.start()));
				expect(
					started.map((r) => (r.status === "rejected" ? String(r.reason?.message) : "ok")),
					`round ${round}`,
				).toEqual(["ok", "ok"]);
				await (brokers[0] as any).sendToChannel("jobs.created", { n: round });
				await waitFor(() => handled.length === 1, 5000, "the message handled");
				await new Promise((r) => setTimeout(r, 200));
				expect(handled).toHaveLength(1);
			} finally {
				await Promise.allSettled(brokers.map((b) => b.stop()));
			}
		}
	});
});
