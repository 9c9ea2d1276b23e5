import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import pg from "pg";
import config from "../../moleculer.config";
import { serviceFile as findServiceFile } from "../../lib/ops/service-files";

/**
 * Starts a MediaShar cluster out of real OS processes on 127.0.0.1: a `nats-server -js`, a
 * `redis-server`, a PostgreSQL database of its own (created on the server `postgres` names,
 * default the one on 127.0.0.1:5432, dropped by `stop()`), and one moleculer-runner process per service group (TypeScript sources through
 * tsx, the same runner and config the Docker image uses on the compiled files). Every process gets
 * its own process group, so `stop()` (and the exit hook) can kill it with everything it spawned.
 */

export const ROOT = path.resolve(__dirname, "../..");
const RUNNER = path.join(ROOT, "node_modules/moleculer/bin/moleculer-runner.js");
const CONFIG = path.join(ROOT, "moleculer.config.ts");

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = net.createServer();
		srv.unref();
		srv.once("error", reject);
		srv.listen(0, "127.0.0.1", () => {
			const addr = srv.address();
			const port = typeof addr === "object" && addr ? addr.port : 0;
			srv.close(() => resolve(port));
		});
	});
}

export function canConnect(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const s = net.connect({ port, host: "127.0.0.1" });
		s.once("connect", () => {
			s.destroy();
			resolve(true);
		});
		s.once("error", () => resolve(false));
	});
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, label: string, alive?: () => string | null) {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		if (await check()) return;
		const dead = alive?.();
		if (dead) throw new Error(`${label}: ${dead}`);
		await new Promise((r) => setTimeout(r, 50));
	}
	throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}`);
}

export interface ClusterProcess {
	name: string;
	proc: ChildProcess;
	pid: number;
	logFile: string;
	/** HTTP port for gateways. */
	port?: number;
	url?: string;
	/** Resolves with the exit code (or signal name) when the process has ended. */
	exited: Promise<number | string>;
	running(): boolean;
	/** Signals the whole process group. */
	signal(sig: NodeJS.Signals): void;
	log(): string;
}

export interface NodeSpec {
	/** Node ID and log name. */
	name: string;
	/** Service names under services/ ("users") or paths to service files. */
	services: string[];
	/** Extra env for this process (on top of the cluster's). */
	env?: Record<string, string>;
	/** Give the process an HTTP port (gateways). */
	http?: boolean;
}

export interface ClusterOptions {
	/** Start a redis-server too (REDIS_URL, CACHER). */
	redis?: boolean;
	/** Env shared by every node. */
	env?: Record<string, string>;
	/** Where the durable channels live: NATS JetStream (default) or Redis Streams (needs `redis`). */
	channels?: "nats" | "redis";
	/**
	 * The PostgreSQL server the cluster's database is created on (its maintenance database URL):
	 * CLUSTER_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres. Every node shares it.
	 */
	postgres?: string;
}

/** Runs one statement on a server's maintenance database. */
export async function pgAdmin(serverUrl: string, sql: string): Promise<void> {
	const client = new pg.Client({ connectionString: serverUrl });
	await client.connect();
	try {
		await client.query(sql);
	} finally {
		await client.end();
	}
}

const live = new Set<ClusterProcess>();
process.once("exit", () => {
	for (const p of live) p.signal("SIGKILL");
});

function launch(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, logDir: string): ClusterProcess {
	const logFile = path.join(logDir, `${name}.log`);
	const out = fs.openSync(logFile, "a");
	const proc = spawn(cmd, args, { cwd: ROOT, env, detached: true, stdio: ["ignore", out, out] });
	fs.closeSync(out);
	let done = false;
	const exited = new Promise<number | string>((resolve) => {
		proc.once("exit", (code, sig) => {
			done = true;
			live.delete(cp);
			resolve(code ?? sig ?? "unknown");
		});
		proc.once("error", (err) => {
			fs.appendFileSync(logFile, `\n${cmd} could not start: ${err.message}\n`);
			done = true;
			live.delete(cp);
			resolve("spawn-error");
		});
	});
	const cp: ClusterProcess = {
		name,
		proc,
		pid: proc.pid!,
		logFile,
		exited,
		running: () => !done,
		signal(sig) {
			if (done) return;
			try {
				process.kill(-proc.pid!, sig);
			} catch {
				/* already gone */
			}
		},
		log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : ""),
	};
	live.add(cp);
	return cp;
}

export class Cluster {
	readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-cluster-"));
	readonly namespace = `c${process.pid}${Date.now().toString(36)}`;
	readonly processes: ClusterProcess[] = [];
	natsUrl = "";
	redisUrl = "";
	databaseUrl = "";
	private pgServer = "";
	private dbName = "";
	private client?: ServiceBroker;

	constructor(readonly opts: ClusterOptions = {}) {}

	/** Starts nats-server (JetStream on) and, when asked, redis-server, on free ports. */
	async startInfra() {
		for (const bin of this.opts.redis ? ["nats-server", "redis-server"] : ["nats-server"]) {
			const found = (process.env.PATH ?? "").split(path.delimiter).some((dir) => fs.existsSync(path.join(dir, bin)));
			if (!found) throw new Error(`${bin} is not on the PATH: the cluster tests need it (apt-get install ${bin}).`);
		}
		const natsPort = await freePort();
		const store = path.join(this.dir, "jetstream");
		fs.mkdirSync(store);
		const nats = launch("nats", "nats-server", ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", store], process.env, this.dir);
		this.processes.push(nats);
		this.natsUrl = `nats://127.0.0.1:${natsPort}`;
		await until(
			() => canConnect(natsPort),
			10_000,
			"nats-server",
			() => (nats.running() ? null : `nats-server exited:\n${nats.log()}`),
		);
		if (this.opts.redis) {
			const redisPort = await freePort();
			const redis = launch(
				"redis",
				"redis-server",
				["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir],
				process.env,
				this.dir,
			);
			this.processes.push(redis);
			this.redisUrl = `redis://127.0.0.1:${redisPort}`;
			await until(
				() => canConnect(redisPort),
				10_000,
				"redis-server",
				() => (redis.running() ? null : `redis-server exited:\n${redis.log()}`),
			);
		}
		this.pgServer = this.opts.postgres ?? process.env.CLUSTER_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
		this.dbName = `mediashar_${this.namespace}`.toLowerCase();
		await pgAdmin(this.pgServer, `CREATE DATABASE "${this.dbName}"`).catch((err: Error) => {
			throw new Error(`The cluster needs PostgreSQL at ${this.pgServer} (CLUSTER_PG_URL): ${err.message}`);
		});
		const url = new URL(this.pgServer);
		url.pathname = `/${this.dbName}`;
		this.databaseUrl = url.toString();
	}

	/** The env every MediaShar node of this cluster gets. */
	baseEnv(): Record<string, string> {
		const env: Record<string, string> = {
			NAMESPACE: this.namespace,
			TRANSPORTER: this.natsUrl,
			CHANNELS_URL: this.opts.channels === "redis" ? this.redisUrl : this.natsUrl,
			DB_ADAPTER: "postgres",
			DATABASE_URL: this.databaseUrl,
			// A dozen nodes on one server (often the shared one, max_connections 100): a small pool each.
			PG_POOL_MAX: "4",
			DATA_DIR: path.join(this.dir, "data"),
			LOG_LEVEL: "info",
			LOG_FORMAT: "short",
			// Notice a killed node within a few seconds instead of the production 15 s.
			HEARTBEAT_INTERVAL_SEC: "1",
			HEARTBEAT_TIMEOUT_SEC: "3",
		};
		if (this.redisUrl) {
			env.REDIS_URL = this.redisUrl;
			env.CACHER = this.redisUrl;
		}
		return { ...env, ...(this.opts.env ?? {}) };
	}

	/** Starts one service-group process and resolves when its broker has started. */
	async startNode(spec: NodeSpec, timeoutMs = 60_000): Promise<ClusterProcess> {
		const files = spec.services.map((s) => (s.includes("/") ? path.resolve(ROOT, s) : findServiceFile(path.join(ROOT, "services"), s)));
		const port = spec.http ? await freePort() : undefined;
		const env: NodeJS.ProcessEnv = {
			...process.env,
			...this.baseEnv(),
			NODE_ID: spec.name,
			SERVICES: files.join(","),
			...(port ? { PORT: String(port), HOST: "127.0.0.1" } : {}),
			...(spec.env ?? {}),
		};
		const node = launch(spec.name, process.execPath, ["--import", "tsx", RUNNER, "--config", CONFIG], env, this.dir);
		node.port = port;
		node.url = port ? `http://127.0.0.1:${port}` : undefined;
		this.processes.push(node);
		await until(
			() => /started successfully/.test(node.log()),
			timeoutMs,
			`node ${spec.name}`,
			() => (node.running() ? null : `exited before starting:\n${node.log().slice(-4000)}`),
		).catch((err: Error) => {
			throw new Error(`${err.message}\n--- ${spec.name} log ---\n${node.log().slice(-3000)}`);
		});
		if (port) await until(() => canConnect(port), 10_000, `gateway ${spec.name} listening`);
		return node;
	}

	/** Starts several nodes side by side. */
	startNodes(specs: NodeSpec[]): Promise<ClusterProcess[]> {
		return Promise.all(specs.map((s) => this.startNode(s)));
	}

	/**
	 * A broker inside the test process joined to the cluster: to call internal actions, watch the
	 * registry, wait for nodes to appear or go, and (with `services`) listen to broadcast events.
	 */
	async clientBroker(overrides: Partial<BrokerOptions> = {}, services: ServiceSchema[] = []): Promise<ServiceBroker> {
		if (this.client) return this.client;
		const { middlewares: _skip, ...base } = config;
		this.client = new ServiceBroker({
			...base,
			namespace: this.namespace,
			nodeID: `test-client-${process.pid}`,
			transporter: this.natsUrl as BrokerOptions["transporter"],
			logger: false,
			cacher: undefined,
			metrics: false,
			tracing: false,
			heartbeatInterval: 1,
			heartbeatTimeout: 3,
			...overrides,
		});
		for (const schema of services) this.client.createService(schema);
		await this.client.start();
		return this.client;
	}

	/**
	 * Resolves once `count` nodes offer `service`, as the test client sees it and, with `seenBy`,
	 * as each of those nodes sees it (a gateway that has not yet met the second instance would
	 * send it nothing).
	 */
	async waitForInstances(service: string, count: number, timeoutMs = 20_000, seenBy: string[] = []) {
		const broker = await this.clientBroker();
		await until(
			() => {
				const svc = (broker.registry.getServiceList({ onlyAvailable: true, withActions: false }) as any[]).filter((s) => s.name === service);
				return new Set(svc.map((s) => s.nodeID)).size >= count;
			},
			timeoutMs,
			`${count} instance(s) of ${service}`,
		);
		for (const nodeID of seenBy) {
			await until(
				async () => {
					const list = await broker.call<any[], any>("$node.services", { onlyAvailable: true, grouping: true }, { nodeID }).catch(() => []);
					return (list.find((s: any) => s.name === service)?.nodes?.length ?? 0) >= count;
				},
				timeoutMs,
				`${nodeID} to see ${count} instance(s) of ${service}`,
			);
		}
	}

	/** Resolves once no node offers `service` from `nodeID` any more (the cluster noticed it is gone). */
	async waitForNodeGone(nodeID: string, timeoutMs = 20_000) {
		const broker = await this.clientBroker();
		await until(() => !broker.registry.nodes.get(nodeID)?.available, timeoutMs, `node ${nodeID} to be seen as gone`);
	}

	/** Kills every process of the cluster (process groups) and removes its files. */
	async stop() {
		if (this.client) await this.client.stop().catch(() => undefined);
		for (const p of this.processes) p.signal("SIGKILL");
		await Promise.all(this.processes.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))])));
		if (this.dbName && !process.env.KEEP_CLUSTER_LOGS)
			await pgAdmin(this.pgServer, `DROP DATABASE IF EXISTS "${this.dbName}" WITH (FORCE)`).catch(() => undefined);
		if (!process.env.KEEP_CLUSTER_LOGS) fs.rmSync(this.dir, { recursive: true, force: true });
	}

	/** The tail of every node's log, for a failing test's message. */
	logs(lines = 40): string {
		return this.processes.map((p) => `--- ${p.name} ---\n${p.log().split("\n").slice(-lines).join("\n")}`).join("\n");
	}
}

/** A raw HTTP GET on a fresh connection (no keep-alive pool), so a refused connection is visible as such. */
export async function freshGet(url: string, timeoutMs = 15_000): Promise<{ status: number; body: any } | { error: string }> {
	const http = await import("node:http");
	return new Promise((resolve) => {
		const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
			let text = "";
			res.setEncoding("utf8");
			res.on("data", (c) => (text += c));
			res.on("end", () => {
				let body: any = text;
				try {
					body = JSON.parse(text);
				} catch {
					/* not JSON */
				}
				resolve({ status: res.statusCode ?? 0, body });
			});
			res.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code || e.message }));
		});
		req.on("timeout", () => req.destroy(new Error("ETIMEDOUT")));
		req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code || e.message }));
	});
}
