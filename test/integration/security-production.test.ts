import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runtimeMode, secret } from "../../lib/config";
import { serviceFile } from "../support/harness";

/**
 * In production there are no default secrets: a node started without them must refuse to start
 * and say which variable is missing (a real moleculer-runner process, as the Docker image runs it).
 */

const ROOT = path.resolve(__dirname, "../..");
const RUNNER = path.join(ROOT, "node_modules/moleculer/bin/moleculer-runner.js");
const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-prod-"));
afterAll(() => fs.rmSync(DATA_DIR, { recursive: true, force: true }));

function start(services: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
	const clean: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
	const child = spawn(process.execPath, ["--import", "tsx", RUNNER, "--config", path.join(ROOT, "moleculer.config.ts")], {
		cwd: ROOT,
		env: {
			...clean,
			NODE_ENV: "production",
			PORT: "0",
			HOST: "127.0.0.1",
			DATA_DIR,
			SERVICES: services.map((s) => serviceFile(s)).join(","),
			...env,
		},
		stdio: ["ignore", "pipe", "pipe"],
	});
	let output = "";
	child.stdout.on("data", (c) => (output += c));
	child.stderr.on("data", (c) => (output += c));
	return new Promise((resolve) => {
		const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
		child.once("exit", (code) => {
			clearTimeout(timer);
			resolve({ code, output });
		});
	});
}

describe("security: production refuses to start without secrets", () => {
	it("exits non-zero naming JWT_SECRET when it is missing", async () => {
		const res = await start(["users", "api"], {});
		expect(res.code).not.toBe(0);
		expect(res.code).not.toBeNull();
		expect(res.output).toContain("JWT_SECRET must be set");
	}, 60_000);

	it("treats any NODE_ENV but development and test as production (staging has no default secret either)", async () => {
		const res = await start(["users", "api"], { NODE_ENV: "staging" });
		expect(res.code).not.toBe(0);
		expect(res.output).toContain("JWT_SECRET must be set when NODE_ENV=staging");
		expect(["development", "test", "production", "production"]).toEqual(
			[undefined, "test", "production", "prod"].map((NODE_ENV) => runtimeMode({ NODE_ENV })),
		);
		expect(secret("JWT_SECRET", { NODE_ENV: "development" })).toMatch(/^dev-only/);
		expect(() => secret("JWT_SECRET", { NODE_ENV: "Production" })).toThrow("JWT_SECRET must be set");
	}, 60_000);

	it("exits non-zero naming SANDBOX_WEBHOOK_SECRET when the sandbox is on without its secret", async () => {
		const res = await start(["payments"], { JWT_SECRET: "a-real-production-secret", PAYMENTS_SANDBOX: "true" });
		expect(res.code).not.toBe(0);
		expect(res.output).toContain("SANDBOX_WEBHOOK_SECRET must be set");
	}, 60_000);

	it("exits non-zero naming STRIPE_WEBHOOK_SECRET when Stripe is configured without it", async () => {
		const res = await start(["payments"], { JWT_SECRET: "a-real-production-secret", STRIPE_SECRET_KEY: "sk_test_x" });
		expect(res.code).not.toBe(0);
		expect(res.output).toContain("STRIPE_WEBHOOK_SECRET must be set");
	}, 60_000);

	it("exits non-zero naming ACCOUNT_ENCRYPTION_KEY when it is missing (two-factor secrets are sealed with it)", async () => {
		const res = await start(["users", "api"], { JWT_SECRET: "a-real-production-secret", METRICS_TOKEN: "a-real-metrics-token" });
		expect(res.code).not.toBe(0);
		expect(res.code).not.toBeNull();
		expect(res.output).toContain("ACCOUNT_ENCRYPTION_KEY must be set when NODE_ENV=production");
	}, 60_000);

	it("exits non-zero naming METRICS_TOKEN when the gateway would serve /metrics without one", async () => {
		const res = await start(["users", "api"], { JWT_SECRET: "a-real-production-secret", ACCOUNT_ENCRYPTION_KEY: "a".repeat(64) });
		expect(res.code).not.toBe(0);
		expect(res.code).not.toBeNull();
		expect(res.output).toContain("METRICS_TOKEN must be set when NODE_ENV=production");
	}, 60_000);
});
