import http from "node:http";
import net from "node:net";
import os from "node:os";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startHarness, type Harness } from "../support/harness";

/**
 * What the gateway does at its edge, seen from a client: request bodies that lie about their
 * encoding or take too long to arrive, the Prometheus endpoint's token and what it shows, routes
 * moleculer-web would publish by itself, and the headers every JSON answer carries.
 */

const METRICS_TOKEN = "scrape-me-please";
const BODY_TIMEOUT_MS = 1500;

/** A POST with exactly these bytes and headers (fetch would refuse to send a mislabelled body). */
function post(port: number, path: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; json: any }> {
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ host: "127.0.0.1", port, path, method: "POST", headers: { "Content-Type": "application/json", "Content-Length": body.length, ...headers } },
			(res) => {
				let text = "";
				res.setEncoding("utf8");
				res.on("data", (c) => (text += c));
				res.on("end", () => {
					let json: any = null;
					try {
						json = JSON.parse(text);
					} catch {
						/* not JSON */
					}
					resolve({ status: res.statusCode ?? 0, json });
				});
			},
		);
		req.once("error", reject);
		req.end(body);
	});
}

describe("gateway edge", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;

	beforeAll(async () => {
		h = await startHarness({ services: ["users", "ops"], env: { SCRYPT_COST: "1024", METRICS_TOKEN, BODY_TIMEOUT_MS: String(BODY_TIMEOUT_MS) } });
		api = client(h.url);
	});
	afterAll(async () => {
		await h?.stop();
	});

	it("answers 400 for a body that claims gzip, deflate or br but is not compressed, 415 for an unknown encoding", async () => {
		const plain = Buffer.from(JSON.stringify({ login: "someone", password: "whatever123" }));
		for (const enc of ["gzip", "deflate", "br"]) {
			const res = await post(h.port, "/api/auth/login", plain, { "Content-Encoding": enc });
			expect(res.status, enc).toBe(400);
			expect(res.json, enc).toMatchObject({ code: 400, type: "INVALID_BODY_ENCODING" });
		}
		const odd = await post(h.port, "/api/auth/login", plain, { "Content-Encoding": "x-rot13" });
		expect(odd.status).toBe(415);
		expect(odd.json).toMatchObject({ code: 415, type: "UNSUPPORTED_ENCODING" });
		// A body that really is compressed still works (a wrong password, not an encoding error).
		const real = await post(h.port, "/api/auth/login", zlib.gzipSync(plain), { "Content-Encoding": "gzip" });
		expect(real.status).toBe(401);
	});

	it("cuts off a body that trickles in after BODY_TIMEOUT_MS with 408 in the contract's shape", async () => {
		const started = Date.now();
		const answer = await new Promise<string>((resolve, reject) => {
			const s = net.connect({ port: h.port, host: "127.0.0.1" }, () => {
				s.write("POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{");
			});
			let out = "";
			// One byte every 400 ms: each byte is well inside any idle timeout, the whole body is not.
			const drip = setInterval(() => s.writable && s.write(" "), 400);
			s.on("data", (c) => (out += c.toString()));
			s.once("close", () => {
				clearInterval(drip);
				resolve(out);
			});
			s.once("error", (err) => {
				clearInterval(drip);
				if (out) resolve(out);
				else reject(err);
			});
			setTimeout(() => s.destroy(), 15_000).unref();
		});
		const elapsed = Date.now() - started;
		expect(answer).toMatch(/^HTTP\/1\.1 408/);
		const body = JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4));
		expect(body).toMatchObject({ code: 408, type: "REQUEST_TIMEOUT", name: expect.any(String), message: expect.any(String) });
		expect(elapsed).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 100);
		expect(elapsed).toBeLessThan(BODY_TIMEOUT_MS + 3000);
	});

	it("/metrics needs the bearer token and shows no host details", async () => {
		expect((await api("GET", "/metrics")).status).toBe(401);
		expect((await api("GET", "/metrics", undefined, { headers: { Authorization: "Bearer wrong" } })).status).toBe(401);
		const res = await fetch(`${h.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
		expect(res.status).toBe(200);
		const text = await res.text();
		expect(text).toContain("moleculer_request_total");
		for (const name of ["os_hostname", "os_user_username", "os_user_homedir", "os_user_uid", "os_network_address", "os_network_mac", "process_arguments"]) {
			expect(text, name).not.toContain(name);
		}
		expect(text).not.toContain(`"${os.hostname()}"`);
		expect(text).not.toContain(os.userInfo().homedir);
		for (const list of Object.values(os.networkInterfaces())) {
			for (const nic of list ?? []) {
				if (!nic.internal) expect(text, nic.address).not.toContain(`"${nic.address}"`);
				if (nic.mac !== "00:00:00:00:00:00") expect(text, nic.mac).not.toContain(nic.mac);
			}
		}
		expect(text).not.toContain(process.argv[1]);
	});

	it("has no /api/api/list-aliases route, and the OpenAPI document does not list it", async () => {
		const res = await api("GET", "/api/api/list-aliases?withActionSchema=true");
		expect(res.status).toBe(404);
		const doc = await api("GET", "/api/openapi.json");
		expect(doc.status).toBe(200);
		expect(Object.keys(doc.body.paths).filter((p) => p.includes("list-aliases"))).toEqual([]);
	});

	it("sends X-Content-Type-Options: nosniff with JSON answers, errors included", async () => {
		for (const [method, p] of [
			["GET", "/health"],
			["GET", "/api/openapi.json"],
			["GET", "/api/users/nobody_at_all"],
			["POST", "/api/auth/login"],
		] as const) {
			const res = await api(method, p, method === "POST" ? {} : undefined);
			expect(res.headers.get("content-type"), p).toMatch(/application\/json/);
			expect(res.headers.get("x-content-type-options"), p).toBe("nosniff");
		}
	});
});
