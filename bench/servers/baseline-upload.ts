import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import { serveChild } from "../lib";

/**
 * The upload baseline: a bare node:http server that streams each request body into a file while
 * hashing it, then removes it and answers 201 — the least any streaming upload does (no multipart
 * parsing, no type detection, no broker). Its memory growth is Node's own for that much I/O.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-bench-upload-"));
let seq = 0;
const server = http.createServer((req, res) => {
	const file = path.join(dir, `${++seq}.part`);
	const hash = createHash("sha256");
	const tap = new Transform({
		transform(chunk, _enc, done) {
			hash.update(chunk);
			done(null, chunk);
		},
	});
	pipeline(req, tap, fs.createWriteStream(file))
		.then(() => {
			fs.rmSync(file, { force: true });
			const body = JSON.stringify({ hash: hash.digest("hex") });
			res.writeHead(201, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
			res.end(body);
		})
		.catch(() => res.destroy());
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
	const addr = server.address() as { port: number };
	serveChild({ port: addr.port, url: `http://127.0.0.1:${addr.port}` }, {});
});
const stop = () => {
	fs.rmSync(dir, { recursive: true, force: true });
	process.exit(0);
};
process.once("disconnect", stop);
process.once("SIGTERM", stop);
