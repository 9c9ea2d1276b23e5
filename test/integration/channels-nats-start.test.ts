import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";
import { channelsAdapter } from "../../moleculer.config";
import { freePort } from "../support/cluster";
import { waitFor } from "../support/harness";

/**
 * Two instances of one consumer group starting at the same moment (docker compose with two
 * replicas) both come up on JetStream, and a message is handled by exactly one of them.
 */
const hasNats = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].some((p) => fs.existsSync(p));

describe.skipIf(!hasNats)("JetStream consumers of one group starting together", () => {
	let nats: ChildProcess;
	let store: string;
	let url: string;

	beforeAll(async () => {
		const port = await freePort();
		store = fs.mkdtempSync(path.join(os.tmpdir(), "js-start-"));
		nats = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store], { stdio: "ignore" });
		url = `nats://127.0.0.1:${port}`;
		await waitFor(
			() =>
				new Promise<boolean>((resolve) => {
					const s = net.connect({ port, host: "127.0.0.1" });
					s.once("connect", () => (s.destroy(), resolve(true)));
					s.once("error", () => resolve(false));
				}),
			10_000,
			"nats-server",
		);
	});
	afterAll(() => {
		nats?.kill("SIGKILL");
		fs.rmSync(store, { recursive: true, force: true });
	});

	it("both start, every time, and share the work", async () => {
		for (let round = 0; round < 3; round++) {
			const namespace = `jsstart${process.pid}r${round}`;
			const handled: string[] = [];
			const brokers = [0, 1].map((i) => {
				const b = new ServiceBroker({ nodeID: `w${i}-${namespace}`, namespace, logger: false, middlewares: [ChannelsMiddleware({ adapter: channelsAdapter(url), sendMethodName: "sendToChannel" } as any)] });
				b.createService({ name: "worker", channels: { "jobs.created": { group: "worker", handler: async (p: { n: number }) => void handled.push(`${i}:${p.n}`) } } } as any);
				return b;
			});
			try {
				const started = await Promise.allSettled(brokers.map((b) => b.start()));
				expect(started.map((r) => (r.status === "rejected" ? String(r.reason?.message) : "ok")), `round ${round}`).toEqual(["ok", "ok"]);
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
