import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { canConnect, freePort } from "./cluster";
import { waitFor } from "./harness";

/** Whether a redis-server binary is on the PATH (the suites that need one skip without it). */
export const hasRedisServer = (process.env.PATH ?? "").split(path.delimiter).some((dir) => fs.existsSync(path.join(dir, "redis-server")));

/** A redis-server of the test's own on a free 127.0.0.1 port, nothing persisted. */
export async function startRedisServer(): Promise<{ url: string; stop(): void }> {
	const port = await freePort();
	const proc: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
	await waitFor(() => canConnect(port), 10_000, "redis-server");
	return { url: `redis://127.0.0.1:${port}`, stop: () => proc.kill("SIGKILL") };
}
