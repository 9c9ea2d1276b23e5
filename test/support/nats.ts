import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { canConnect, freePort } from "./cluster";
import { waitFor } from "./harness";

/** Whether a nats-server binary is installed (the suites that need one skip without it). */
export const hasNatsServer = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].some((p) => fs.existsSync(p));

export interface NatsServer {
	url: string;
	port: number;
	/** SIGKILLs the server (a crash); `start()` brings it back on the same port and store. */
	kill(): void;
	start(): Promise<void>;
	/** Kills it and removes its JetStream store. */
	stop(): void;
}

/** A nats-server of the test's own on a free 127.0.0.1 port; `jetstream` adds `-js` with a temporary store. */
export async function startNatsServer(opts: { jetstream?: boolean } = {}): Promise<NatsServer> {
	const port = await freePort();
	const store = opts.jetstream ? fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-nats-")) : null;
	let proc: ChildProcess | null = null;
	const server: NatsServer = {
		url: `nats://127.0.0.1:${port}`,
		port,
		kill() {
			proc?.kill("SIGKILL");
			proc = null;
		},
		async start() {
			proc = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(port), ...(store ? ["-js", "-sd", store] : [])], { stdio: "ignore" });
			await waitFor(() => canConnect(port), 10_000, "nats-server");
		},
		stop() {
			server.kill();
			if (store) fs.rmSync(store, { recursive: true, force: true });
		},
	};
	await server.start();
	return server;
}
