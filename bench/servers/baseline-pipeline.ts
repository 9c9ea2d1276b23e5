import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { Server } from "socket.io";
import { serveChild } from "../lib";

/**
 * The donation pipeline baseline: a bare node:http + Socket.IO server with the same three steps
 * and nothing else (no persistence, no services, no queue): POST /api/donations answers ids,
 * POST /api/payments/webhooks/sandbox checks the same HMAC signature and emits `alert` to the
 * recipient's overlay room, and the overlay acknowledges with `alert:done`.
 */

const SECRET = process.env.SANDBOX_WEBHOOK_SECRET || "dev-only-sandbox-webhook-secret";
const payments = new Map<string, { to: string; donationId: string; amount: number; donorName: string; message: string; paid: boolean }>();

function readBody(req: http.IncomingMessage): Promise<string> {
	return new Promise((resolve) => {
		let s = "";
		req.setEncoding("utf8");
		req.on("data", (c) => (s += c));
		req.on("end", () => resolve(s));
	});
}

const server = http.createServer(async (req, res) => {
	const raw = await readBody(req);
	const send = (code: number, body: unknown) => {
		const s = JSON.stringify(body);
		res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(s) });
		res.end(s);
	};
	if (req.method === "POST" && req.url === "/api/donations") {
		const b = JSON.parse(raw);
		const donationId = randomUUID();
		const paymentId = randomUUID();
		payments.set(paymentId, { to: b.to, donationId, amount: b.amount, donorName: b.donorName, message: b.message, paid: false });
		return send(201, { donation: { id: donationId, status: "pending" }, payment: { id: paymentId, provider: "sandbox", status: "pending" } });
	}
	if (req.method === "POST" && req.url === "/api/payments/webhooks/sandbox") {
		const header = String(req.headers["x-sandbox-signature"] || "");
		const t = /t=(\d+)/.exec(header)?.[1];
		const v1 = /v1=([0-9a-f]+)/.exec(header)?.[1];
		const expected = createHmac("sha256", SECRET).update(`${t}.${raw}`).digest();
		if (!t || !v1 || v1.length !== 64 || !timingSafeEqual(Buffer.from(v1, "hex"), expected)) return send(400, { type: "INVALID_SIGNATURE" });
		const ev = JSON.parse(raw);
		const p = payments.get(ev.payment_id);
		if (p && !p.paid && ev.status === "settlement") {
			p.paid = true;
			io.of("/overlay").to(`overlay:${p.to}`).emit("alert", {
				id: randomUUID(),
				donationId: p.donationId,
				type: "donation",
				donorName: p.donorName,
				amount: p.amount,
				message: p.message,
				createdAt: new Date().toISOString(),
			});
		}
		return send(200, { received: true });
	}
	send(404, { type: "NOT_FOUND" });
});

const io = new Server(server, { serveClient: false });
io.of("/overlay").on("connection", (socket) => {
	socket.join(`overlay:${socket.handshake.auth?.token}`);
	socket.on("alert:done", () => undefined);
});

server.listen(0, "127.0.0.1", () => {
	const port = (server.address() as { port: number }).port;
	serveChild({ port, url: `http://127.0.0.1:${port}` }, {});
});
process.once("disconnect", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
