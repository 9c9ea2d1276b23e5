import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Server } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import type { Socket } from "socket.io-client";
import { connectSocket, emitAck, serviceFile, startHarness, waitFor, type Harness } from "../support/harness";
import { setupStreamer } from "../support/flow";

/**
 * Sockets that connect while the node is still starting (an overlay reconnecting after a deploy,
 * a viewer's page loaded early) are held until the node can serve, not refused: socket.io-client
 * does not retry a refused handshake.
 */

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-startup-sockets-"));
const ENV = { SCRYPT_COST: "1024", DB_ADAPTER: "nedb", DATA_DIR: dataDir };
let h: Harness | undefined;
afterAll(async () => {
	await h?.stop();
	fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("sockets during start-up", () => {
	it("holds /overlay and / handshakes until the node is ready, then connects them and serves their events", async () => {
		// A streamer with an overlay token, stored in NeDB files, then a fresh start on the same data.
		h = await startHarness({ services: ["users", "chat", "ops"], env: ENV });
		const streamer = await setupStreamer(h.url);
		await h.stop();
		h = undefined;

		let open!: () => void;
		const gate = new Promise<void>((resolve) => (open = resolve));
		const users = (await import(serviceFile("users"))).default as ServiceSchema;
		let broker!: ServiceBroker;
		const starting = startHarness({
			services: ["chat", "ops"],
			env: ENV,
			// The users service (which checks overlay tokens) finishes starting only when the gate opens.
			extra: [{ mixins: [users], name: "users", started: () => gate }],
			onCreated: (b) => (broker = b),
		});
		const base = await waitFor(
			() => {
				const server = (broker?.getLocalService("api") as unknown as { server?: Server } | undefined)?.server;
				const addr = server?.listening ? server.address() : null;
				return typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : null;
			},
			10_000,
			"gateway listening",
		);

		let connected = 0;
		const count = (s: Socket) => {
			connected++;
			return s;
		};
		const overlay = connectSocket(base!, "/overlay", { token: streamer.overlayToken }).then(count);
		const viewer = connectSocket(base!, "/", { token: streamer.token }).then(count);
		// Both handshakes have reached the server and are held (not refused) while the node starts.
		const hub = () => (broker.getLocalService("api") as unknown as { hub: { holding: number } }).hub;
		await waitFor(() => hub().holding === 2, 5_000, "two handshakes held");
		expect(connected).toBe(0);
		expect((await fetch(`${base}/health`)).status).toBe(503);

		open();
		h = await starting;
		const [o, v] = await Promise.all([overlay, viewer]);
		expect(o.connected).toBe(true);
		expect(v.connected).toBe(true);
		// The held socket's events route to their actions (the event table was built when the node got ready).
		const joined = await emitAck(v, "chat:join", { channel: streamer.username });
		expect(joined.ok, JSON.stringify(joined)).toBe(true);
		expect(hub().holding).toBe(0);
		o.close();
		v.close();
	});

	it("answers a handshake held longer than the wait with a STARTING connect error", async () => {
		let open!: () => void;
		const gate = new Promise<void>((resolve) => (open = resolve));
		let broker!: ServiceBroker;
		const starting = startHarness({
			services: ["ops"],
			env: { SCRYPT_COST: "1024" },
			extra: [{ name: "slowpoke", started: () => gate }],
			onCreated: (b) => {
				broker = b;
				// A short wait for this test; the default is 5 s.
				(b.getLocalService("api") as unknown as { settings: Record<string, unknown> }).settings.socketReadyWaitMs = 300;
			},
		});
		const base = await waitFor(
			() => {
				const server = (broker?.getLocalService("api") as unknown as { server?: Server } | undefined)?.server;
				const addr = server?.listening ? server.address() : null;
				return typeof addr === "object" && addr ? `http://127.0.0.1:${addr.port}` : null;
			},
			10_000,
			"gateway listening",
		);
		const err = await connectSocket(base!, "/").then(
			() => null,
			(e: Error & { data?: { type?: string } }) => e,
		);
		expect(err?.data?.type).toBe("STARTING");
		open();
		await (await starting).stop();
	});
});
