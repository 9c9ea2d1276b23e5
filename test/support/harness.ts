import path from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { io as ioClient, type Socket } from "socket.io-client";
import config, { createMiddlewares } from "../../moleculer.config";
import { serviceFile as findServiceFile, serviceFiles } from "../../lib/ops/service-files";

export const ROOT = path.resolve(__dirname, "../..");

/** Every service file under services/<context>/, by name ("users" → services/accounts/users.service.ts). */
export function serviceFile(name: string): string {
	return findServiceFile(path.join(ROOT, "services"), name);
}

export function allServiceNames(): string[] {
	return [...serviceFiles(path.join(ROOT, "services")).keys()];
}

export interface Harness {
	broker: ServiceBroker;
	url: string;
	port: number;
	stop(): Promise<void>;
}

export interface HarnessOptions {
	/** Service names to load (default: all). The gateway is always loaded on port 0. */
	services?: string[];
	/** Extra schemas (stubs) to load. */
	extra?: Partial<ServiceSchema>[];
	/** Env vars set before the services are created (restored by stop()). */
	env?: Record<string, string | undefined>;
	nodeID?: string;
	brokerOptions?: Record<string, unknown>;
	/** Called with the broker once its services are created, before it starts. */
	onCreated?: (broker: ServiceBroker) => void;
}

/** Starts one broker with the chosen services and the real gateway on an ephemeral port. */
export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
	const saved: Record<string, string | undefined> = {};
	for (const [k, v] of Object.entries(opts.env ?? {})) {
		saved[k] = process.env[k];
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
	const broker = new ServiceBroker({
		...config,
		nodeID: opts.nodeID ?? `test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
		transporter: null,
		logger: process.env.TEST_LOG ? { type: "Console", options: { level: process.env.TEST_LOG } } : false,
		metrics: { enabled: true, reporter: [] },
		tracing: { enabled: false },
		cacher: "Memory",
		middlewares: createMiddlewares(),
		...(opts.brokerOptions ?? {}),
	});
	const names = opts.services ?? allServiceNames();
	for (const name of names.filter((n) => n !== "api")) {
		const mod = await import(serviceFile(name));
		broker.createService(mod.default);
	}
	const api = (await import(serviceFile("api"))).default as ServiceSchema;
	broker.createService({ mixins: [api], name: "api", settings: { port: 0, ip: "127.0.0.1" } } as ServiceSchema);
	for (const schema of opts.extra ?? []) broker.createService(schema as ServiceSchema);
	opts.onCreated?.(broker);
	await broker.start();
	const svc = broker.getLocalService("api") as unknown as { server: import("node:http").Server };
	const addr = svc.server.address();
	const port = typeof addr === "object" && addr ? addr.port : 0;
	return {
		broker,
		port,
		url: `http://127.0.0.1:${port}`,
		async stop() {
			await broker.stop();
			for (const [k, v] of Object.entries(saved)) {
				if (v === undefined) delete process.env[k];
				else process.env[k] = v;
			}
		},
	};
}

export interface HttpResult<T = any> {
	status: number;
	body: T;
	headers: Headers;
}

/** A tiny JSON client: api(base)("POST", "/api/auth/login", body, {token}). */
export function client(base: string) {
	return async function request<T = any>(
		method: string,
		p: string,
		body?: unknown,
		opts: { token?: string; headers?: Record<string, string>; raw?: string } = {},
	): Promise<HttpResult<T>> {
		const headers: Record<string, string> = { ...(opts.headers ?? {}) };
		if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
		let payload: string | undefined;
		if (opts.raw !== undefined) payload = opts.raw;
		else if (body !== undefined) {
			payload = JSON.stringify(body);
			headers["Content-Type"] ??= "application/json";
		}
		const res = await fetch(base + p, { method, headers, body: payload });
		const text = await res.text();
		let parsed: any = text;
		try {
			parsed = text ? JSON.parse(text) : null;
		} catch {
			/* not JSON */
		}
		return { status: res.status, body: parsed, headers: res.headers };
	};
}

let userSeq = 0;

/** Registers a fresh user and returns its tokens. */
export async function registerUser(base: string, prefix = "user") {
	const n = `${prefix}${process.pid % 1000}_${++userSeq}_${Math.random().toString(36).slice(2, 6)}`.slice(0, 25).toLowerCase();
	const res = await client(base)("POST", "/api/auth/register", {
		username: n,
		email: `${n}@example.test`,
		password: "correct horse battery",
		displayName: n,
	});
	if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
	return {
		username: n,
		id: res.body.user.id as string,
		token: res.body.accessToken as string,
		refreshToken: res.body.refreshToken as string,
		user: res.body.user,
	};
}

/** Connects a Socket.IO client and resolves once connected (rejects on connect_error). */
export function connectSocket(
	base: string,
	namespace = "/",
	auth?: Record<string, unknown>,
	setup?: (socket: Socket) => void,
	opts: { headers?: Record<string, string> } = {},
): Promise<Socket> {
	return new Promise((resolve, reject) => {
		const socket = ioClient(base + namespace, { auth, transports: ["websocket"], reconnection: false, forceNew: true, extraHeaders: opts.headers });
		// Listeners attached before connecting: the server may push right after the handshake.
		setup?.(socket);
		const timer = setTimeout(() => {
			socket.close();
			reject(new Error("socket connect timeout"));
		}, 5000);
		socket.once("connect", () => {
			clearTimeout(timer);
			resolve(socket);
		});
		socket.once("connect_error", (err) => {
			clearTimeout(timer);
			socket.close();
			reject(err);
		});
	});
}

/** Waits for the next `event` on a socket, with a timeout. */
export function nextEvent<T = any>(socket: Socket, event: string, timeoutMs = 5000): Promise<T> {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			socket.off(event, on);
			reject(new Error(`timed out waiting for "${event}"`));
		}, timeoutMs);
		const on = (data: T) => {
			clearTimeout(timer);
			resolve(data);
		};
		socket.once(event, on);
	});
}

/** Emits with an ack and resolves with the ack payload. */
export function emitAck<T = any>(socket: Socket, event: string, payload?: unknown, timeoutMs = 5000): Promise<T> {
	return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
}

/** Collects every `event` a socket receives (for "exactly once" assertions). */
export function collect<T = any>(socket: Socket, event: string): T[] {
	const seen: T[] = [];
	socket.on(event, (d: T) => seen.push(d));
	return seen;
}

/** Polls `check` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 5000, label = "condition"): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	let last: unknown;
	while (Date.now() < deadline) {
		try {
			const v = await check();
			if (v) return v;
		} catch (err) {
			last = err;
		}
		await new Promise((r) => setTimeout(r, 25));
	}
	throw new Error(`timed out waiting for ${label}${last ? `: ${(last as Error).message}` : ""}`);
}
