/**
 * Socket fan-out across gateway nodes, two ways, on 127.0.0.1 with a real nats-server and
 * redis-server (started on free ports, killed at the end):
 *
 *  - broadcast: the producer broadcasts a Moleculer event over NATS; every gateway node emits to
 *    its own sockets in the room (what services/gateway/socket-hub.ts does);
 *  - redis: the producer sends a balanced event to one gateway, which emits through the
 *    Socket.IO Redis adapter; the adapter relays it to the other gateway through Redis pub/sub.
 *
 * Each run: 2 gateways, CLIENTS sockets split between them in one room, MESSAGES emits at
 * RATE per second; it reports delivery latency (p50/p95/p99/max), lost messages and wall time.
 * Bounded: a run ends when every message arrived or after 30 s.
 *
 *   npx tsx bench/socket-fanout.ts            (CLIENTS=200 MESSAGES=400 RATE=200 ROUNDS=2)
 */
import http from "node:http";
import { ServiceBroker, type BrokerOptions, type Context } from "moleculer";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-adapter";
import Redis from "ioredis";
import { io as ioClient, type Socket } from "socket.io-client";
import { Cluster } from "../test/support/cluster";
import { writeResult } from "./lib";

const CLIENTS = Number(process.env.CLIENTS || 200);
const MESSAGES = Number(process.env.MESSAGES || 400);
const RATE = Number(process.env.RATE || 200);
const ROUNDS = Number(process.env.ROUNDS || 2);

type Mode = "broadcast" | "redis";

interface Gateway {
	broker: ServiceBroker;
	io: Server;
	server: http.Server;
	port: number;
	redis: Redis[];
}

async function startGateway(mode: Mode, id: string, natsUrl: string, redisUrl: string, namespace: string): Promise<Gateway> {
	const server = http.createServer();
	const io = new Server(server, { serveClient: false });
	const redis: Redis[] = [];
	if (mode === "redis") {
		const pub = new Redis(redisUrl);
		const sub = pub.duplicate();
		redis.push(pub, sub);
		io.adapter(createAdapter(pub, sub));
	}
	io.on("connection", (socket) => socket.join("chat:bench"));
	await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
	const port = (server.address() as { port: number }).port;
	const broker = new ServiceBroker({
		namespace,
		nodeID: `${mode}-${id}`,
		transporter: natsUrl as BrokerOptions["transporter"],
		logger: false,
		serializer: "JSON",
	});
	broker.createService({
		name: `gw`,
		events: {
			// broadcast mode: every node gets it and emits locally.
			"bench.broadcast"(ctx: Context<{ rooms: string[]; event: string; data: unknown }>) {
				io.local.to(ctx.params.rooms).emit(ctx.params.event, ctx.params.data);
			},
			// redis mode: one node gets it; the adapter reaches the other node's sockets.
			"bench.one"(ctx: Context<{ rooms: string[]; event: string; data: unknown }>) {
				io.to(ctx.params.rooms).emit(ctx.params.event, ctx.params.data);
			},
		},
	});
	await broker.start();
	return { broker, io, server, port, redis };
}

function percentile(sorted: number[], p: number) {
	if (sorted.length === 0) return NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(mode: Mode, cluster: Cluster) {
	const namespace = `fanout-${mode}-${Date.now()}`;
	const gws = [
		await startGateway(mode, "a", cluster.natsUrl, cluster.redisUrl, namespace),
		await startGateway(mode, "b", cluster.natsUrl, cluster.redisUrl, namespace),
	];
	const producer = new ServiceBroker({
		namespace,
		nodeID: `${mode}-producer`,
		transporter: cluster.natsUrl as BrokerOptions["transporter"],
		logger: false,
		serializer: "JSON",
	});
	await producer.start();
	await producer.waitForServices(["gw"], 10_000);
	await new Promise((r) => setTimeout(r, 500)); // both gateways registered

	const latencies: number[] = [];
	const received = new Map<number, number>();
	const clients: Socket[] = [];
	for (let i = 0; i < CLIENTS; i++) {
		const gw = gws[i % 2];
		const c = ioClient(`http://127.0.0.1:${gw.port}`, { transports: ["websocket"], forceNew: true, reconnection: false });
		c.on("m", (d: { seq: number; t: number }) => {
			latencies.push(Date.now() - d.t);
			received.set(d.seq, (received.get(d.seq) ?? 0) + 1);
		});
		clients.push(c);
	}
	await Promise.all(clients.map((c) => new Promise<void>((r) => (c.connected ? r() : c.once("connect", () => r())))));
	await new Promise((r) => setTimeout(r, 200));

	const started = Date.now();
	const interval = 1000 / RATE;
	for (let seq = 0; seq < MESSAGES; seq++) {
		const packet = { rooms: ["chat:bench"], event: "m", data: { seq, t: Date.now() } };
		if (mode === "broadcast") producer.broadcast("bench.broadcast", packet);
		else producer.emit("bench.one", packet);
		const due = started + (seq + 1) * interval;
		const wait = due - Date.now();
		if (wait > 0) await new Promise((r) => setTimeout(r, wait));
	}
	const expected = MESSAGES * CLIENTS;
	const deadline = Date.now() + 30_000;
	while (latencies.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
	const wall = Date.now() - started;
	const sorted = [...latencies].sort((a, b) => a - b);
	const dupes = [...received.values()].filter((n) => n > CLIENTS).length;

	for (const c of clients) c.close();
	await producer.stop();
	for (const g of gws) {
		await g.broker.stop();
		await new Promise<void>((r) => g.io.close(() => r()));
		for (const r of g.redis) r.disconnect();
	}
	return {
		mode,
		clients: CLIENTS,
		messages: MESSAGES,
		rate: RATE,
		deliveries: latencies.length,
		expected,
		lost: expected - latencies.length,
		dupes,
		wallMs: wall,
		p50: percentile(sorted, 50),
		p95: percentile(sorted, 95),
		p99: percentile(sorted, 99),
		max: sorted[sorted.length - 1],
	};
}

async function main() {
	const cluster = new Cluster({ redis: true });
	try {
		await cluster.startInfra();
		const results = [];
		for (let round = 0; round < ROUNDS; round++) {
			// Alternate which mode goes first, so neither always runs on a warmer machine.
			for (const mode of (round % 2 ? ["redis", "broadcast"] : ["broadcast", "redis"]) as Mode[]) {
				const r = await run(mode, cluster);
				results.push({ round, ...r });
				console.log(JSON.stringify({ round, ...r }));
			}
		}
		writeResult(`socket-fanout-${CLIENTS}x${MESSAGES}at${RATE}`, {
			command: `CLIENTS=${CLIENTS} MESSAGES=${MESSAGES} RATE=${RATE} ROUNDS=${ROUNDS} npx tsx bench/socket-fanout.ts`,
			results,
		});
	} finally {
		await cluster.stop();
	}
}

main().then(
	() => process.exit(0),
	(err) => {
		console.error(err);
		process.exit(1);
	},
);
