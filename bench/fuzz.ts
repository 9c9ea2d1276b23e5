import { createHmac } from "node:crypto";
import fc from "fast-check";
import { io as ioClient, type Socket } from "socket.io-client";
import { registerUser, startHarness, type Harness } from "../test/support/harness";
import { donate, setupStreamer } from "../test/support/flow";
import { round, writeResult } from "./lib";

/**
 * `npm run fuzz`: hostile input against a running MediaShar (every service, in this process,
 * gateway on port 0). REST requests are generated from the OpenAPI document (wrong types,
 * missing and extra fields, huge strings and numbers, unicode, prototype-pollution keys, bad JSON,
 * bad content types, hostile path and query values); Socket.IO events get hostile payloads on
 * every socket event the gateway routes, plus unknown ones. It ends with 0 responses ≥ 500, 0
 * crashes and every error in the contract's shape, or exits non-zero with the offending samples.
 * FUZZ_QUICK=1: a bounded run for CI (under 2 minutes). FUZZ_SEED fixes the generator.
 */

const QUICK = process.env.FUZZ_QUICK === "1" || process.env.FUZZ_QUICK === "true";
const REST_TOTAL = Number(process.env.FUZZ_REST || (QUICK ? 3_000 : 12_000));
const SOCKET_TOTAL = Number(process.env.FUZZ_SOCKET || (QUICK ? 800 : 3_000));
const SEED = Number(process.env.FUZZ_SEED || 20261122);
const CONCURRENCY = 12;

const crashes: string[] = [];
process.on("uncaughtException", (err) => crashes.push(`uncaughtException: ${err.stack}`));
process.on("unhandledRejection", (err) => crashes.push(`unhandledRejection: ${(err as Error)?.stack ?? String(err)}`));

// ---------- hostile values ----------

const HOSTILE_STRINGS = [
	"",
	" ",
	"a".repeat(10_000),
	"ä".repeat(3_000),
	"💸🎉".repeat(500),
	"\u0000",
	"nul\u0000byte",
	"\uD800",
	"\u202Eevil",
	"\u200B\u200D\u2060\u00AD",
	"\u3164",
	"sc\u0430m \uFF53\uFF43\uFF41\uFF4D",
	"\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}".repeat(60),
	"e\u0301".repeat(600),
	"http://[::ffff:127.0.0.1]:1/",
	"http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
	"https://www.youtube.com@evil.test/watch?v=dQw4w9WgXcQ",
	"https://youtube.com.evil.test/watch?v=dQw4w9WgXcQ",
	"'; DROP TABLE users; --",
	'{"$gt": ""}',
	"$where",
	"../../../../etc/passwd",
	"..%2f..%2f",
	"%00",
	"%",
	"%E0%A4%A",
	"__proto__",
	"constructor",
	"prototype",
	"<script>alert(1)</script>",
	"javascript:alert(1)",
	"http://127.0.0.1:1/",
	"\r\nSet-Cookie: x=1",
	"null",
	"undefined",
	"NaN",
	"-1",
	"1e309",
	"0x10",
	"true",
	"[]",
	"{}",
];
const HOSTILE_NUMBERS = [
	0,
	-1,
	-0,
	1.5,
	2 ** 53 + 1,
	-(2 ** 53) - 1,
	1e308,
	-1e308,
	Number.MAX_SAFE_INTEGER,
	Number.MIN_VALUE,
	1e21,
	Number("123456789012345678"),
];
const HOSTILE_VALUES: unknown[] = [
	null,
	true,
	false,
	[],
	{},
	[1, 2, 3],
	{ $gt: "" },
	{ $ne: null },
	{ $where: "1" },
	{ __proto__: { polluted: true } },
	JSON.parse('{"__proto__": {"polluted": true}}'),
	{ constructor: { prototype: { polluted: true } } },
	nest(60),
	Array.from({ length: 2_000 }, (_, i) => i),
	...HOSTILE_NUMBERS,
	...HOSTILE_STRINGS,
];

function nest(depth: number): unknown {
	let v: unknown = "deep";
	for (let i = 0; i < depth; i++) v = { a: v };
	return v;
}

/** A value a validator would accept for the schema (the starting point before mutation). */
function validExample(schema: any, ctx: Ctx): unknown {
	if (!schema || typeof schema !== "object") return "x";
	if (schema.enum) return schema.enum[0];
	if (schema.const !== undefined) return schema.const;
	if (Array.isArray(schema.oneOf ?? schema.anyOf)) return validExample((schema.oneOf ?? schema.anyOf)[0], ctx);
	switch (schema.type) {
		case "integer":
		case "number":
			return Math.max(schema.minimum ?? 1, Math.min(schema.maximum ?? 5_000_00, 5_000_00));
		case "boolean":
			return true;
		case "array":
			return [];
		case "object": {
			const out: Record<string, unknown> = {};
			for (const [k, v] of Object.entries<any>(schema.properties ?? {})) {
				if ((schema.required ?? []).includes(k) || rand() < 0.5) out[k] = fieldExample(k, v, ctx);
			}
			return out;
		}
		default:
			if (schema.format === "uri") return "https://example.com/x";
			if (schema.format === "email") return "fuzz@example.test";
			return "fuzz".padEnd(schema.minLength ?? 1, "z").slice(0, schema.maxLength ?? 100);
	}
}

function fieldExample(name: string, schema: any, ctx: Ctx): unknown {
	if (name === "to" || name === "with" || name === "username" || name === "channel") return ctx.streamer.username;
	if (name === "userId") return ctx.viewer.id;
	if (name === "refreshToken") return ctx.viewer.refreshToken;
	if (name === "id" || name.endsWith("Id")) return pick(ctx.ids);
	return validExample(schema, ctx);
}

interface Ctx {
	streamer: Awaited<ReturnType<typeof setupStreamer>>;
	viewer: Awaited<ReturnType<typeof registerUser>>;
	ids: string[];
}

/** mulberry32: a tiny seeded generator, so a run can be repeated with FUZZ_SEED. */
let state = SEED >>> 0;
function rand(): number {
	state = (state + 0x6d2b79f5) >>> 0;
	let t = state;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function pick<T>(xs: readonly T[]): T {
	return xs[Math.floor(rand() * xs.length)];
}
/** One fast-check sample of an arbitrary, from the seeded generator. */
function sample<T>(arb: fc.Arbitrary<T>): T {
	return fc.sample(arb, { numRuns: 1, seed: Math.floor(rand() * 2 ** 31) })[0];
}

const anything = fc.anything({
	maxDepth: 3,
	withBigInt: false,
	withBoxedValues: false,
	withNullPrototype: true,
	withObjectString: true,
	withSparseArray: true,
	withTypedArray: false,
	withDate: true,
	withMap: false,
	withSet: false,
	maxKeys: 6,
});
const unicode = fc.string({ unit: "binary", maxLength: 80 });

function hostileValue(): unknown {
	const r = rand();
	if (r < 0.45) return pick(HOSTILE_VALUES);
	if (r < 0.7) return sample(unicode);
	return sample(anything);
}

/** Mutates a valid body: drop, retype, add, poison. */
function mutateBody(valid: Record<string, unknown>, schema: any): unknown {
	const body: Record<string, unknown> = { ...valid };
	const keys = Object.keys(schema?.properties ?? {});
	const n = 1 + Math.floor(rand() * 3);
	for (let i = 0; i < n; i++) {
		const op = rand();
		const k = keys.length ? pick(keys) : "field";
		if (op < 0.2) delete body[k];
		else if (op < 0.6) body[k] = hostileValue();
		else if (op < 0.7) body[`extra_${Math.floor(rand() * 1000)}`] = hostileValue();
		else if (op < 0.8)
			Object.assign(
				body,
				JSON.parse(
					pick([
						'{"__proto__":{"isAdmin":true,"roles":["admin"]}}',
						'{"constructor":{"prototype":{"roles":["admin"]}}}',
						'{"$set":{"roles":["admin"]}}',
					]),
				),
			);
		else if (op < 0.9) return hostileValue();
		else body[k] = typeof body[k] === "string" ? `${body[k]}${"x".repeat(5_000)}` : 1e308;
	}
	return body;
}

// ---------- REST ----------

interface Op {
	method: string;
	path: string;
	params: { name: string; in: string; schema: any }[];
	body?: any;
	rawBody: boolean;
	auth: "required" | "optional";
}

interface Req {
	method: string;
	url: string;
	headers: Record<string, string>;
	body?: string;
	kind: string;
}

function operations(doc: any): Op[] {
	const ops: Op[] = [];
	for (const [p, item] of Object.entries<any>(doc.paths)) {
		for (const [method, op] of Object.entries<any>(item)) {
			if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
			const content = op.requestBody?.content ?? {};
			const json = content["application/json"]?.schema;
			ops.push({
				method: method.toUpperCase(),
				path: p,
				params: op.parameters ?? [],
				body: json,
				rawBody: !!content["*/*"],
				// security: [] (none) or [{}, {bearerAuth: []}] (optional) both take anonymous callers.
				auth: !op.security || op.security.length === 0 || op.security.some((s: any) => Object.keys(s).length === 0) ? "optional" : "required",
			});
		}
	}
	return ops;
}

/** encodeURIComponent that also takes lone surrogates (sent as the bytes Node encodes them to). */
function enc(v: string): string {
	try {
		return encodeURIComponent(v);
	} catch {
		return [...Buffer.from(v, "utf8")]
			.map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`))
			.join("");
	}
}

function pathValue(name: string, ctx: Ctx): string {
	const r = rand();
	if (r < 0.35) {
		if (name === "username") return ctx.streamer.username;
		if (name === "userId") return ctx.viewer.id;
		if (name === "provider") return pick(["sandbox", "stripe", "midtrans", "paypal"]);
		if (name === "type") return pick(["post", "comment", "donation"]);
		return pick(ctx.ids);
	}
	const v = r < 0.8 ? String(pick(HOSTILE_STRINGS)).slice(0, 3000) : String(sample(unicode));
	// the raw percent forms are sent as they are; everything else is encoded like a client would
	return /^%/.test(v) ? v : enc(v);
}

function queryString(op: Op, ctx: Ctx): string {
	const parts: string[] = [];
	for (const p of op.params.filter((x) => x.in === "query")) {
		const r = rand();
		if (r < 0.3) continue;
		const value = r < 0.55 ? validExample(p.schema, ctx) : hostileValue();
		parts.push(`${enc(p.name)}=${enc(typeof value === "string" ? value : (JSON.stringify(value) ?? ""))}`);
	}
	const extra = rand();
	if (extra < 0.1) parts.push("limit=1&limit=2", "cursor[$gt]=");
	else if (extra < 0.2) parts.push("__proto__[polluted]=1", "constructor[prototype][x]=1");
	else if (extra < 0.25) parts.push(`q=${"%".repeat(3)}`);
	else if (extra < 0.3) parts.push(`limit=${pick(["-5", "1e309", "NaN", "0x10", "99999999999999999999", ""])}`);
	return parts.length ? `?${parts.join("&")}` : "";
}

function buildRequest(op: Op, ctx: Ctx, tokens: string[]): Req {
	const url = op.path.replace(/\{(\w+)\}/g, (_, name) => pathValue(name, ctx)) + queryString(op, ctx);
	const headers: Record<string, string> = {};
	const tok = pick(tokens);
	if (tok) headers.Authorization = tok;
	if (rand() < 0.05) headers["Idempotency-Key"] = pick(["k", "x".repeat(300), "", "💸"]).replace(/[^\x20-\x7e]/g, "?");
	if (rand() < 0.03) headers["X-Request-Id"] = "bad id with spaces\t";
	let body: string | undefined;
	let kind = "mutated-json";
	if (op.method !== "GET" && op.method !== "DELETE") {
		const valid = (op.body ? validExample(op.body, ctx) : {}) as Record<string, unknown>;
		const r = rand();
		headers["Content-Type"] = "application/json";
		if (op.rawBody) {
			kind = "webhook";
			const t = Math.floor(Date.now() / 1000);
			const payload =
				r < 0.5
					? JSON.stringify(
							mutateBody(
								{ event_id: "e1", payment_id: pick(ctx.ids), status: "settlement" },
								{ properties: { event_id: {}, payment_id: {}, status: {} } },
							),
						)
					: String(sample(unicode));
			body = payload ?? "";
			const sig = createHmac("sha256", rand() < 0.5 ? "dev-only-sandbox-webhook-secret" : "wrong")
				.update(`${t}.${body}`)
				.digest("hex");
			headers[pick(["X-Sandbox-Signature", "Stripe-Signature", "X-Other"])] = pick([
				`t=${t},v1=${sig}`,
				`t=${t},v0=${sig}`,
				"garbage",
				`t=abc,v1=${sig}`,
				`t=${t}`,
				"",
			]);
			if (rand() < 0.1)
				body = JSON.stringify({
					order_id: hostileValue(),
					status_code: hostileValue(),
					gross_amount: hostileValue(),
					signature_key: hostileValue(),
					transaction_status: "settlement",
				});
		} else if (r < 0.55) {
			body = JSON.stringify(mutateBody(valid, op.body)) ?? "null";
		} else if (r < 0.7) {
			kind = "bad-json";
			body = pick([
				"{",
				'{"a":',
				"{'single': 1}",
				"[1,2",
				"nul",
				'{"a":1}garbage',
				"\u0000",
				'{"a":"\\ud800"}',
				"{}".repeat(10),
				`{"x":"${"y".repeat(70_000)}"}`,
				" ",
			]);
		} else if (r < 0.82) {
			kind = "bad-content-type";
			headers["Content-Type"] = pick([
				"text/plain",
				"application/xml",
				"multipart/form-data; boundary=x",
				"application/x-www-form-urlencoded",
				"application/json; charset=utf-16",
				"image/png",
				"",
			]);
			body = pick([JSON.stringify(valid), "a=1&b=2", "<x/>", "--x\r\n\r\n--x--"]);
		} else if (r < 0.9) {
			kind = "primitive-json";
			body = JSON.stringify(pick([null, 1, "str", true, [], [valid]]));
		} else {
			kind = "huge-or-deep";
			body = pick([
				JSON.stringify({ ...valid, pad: "p".repeat(80_000) }),
				`${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}`,
				JSON.stringify({ ...valid, n: 1e308, m: -1e308 }),
				JSON.stringify(Object.fromEntries(Array.from({ length: 3_000 }, (_, i) => [`k${i}`, i]))),
			]);
		}
	} else if (rand() < 0.1) {
		kind = "get-with-body";
		headers["Content-Type"] = "application/json";
	}
	return { method: op.method, url, headers, body: kind === "get-with-body" ? undefined : body, kind };
}

interface Finding {
	request: string;
	status: number;
	body: string;
	problem: string;
}

function errorShapeProblem(status: number, text: string): string | null {
	let b: any;
	try {
		b = JSON.parse(text);
	} catch {
		return "error body is not JSON";
	}
	if (!b || typeof b !== "object") return "error body is not an object";
	if (typeof b.name !== "string" || typeof b.message !== "string") return "error body lacks name/message";
	if (b.code !== status) return `error code ${b.code} ≠ HTTP status ${status}`;
	if (typeof b.type !== "string" || !/^[A-Z0-9_]+$/.test(b.type)) return `error type ${JSON.stringify(b.type)} is not UPPER_CASE`;
	if (status === 429 && !b.retryAfter && !b.data?.retryAfterSec && b.type !== "RATE_LIMITED" && b.type !== "LOGIN_THROTTLED")
		return "429 without a rate-limit type";
	return null;
}

async function restFuzz(h: Harness, ctx: Ctx, tokens: string[]) {
	const doc: any = await (await fetch(`${h.url}/api/openapi.json`)).json();
	const ops = operations(doc);
	const byStatus: Record<string, number> = {};
	const byKind: Record<string, number> = {};
	const findings: Finding[] = [];
	let sent = 0;
	let next = 0;
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			while (next < REST_TOTAL) {
				next++;
				const op = ops[Math.floor(rand() * ops.length)];
				const req = buildRequest(op, ctx, tokens);
				byKind[req.kind] = (byKind[req.kind] ?? 0) + 1;
				const label = `${req.method} ${req.url.slice(0, 200)} [${req.kind}] ${JSON.stringify(req.headers).slice(0, 200)} ${req.body?.slice(0, 300) ?? ""}`;
				let status = 0;
				let text = "";
				try {
					const res = await fetch(h.url + req.url, { method: req.method, headers: req.headers, body: req.body, signal: AbortSignal.timeout(15_000) });
					status = res.status;
					text = await res.text();
				} catch (err) {
					findings.push({ request: label, status: 0, body: "", problem: `no response: ${(err as Error).message}` });
					continue;
				} finally {
					sent++;
				}
				byStatus[status] = (byStatus[status] ?? 0) + 1;
				if (status >= 500) findings.push({ request: label, status, body: text.slice(0, 300), problem: "5xx" });
				else if (status >= 400) {
					const problem = errorShapeProblem(status, text);
					if (problem) findings.push({ request: label, status, body: text.slice(0, 300), problem });
				}
			}
		}),
	);
	return { operations: ops.length, sent, byStatus, byKind, findings };
}

// ---------- Socket.IO ----------

const SOCKET_EVENTS: [ns: string, event: string][] = [
	["/", "chat:join"],
	["/", "chat:leave"],
	["/", "chat:send"],
	["/", "chat:typing"],
	["/", "dm:join"],
	["/", "dm:send"],
	["/", "dm:read"],
	["/", "dm:typing"],
	["/", "no:such:event"],
	["/", "__proto__"],
	["/", "constructor"],
	["/overlay", "alert:done"],
	["/overlay", "chat:send"],
];

const disconnectReasons: Record<string, number> = {};
let lastConnectError = "";

function connect(url: string, auth: unknown): Promise<Socket | null> {
	return new Promise((resolve) => {
		const s = ioClient(url, { auth: auth as any, transports: ["websocket"], reconnection: false, forceNew: true, timeout: 5000 });
		s.once("connect", () => resolve(s));
		s.on("disconnect", (reason) => (disconnectReasons[reason] = (disconnectReasons[reason] ?? 0) + 1));
		s.once("connect_error", (err) => {
			lastConnectError = `${err.message} ${JSON.stringify((err as any).data ?? "")}`;
			s.close();
			resolve(null);
		});
	});
}

async function socketFuzz(h: Harness, ctx: Ctx) {
	const findings: { event: string; payload: string; problem: string }[] = [];
	const acks = { ok: 0, refused: 0, none: 0 };
	let sent = 0;
	let unexpectedDisconnects = 0;
	let handshakes = 0;
	let handshakeAccepted = 0;

	// hostile handshakes
	for (const auth of [
		{ token: "garbage" },
		{ token: { $ne: null } },
		{ token: "a".repeat(20_000) },
		{ token: ["x"] },
		{ token: null },
		{ __proto__: { token: ctx.viewer.token } },
		{ token: ctx.streamer.overlayToken },
		{ token: `msp_${"A".repeat(43)}` },
		{ token: ctx.streamer.token, since: { $gt: "" } },
		{ token: ctx.streamer.token, since: "x".repeat(5000) },
	]) {
		for (const ns of ["/", "/overlay", "/events"]) {
			handshakes++;
			const s = await connect(h.url + ns, auth);
			if (s) {
				handshakeAccepted++;
				s.close();
			}
		}
	}

	const main = [
		await connect(`${h.url}/`, { token: ctx.viewer.token }),
		await connect(`${h.url}/`, undefined),
		await connect(`${h.url}/`, { token: ctx.streamer.token }),
	].filter((s): s is Socket => !!s);
	const overlay = await connect(`${h.url}/overlay`, { token: ctx.streamer.overlayToken });
	const pool = { "/": main, "/overlay": overlay ? [overlay] : [] } as Record<string, Socket[]>;
	const closedByServer = new Set<Socket>();
	for (const s of [...main, ...(overlay ? [overlay] : [])]) s.on("disconnect", (reason) => reason === "io server disconnect" && closedByServer.add(s));

	for (let i = 0; i < SOCKET_TOTAL; i++) {
		const [ns, event] = pick(SOCKET_EVENTS);
		let socket = pick(pool[ns]);
		if (!socket?.connected) {
			unexpectedDisconnects++;
			const fresh = await connect(h.url + ns, ns === "/overlay" ? { token: ctx.streamer.overlayToken } : { token: ctx.viewer.token });
			if (!fresh) {
				findings.push({
					event,
					payload: "",
					problem: `could not reconnect after a disconnect (${JSON.stringify(disconnectReasons)}): ${lastConnectError}`,
				});
				continue;
			}
			pool[ns] = pool[ns].filter((s) => s.connected).concat(fresh);
			socket = fresh;
		}
		const r = rand();
		const base: Record<string, unknown> = { channel: ctx.streamer.username, text: "hello", conversationId: pick(ctx.ids), id: pick(ctx.ids) };
		const payload = r < 0.5 ? mutateBody(base, { properties: { channel: {}, text: {}, conversationId: {}, id: {}, nonce: {} } }) : hostileValue();
		const args: unknown[] = rand() < 0.1 ? [payload, hostileValue(), hostileValue()] : [payload];
		sent++;
		const label = `${ns} ${event} ${JSON.stringify(args)?.slice(0, 200)}`;
		if (rand() < 0.25) {
			socket.emit(event, ...args);
			acks.none++;
			continue;
		}
		try {
			const res: any = await socket.timeout(5000).emitWithAck(event, ...args);
			if (res?.ok === true) acks.ok++;
			else if (res?.ok === false && typeof res.error?.type === "string" && typeof res.error?.message === "string") {
				acks.refused++;
				if (res.error.type === "INTERNAL_ERROR" || res.error.type === "SERVER_ERROR")
					findings.push({ event, payload: label, problem: `server error in ack: ${JSON.stringify(res.error)}` });
			} else findings.push({ event, payload: label, problem: `ack not in the contract's shape: ${JSON.stringify(res)?.slice(0, 200)}` });
		} catch (err) {
			// no ack: only acceptable for events nobody routes
			if (!/no:such|__proto__|constructor/.test(event) && !(ns === "/overlay" && event === "chat:send"))
				findings.push({ event, payload: label, problem: `no ack (${(err as Error).message})` });
			else acks.none++;
		}
	}
	// a burst without acks, then prove the sockets still work
	const s = pool["/"].find((x) => x.connected);
	if (s) {
		for (let i = 0; i < 200; i++) s.emit("chat:typing", hostileValue());
		sent += 200;
		const join: any = await s
			.timeout(5000)
			.emitWithAck("chat:join", { channel: ctx.streamer.username })
			.catch(() => null);
		if (!join?.ok) findings.push({ event: "chat:join", payload: "after burst", problem: `socket unusable after burst: ${JSON.stringify(join)}` });
	}
	for (const list of Object.values(pool)) for (const x of list) x.close();
	return { sent, acks, handshakes, handshakeAccepted, disconnectedByServer: closedByServer.size, reconnectsNeeded: unexpectedDisconnects, findings };
}

async function main() {
	const started = Date.now();
	const h = await startHarness({
		env: {
			NODE_ENV: "test",
			SCRYPT_COST: "1024",
			RATE_LIMIT_IP_PER_MIN: "100000000",
			RATE_LIMIT_USER_PER_MIN: "100000000",
			SOCKET_MAX_PER_IP: "100000000",
			SOCKET_HANDSHAKES_PER_IP_PER_MIN: "100000000",
			LOGIN_MAX_FAILURES: "100000000",
			CHAT_RATE_BURST: "100000",
			CHAT_RATE_SUSTAINED: "100000",
			WEBHOOK_BLOCK_PRIVATE: "true",
		},
		brokerOptions: { logger: { type: "Console", options: { level: process.env.FUZZ_LOG || "fatal" } } },
	});
	try {
		const streamer = await setupStreamer(h.url);
		const viewer = await registerUser(h.url, "fuzzviewer");
		const d = await donate(h.url, streamer.username, {}, { token: viewer.token });
		const ids = [d.body?.donation?.id, d.body?.payment?.id, viewer.id, streamer.id, "0000000000000000", "does-not-exist"].filter(Boolean);
		const ctx: Ctx = { streamer, viewer, ids };
		// A personal access token with every scope: the routes it opens, and the 403s of those it does not.
		const pat = await fetch(`${h.url}/api/me/tokens`, {
			method: "POST",
			headers: { Authorization: `Bearer ${streamer.token}`, "Content-Type": "application/json" },
			body: JSON.stringify({ name: "fuzz", scopes: ["profile:read", "donations:read", "alerts:write", "chat:write", "events:read"] }),
		}).then((r) => r.json() as Promise<{ token: string }>);
		const tokens = [
			`Bearer ${pat.token}`,
			`Bearer msp_${"A".repeat(43)}`,
			"",
			`Bearer ${viewer.token}`,
			`Bearer ${viewer.token}`,
			`Bearer ${streamer.token}`,
			`Bearer ${streamer.token}`,
			`Bearer ${streamer.token}`,
			"Bearer garbage.token.here",
			`Bearer ${streamer.overlayToken}`,
			"Basic Zm9vOmJhcg==",
			`Bearer ${"a".repeat(5000)}`,
		];

		console.log(`Fuzzing${QUICK ? " (quick)" : ""}: ${REST_TOTAL} REST requests, ${SOCKET_TOTAL} socket events, seed ${SEED}`);
		const rest = await restFuzz(h, ctx, tokens);
		console.log(
			`REST: ${rest.sent} requests over ${rest.operations} operations; statuses ${JSON.stringify(rest.byStatus)}; kinds ${JSON.stringify(rest.byKind)}`,
		);
		// the REST fuzz may have rotated the streamer's overlay token (POST /api/users/me/overlay-token)
		const me: any = await (await fetch(`${h.url}/api/auth/me`, { headers: { Authorization: `Bearer ${streamer.token}` } })).json();
		if (typeof me?.overlayToken === "string") ctx.streamer = { ...streamer, overlayToken: me.overlayToken };
		const sock = await socketFuzz(h, ctx);
		console.log(
			`Socket.IO: ${sock.sent} events; acks ${JSON.stringify(sock.acks)}; handshakes ${sock.handshakes} (${sock.handshakeAccepted} accepted: the genuine overlay token, anonymous viewers and a real access token on /); server-side disconnects ${sock.disconnectedByServer}`,
		);
		const health = await fetch(`${h.url}/health`)
			.then((r) => r.status)
			.catch(() => 0);
		const fiveXX = rest.findings.filter((f) => f.status >= 500 || f.status === 0).length;
		const shape = rest.findings.length - fiveXX;
		const summary = {
			at: new Date().toISOString(),
			quick: QUICK,
			seed: SEED,
			durationSec: round((Date.now() - started) / 1000, 1),
			rest: {
				requests: rest.sent,
				operations: rest.operations,
				byStatus: rest.byStatus,
				byKind: rest.byKind,
				responses5xxOrNone: fiveXX,
				errorShapeViolations: shape,
			},
			socket: {
				events: sock.sent,
				acks: sock.acks,
				handshakes: sock.handshakes,
				handshakeAccepted: sock.handshakeAccepted,
				disconnectedByServer: sock.disconnectedByServer,
				problems: sock.findings.length,
			},
			crashes: crashes.length,
			healthAfter: health,
			samples: { rest: rest.findings.slice(0, 15), socket: sock.findings.slice(0, 15), crashes: crashes.slice(0, 5) },
		};
		writeResult(QUICK ? "fuzz-quick" : "fuzz", summary);
		if (!QUICK) (await import("./report")).writeReport();
		console.log(
			`\nresponses ≥ 500: ${fiveXX}   error-shape violations: ${shape}   socket problems: ${sock.findings.length}   crashes: ${crashes.length}   /health after: ${health}   (${summary.durationSec} s)`,
		);
		const failed = fiveXX > 0 || shape > 0 || sock.findings.length > 0 || crashes.length > 0 || health !== 200;
		if (failed) {
			for (const f of [...rest.findings.slice(0, 10), ...sock.findings.slice(0, 10)]) console.log("  ✗", JSON.stringify(f));
			for (const c of crashes.slice(0, 3)) console.log("  ✗", c);
		}
		await h.stop();
		process.exit(failed ? 1 : 0);
	} catch (err) {
		console.error(err);
		await h.stop().catch(() => undefined);
		process.exit(2);
	}
}

void main();
