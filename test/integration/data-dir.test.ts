import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../support/cluster";
import { serviceFile, waitFor } from "../support/harness";

/**
 * A node keeping NeDB files needs DATA_DIR for itself, writable: real moleculer-runner processes
 * (as `npm start` and the Docker image run them) on one directory.
 */

const ROOT = path.resolve(__dirname, "../..");
const RUNNER = path.join(ROOT, "node_modules/moleculer/bin/moleculer-runner.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-datadir-"));
const children = new Set<ChildProcess>();
const cleanups: Array<() => void> = [];
afterAll(() => {
	for (const c of children) c.kill("SIGKILL");
	for (const f of cleanups) f();
	fs.rmSync(tmp, { recursive: true, force: true });
});

interface Node {
	child: ChildProcess;
	port: number;
	output: () => string;
	exited: Promise<number | string>;
}

async function startNode(dataDir: string): Promise<Node> {
	const port = await freePort();
	const env: NodeJS.ProcessEnv = {
		PATH: process.env.PATH,
		HOME: process.env.HOME,
		NODE_ENV: "development",
		LOG_LEVEL: "warn",
		PORT: String(port),
		HOST: "127.0.0.1",
		DATA_DIR: dataDir,
		SCRYPT_COST: "1024",
		SERVICES: ["users", "api"].map((s) => serviceFile(s)).join(","),
	};
	const child = spawn(process.execPath, ["--import", "tsx", RUNNER, "--config", path.join(ROOT, "moleculer.config.ts")], {
		cwd: ROOT,
		env,
		stdio: ["ignore", "pipe", "pipe"],
	});
	children.add(child);
	let out = "";
	child.stdout!.on("data", (c) => (out += c));
	child.stderr!.on("data", (c) => (out += c));
	const exited = new Promise<number | string>((resolve) =>
		child.once("exit", (code, sig) => {
			children.delete(child);
			resolve(code ?? sig ?? "unknown");
		}),
	);
	return { child, port, output: () => out, exited };
}

async function healthy(node: Node) {
	await waitFor(
		async () => {
			if (node.child.exitCode !== null) throw new Error(`node exited:\n${node.output()}`);
			const res = await fetch(`http://127.0.0.1:${node.port}/health`).catch(() => null);
			return res?.status === 200;
		},
		40_000,
		"node /health 200",
	);
}

function within<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
	return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${label}: still running after ${ms} ms`)), ms).unref())]);
}

/** A directory this process cannot write: mode 0555, or (as root, who ignores modes) immutable. */
function readOnlyDir(): string {
	const dir = fs.mkdtempSync(path.join(tmp, "ro-"));
	if (process.getuid?.() !== 0) {
		fs.chmodSync(dir, 0o555);
		cleanups.push(() => fs.chmodSync(dir, 0o755));
		return dir;
	}
	if (spawnSync("chattr", ["+i", dir]).status === 0) {
		cleanups.push(() => spawnSync("chattr", ["-i", dir]));
		return dir;
	}
	// No way to take root's write access here: a path whose parent is a file cannot be created either.
	const file = path.join(dir, "not-a-directory");
	fs.writeFileSync(file, "");
	return path.join(file, "data");
}

describe("DATA_DIR", () => {
	it("a node that cannot write DATA_DIR exits non-zero with a sentence naming DATA_DIR and the path", async () => {
		const dir = readOnlyDir();
		const node = await startNode(dir);
		const code = await within(node.exited, 45_000, "node on a read-only DATA_DIR");
		expect(code).not.toBe(0);
		expect(typeof code).toBe("number");
		expect(node.output()).toContain(`DATA_DIR ${dir} cannot be written`);
	}, 60_000);

	it("a second process on the same DATA_DIR refuses to start naming the directory and the first one's pid; a SIGKILLed owner's lock is taken over", async () => {
		const dir = path.join(tmp, "shared");
		const first = await startNode(dir);
		await healthy(first);

		const second = await startNode(dir);
		const code = await within(second.exited, 45_000, "second node on the same DATA_DIR");
		expect(code).not.toBe(0);
		expect(second.output()).toContain(`DATA_DIR ${dir} is in use by another MediaShar process (pid ${first.child.pid}`);
		// The first one is untouched and still serves.
		expect((await fetch(`http://127.0.0.1:${first.port}/health`)).status).toBe(200);

		first.child.kill("SIGKILL");
		await first.exited;
		const lock = JSON.parse(fs.readFileSync(path.join(dir, "mediashar.lock"), "utf8"));
		expect(lock.pid).toBe(first.child.pid);

		const third = await startNode(dir);
		await healthy(third);
		expect(JSON.parse(fs.readFileSync(path.join(dir, "mediashar.lock"), "utf8")).pid).toBe(third.child.pid);
		third.child.kill("SIGTERM");
		expect(await within(third.exited, 30_000, "third node stopping")).toBe(0);
		expect(fs.existsSync(path.join(dir, "mediashar.lock"))).toBe(false);
	}, 150_000);
});
