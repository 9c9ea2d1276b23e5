import http from "node:http";
import { serveChild } from "../lib";

/** The REST baseline: a bare node:http server answering one fixed JSON document. */

const body = process.env.BASELINE_BODY || "{}";
const server = http.createServer((req, res) => {
	res.writeHead(200, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
	res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
	const addr = server.address() as { port: number };
	serveChild({ port: addr.port, url: `http://127.0.0.1:${addr.port}` }, {});
});
process.once("disconnect", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
