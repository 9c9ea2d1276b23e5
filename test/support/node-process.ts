import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "./cluster";
import { waitFor } from "./harness";
import { serviceFiles } from "../../lib/ops/service-files";

/**
 * One real MediaShar node, as `npm start` runs it (moleculer-runner, every service, NeDB files and
 * the channel journal under DATA_DIR), on 127.0.0.1 and a free port, for tests that fill its disk
 * or kill it.
 */

const ROOT = path.resolve(__dirname, "../..");
const RUNNER = path.join(ROOT, "node_modules/moleculer/bin/moleculer-runner.js");
const SERVICES = [...serviceFiles(path.join(ROOT, "services")).values()].join(",");

export interface NodeProcess {
	base: string;
	/** Why it exited, once it has (null while it runs). */
	exited(): string | null;
	output(): string;
	/** SIGTERM, and waits for the exit (SIGKILL after 15 s). */
	stop(): Promise<void>;
	/** SIGKILL, and waits for the exit. */
	kill(): Promise<void>;
}

export async function startNode(dataDir: string, env: Record<string, string> = {}): Promise<NodeProcess> {
	const port = await freePort();
	const base = `http://127.0.0.1:${port}`;
	let exited: string | null = null;
	let output = "";
	const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", RUNNER, "--config", path.join(ROOT, "moleculer.config.ts")], {
		cwd: ROOT,
		env: {
			PATH: process.env.PATH,
			HOME: process.env.HOME,
			NODE_ENV: "development",
			PORT: String(port),
			HOST: "127.0.0.1",
			DATA_DIR: dataDir,
			SERVICES,
			LOGLEVEL: "warn",
			...env,
		},
		stdio: ["ignore", "pipe", "pipe"],
	});
	child.stdout!.on("data", (c) => (output += c));
	child.stderr!.on("data", (c) => (output += c));
	const gone = new Promise<void>((resolve) =>
		child.once("exit", (code, signal) => {
			exited = `exited with ${code ?? signal}`;
			resolve();
		}),
	);
	const end = async (signal: NodeJS.Signals) => {
		if (exited) return;
		child.kill(signal);
		const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
		await gone;
		clearTimeout(timer);
	};
	const node: NodeProcess = { base, exited: () => exited, output: () => output, stop: () => end("SIGTERM"), kill: () => end("SIGKILL") };
	try {
		await waitFor(
			async () => {
				if (exited) throw new Error(`node ${exited}: ${output.slice(-2000)}`);
				return (await fetch(`${base}/health/ready`).catch(() => null))?.status === 200;
			},
			60_000,
			"the node to be ready",
		);
	} catch (err) {
		await node.kill();
		throw err;
	}
	return node;
}
