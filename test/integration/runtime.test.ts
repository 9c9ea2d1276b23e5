import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

/**
 * The project carries its runtime: the `node` dev dependency (pinned exactly) puts Node 24 in
 * node_modules/.bin, which npm puts first on the PATH of every script. So `npm test` runs on it,
 * and so does every process started through a `#!/usr/bin/env node` shebang, as `npm start`
 * starts moleculer-runner. Both are checked here against the version package.json pins.
 */

const ROOT = path.resolve(__dirname, "../..");
const carried = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies.node;
const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-runtime-"));
afterAll(() => fs.rmSync(DATA_DIR, { recursive: true, force: true }));

/** Starts moleculer-runner through its shebang (PATH decides which node runs it) and resolves with the runtime line it logs. */
function runtimeLineOfRunner(): Promise<string> {
	const child = spawn(path.join(ROOT, "node_modules/.bin/moleculer-runner"), ["--config", path.join(ROOT, "moleculer.config.ts")], {
		cwd: ROOT,
		env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_OPTIONS: "--import tsx", NODE_ENV: "test", LOG_LEVEL: "info", DATA_DIR, PORT: "0" },
		stdio: ["ignore", "pipe", "pipe"],
	});
	let output = "";
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill("SIGKILL");
			reject(new Error(`no runtime line within 30 s:\n${output}`));
		}, 30_000);
		const onData = (chunk: Buffer) => {
			output += chunk;
			const line = /Runtime: Node\.js v\S+/.exec(output);
			if (!line) return;
			clearTimeout(timer);
			child.once("exit", () => resolve(line[0]));
			child.kill("SIGTERM");
		};
		child.stdout.on("data", onData);
		child.stderr.on("data", onData);
		child.once("exit", (code) => {
			clearTimeout(timer);
			if (!/Runtime: Node\.js/.test(output)) reject(new Error(`moleculer-runner exited ${code}:\n${output}`));
		});
	});
}

describe("runtime", () => {
	it("pins one exact Node 24 release as the `node` dev dependency", () => {
		expect(carried).toMatch(/^24\.\d+\.\d+$/);
	});

	it("runs the tests on the carried Node", () => {
		expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(24);
		expect(process.versions.node).toBe(carried);
	});

	it("starts a server through moleculer-runner's `#!/usr/bin/env node` on the carried Node, as npm start does", async () => {
		const line = await runtimeLineOfRunner();
		expect(line).toBe(`Runtime: Node.js v${carried}`);
	}, 40_000);
});
