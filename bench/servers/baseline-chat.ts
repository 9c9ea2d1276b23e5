import http from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "socket.io";
import { serveChild, settledHeap } from "../lib";

/**
 * The chat fan-out baseline: a bare Socket.IO server. `chat:join` puts the socket in the room,
 * `chat:send` broadcasts the same message shape MediaShar sends (`chat:message`) to the room and
 * acknowledges. No auth, storage, moderation or rate limits.
 */

const server = http.createServer((_req, res) => res.writeHead(404).end());
const io = new Server(server, { serveClient: false, pingInterval: 20_000, pingTimeout: 20_000 });
io.of("/").on("connection", (socket) => {
	socket.on("chat:join", (p: { channel: string }, ack?: (r: unknown) => void) => {
		socket.join(`chat:${p.channel}`);
		ack?.({ ok: true, channel: p.channel, history: [], viewers: 1 });
	});
	socket.on("chat:send", (p: { channel: string; text: string }, ack?: (r: unknown) => void) => {
		const message = {
			id: randomUUID(),
			channel: p.channel,
			user: { id: "u1", username: p.channel, displayName: p.channel },
			text: p.text,
			createdAt: new Date().toISOString(),
		};
		io.to(`chat:${p.channel}`).emit("chat:message", message);
		ack?.({ ok: true, message });
	});
});
server.listen(0, "127.0.0.1", () => {
	const port = (server.address() as { port: number }).port;
	serveChild({ port, url: `http://127.0.0.1:${port}` }, { heap: () => ({ heapUsed: settledHeap(), sockets: io.engine.clientsCount }) });
});
process.once("disconnect", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
