import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket as NetSocket } from "node:net";
import { createHash, timingSafeEqual } from "node:crypto";
import type { ActionSchema, Context, ServiceBroker } from "moleculer";
import { Errors } from "moleculer";
import { windowStart } from "../../lib/tools/rate-limit";
import type { Counters } from "../../lib/db/counters";
import { readyReport } from "../../lib/ops/health";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * The gateway's HTTP plumbing around moleculer-web (services/gateway/api.service.ts): the client's
 * address, the contract's error shape for every failure (including those Node's parser and
 * body-parser raise before any route runs), the body time limit, and the answers of a node that
 * is starting or draining.
 */

/** What moleculer-web hangs on the request while routing it. */
export type Req = IncomingMessage & { $action?: ActionSchema; $ctx?: Context<unknown, GatewayMeta>; body?: unknown; $params?: Record<string, unknown> };
export type Res = ServerResponse;
export type Ctx<P = unknown> = Context<P, GatewayMeta & { webhook?: { headers: Record<string, string | string[] | undefined> } }>;

/** The rate-limit windows: per client IP (moleculer-web's limiter) and per signed-in user. */
export const LIMIT_WINDOW_MS = 60_000;

/** moleculer-web rate-limit store backed by the gateway's shared counters (memory or Redis). */
export class GatewayRateStore {
	constructor(
		private readonly windowMs: number,
		_opts: unknown,
		private readonly broker: ServiceBroker,
	) {}
	get resetTime() {
		return windowStart(Date.now(), this.windowMs) + this.windowMs;
	}
	inc(key: string) {
		const api = this.broker.getLocalService("api") as unknown as { counters: Counters };
		return api.counters.store.hit(`ip:${key}`, this.windowMs);
	}
}

/**
 * Behind the compose load balancer the first X-Forwarded-For hop is the client; TRUST_PROXY must
 * be set for that header to count, or anyone could spoof their way past rate limits. Read once,
 * when the gateway service is created (lib/config/gateway.ts), not per request.
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
	if (trustProxy) {
		const fwd = req.headers["x-forwarded-for"];
		const first = (Array.isArray(fwd) ? fwd[0] : fwd)?.split(",")[0]?.trim();
		if (first) return first;
	}
	return req.socket.remoteAddress || "unknown";
}

/** The fields of the errors the gateway answers (Moleculer's, body-parser's, zlib's). */
export interface AnyError {
	name?: string;
	message?: string;
	type?: unknown;
	code?: unknown;
	status?: unknown;
	data?: unknown;
}

/**
 * The multipart parser's own errors (moleculer-web's upload aliases, @fastify/busboy's Dicer): a
 * body that is not the form its Content-Type announces. Plain errors with these messages, never
 * a MoleculerError (those carry a code).
 */
function malformedForm(err: AnyError | null | undefined): boolean {
	if (!err || typeof err.code === "number" || typeof err.message !== "string") return false;
	return /unexpected end of multipart data$/i.test(err.message) || err.message === "Multipart: Boundary not found";
}

/** Normalizes any error into the contract's JSON shape; never leaks server internals. */
export function toClientError(err: AnyError | null | undefined): { code: number; body: Record<string, unknown> } {
	if (err && typeof err.type === "string" && err.type.startsWith("entity.")) {
		// body-parser errors
		if (err.type === "entity.too.large")
			return { code: 413, body: { name: "PayloadTooLarge", message: "Request body is too large", code: 413, type: "PAYLOAD_TOO_LARGE" } };
		if (err.type === "entity.parse.failed")
			return { code: 400, body: { name: "BadRequest", message: "Malformed JSON body", code: 400, type: "INVALID_JSON" } };
		return { code: 400, body: { name: "BadRequest", message: err.message || "Bad request body", code: 400, type: "INVALID_BODY" } };
	}
	if (malformedForm(err)) {
		return { code: 400, body: { name: "BadRequest", message: "The multipart form is malformed or cut short", code: 400, type: "INVALID_FORM" } };
	}
	const name = err?.name;
	if (
		name === "QueueIsFullError" ||
		name === "RequestTimeoutError" ||
		name === "BrokerDisconnectedError" ||
		name === "ServiceNotAvailableError" ||
		// Every node of a service the route needs is down (or just starting again): an outage to retry, not a 404.
		name === "ServiceNotFoundError" ||
		name === "ServiceUnavailableError" ||
		err?.type === "CIRCUIT_OPEN"
	) {
		return { code: 503, body: { name: "ServiceUnavailableError", message: "Service unavailable, retry shortly", code: 503, type: "SERVICE_UNAVAILABLE" } };
	}
	let code: number = typeof err?.code === "number" ? err.code : typeof err?.status === "number" ? err.status : 500;
	if (code < 400 || code > 599) code = 500;
	if (code >= 500 && code !== 503) {
		return { code, body: { name: "ServerError", message: "Something went wrong on our side", code, type: "SERVER_ERROR" } };
	}
	return {
		code,
		body: { name: err?.name || "Error", message: err?.message || "Error", code, type: err?.type || DEFAULT_TYPES[code] || "CLIENT_ERROR", data: err?.data },
	};
}

/**
 * A body that says it is compressed and is not: zlib's error reaches us with its own code
 * (Z_DATA_ERROR, ERR_BROTLI_…, moleculer-web keeps that instead of body-parser's 400), an
 * unknown Content-Encoding as body-parser's `encoding.unsupported`.
 */
export function bodyEncodingError(req: IncomingMessage, err: AnyError | null | undefined): Errors.MoleculerClientError | null {
	if (err?.type === "encoding.unsupported")
		return new Errors.MoleculerClientError("Content-Encoding must be gzip, deflate or br (or none)", 415, "UNSUPPORTED_ENCODING");
	if (err?.type === "charset.unsupported") return new Errors.MoleculerClientError(err.message || "Unsupported charset", 415, "UNSUPPORTED_CHARSET");
	const encoding = req.headers["content-encoding"];
	if (encoding && encoding !== "identity" && typeof err?.code === "string") {
		return new Errors.MoleculerClientError(`The body is not valid ${encoding} data`, 400, "INVALID_BODY_ENCODING");
	}
	return null;
}

/**
 * Requests Node's HTTP parser refuses before any route runs (headers over the size limit, a
 * malformed request line) still get the contract's JSON error instead of an empty body.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: NetSocket) {
	if (err.code === "ECONNRESET" || !socket.writable) return socket.destroy();
	const code = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
	const type = code === 431 ? "HEADERS_TOO_LARGE" : code === 408 ? "REQUEST_TIMEOUT" : "BAD_REQUEST";
	const message = code === 431 ? "Request headers or URL are too large" : code === 408 ? "Request took too long to arrive" : "Malformed HTTP request";
	const body = JSON.stringify({ name: STATUS_CODES[code]?.replace(/\s+/g, "") ?? "BadRequest", message, code, type });
	socket.end(
		`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
	);
}

/** A stable `type` for errors raised without one (moleculer-web's own rate-limit and routing errors). */
const DEFAULT_TYPES: Record<number, string> = {
	400: "BAD_REQUEST",
	401: "UNAUTHORIZED",
	403: "FORBIDDEN",
	404: "NOT_FOUND",
	405: "METHOD_NOT_ALLOWED",
	409: "CONFLICT",
	413: "PAYLOAD_TOO_LARGE",
	415: "UNSUPPORTED_MEDIA_TYPE",
	422: "VALIDATION_ERROR",
	429: "RATE_LIMITED",
	503: "SERVICE_UNAVAILABLE",
};

/**
 * The whole body must arrive within `ms` (BODY_TIMEOUT_MS): a client trickling one byte every
 * few seconds would otherwise hold a connection and a parser for minutes. After it: 408 in the
 * contract's shape, and the connection is closed (the rest of the body is not wanted).
 */
export function capBodyTime(req: IncomingMessage, res: ServerResponse, ms: number) {
	const length = req.headers["content-length"];
	if ((!length || length === "0") && !req.headers["transfer-encoding"]) return;
	const timer = setTimeout(() => {
		if (req.complete || res.writableEnded) return;
		if (res.headersSent) return void req.socket.destroy();
		const body = JSON.stringify({ name: "RequestTimeout", message: `The request body did not arrive within ${ms} ms`, code: 408, type: "REQUEST_TIMEOUT" });
		res.writeHead(408, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), Connection: "close" });
		res.end(body, () => req.socket.destroy());
	}, ms);
	timer.unref();
	const done = () => clearTimeout(timer);
	req.once("end", done);
	req.once("close", done);
	res.once("close", done);
}

/** Constant-time comparison of a presented token with the configured one. */
export function sameSecret(presented: string | null | undefined, expected: string): boolean {
	if (!presented) return false;
	const digest = (v: string) => createHash("sha256").update(v).digest();
	return timingSafeEqual(digest(presented), digest(expected));
}

/** Where this gateway node is in its life. Only "ready" routes requests (API.md, Operations). */
export type GatewayPhase = "starting" | "ready" | "stopping";

/** A node that is not serving answers every request itself: /health and /health/ready with their report, the rest 503. */
export function answerNotServing(req: IncomingMessage, res: ServerResponse, phase: Exclude<GatewayPhase, "ready">, nodeID: string) {
	const path = (req.url ?? "/").split("?")[0].replace(/\/+$/, "") || "/";
	let body: unknown;
	if (path === "/health") body = { status: phase, nodeID };
	else if (path === "/health/ready") body = readyReport(nodeID, [{ name: "broker", ok: false, detail: phase }]);
	else if (phase === "starting") body = { name: "ServiceUnavailableError", message: "The server is starting, retry shortly", code: 503, type: "STARTING" };
	else body = { name: "ServiceUnavailableError", message: "The server is shutting down, retry shortly", code: 503, type: "SHUTTING_DOWN" };
	res.setHeader("Retry-After", "1");
	res.setHeader("Content-Type", "application/json; charset=utf-8");
	res.setHeader("Cache-Control", "no-store");
	// A draining node wants its keep-alive clients to reconnect elsewhere.
	if (phase === "stopping") res.setHeader("Connection", "close");
	res.writeHead(503);
	res.end(JSON.stringify(body));
}
