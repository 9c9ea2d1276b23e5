import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Errors } from "moleculer";
import SwaggerParser from "@apidevtools/swagger-parser";
import { allServiceNames, client, connectSocket, emitAck, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { parsePrometheus } from "../../lib/ops/prometheus";
import { currentRequestId } from "../../lib/tools/request-scope";
import { donate, openOverlay, pay, setupStreamer } from "../support/flow";
import { redoclyLint } from "../support/redocly";
import { PROVIDER_NAMES } from "../../lib/payments/types";

const ENV = { SCRYPT_COST: "1024" };

/** A tiny service that exercises request-id propagation through a channel message sent without ctx. */
const seen: Array<{ inHandler?: string; viaCall?: string }> = [];
const probe = {
	name: "opsprobe",
	settings: { rest: "/" },
	actions: {
		kick: {
			rest: "POST /ops-probe/kick",
			async handler(this: any) {
				await this.broker.sendToChannel("opsprobe.kicked", { at: Date.now() });
				return { ok: true };
			},
		},
		whoami: {
			visibility: "public",
			handler(ctx: any) {
				return ctx.requestID;
			},
		},
	},
	channels: {
		"opsprobe.kicked": {
			group: "opsprobe",
			async handler(this: any) {
				const inHandler = currentRequestId();
				const viaCall = await this.broker.call("opsprobe.whoami");
				seen.push({ inHandler, viaCall });
			},
		},
	},
};

async function scrape(url: string) {
	const res = await fetch(`${url}/metrics`);
	expect(res.status).toBe(200);
	expect(res.headers.get("content-type")).toContain("text/plain");
	return parsePrometheus(await res.text());
}

const sample = (samples: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}) =>
	samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);

describe("operations endpoints (all services)", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;

	beforeAll(async () => {
		h = await startHarness({ services: allServiceNames(), env: ENV, extra: [probe as any] });
		api = client(h.url);
	});
	afterAll(async () => {
		await h?.stop();
	});

	it("/metrics shows built-in and product metrics, and they move after requests and socket connections", async () => {
		const before = await scrape(h.url);
		expect(before.some((s) => s.name === "moleculer_request_total")).toBe(true);
		expect(sample(before, "mediashar_node_scrape_up")).toBe(1);
		expect(sample(before, "mediashar_sockets_connected", { namespace: "/" })).toBe(0);
		const usersBefore = sample(before, "moleculer_request_total", { action: "users.register" });

		const socket = await connectSocket(h.url, "/");
		try {
			const reg = await api("POST", "/api/auth/register", {
				username: `ops_${Date.now() % 1e6}`,
				email: `ops${Date.now()}@example.test`,
				password: "correct horse battery",
			});
			expect(reg.status).toBe(201);
			const after = await scrape(h.url);
			expect(sample(after, "mediashar_sockets_connected", { namespace: "/" })).toBe(1);
			expect(sample(after, "moleculer_request_total", { action: "users.register" })).toBe(usersBefore + 1);
		} finally {
			socket.close();
		}
		await waitFor(async () => sample(await scrape(h.url), "mediashar_sockets_connected", { namespace: "/" }) === 0, 3000, "socket gauge back to 0");
	});

	it("/metrics: a paid donation moves webhooks, alert latency and alerts delivered", async () => {
		const streamer = await setupStreamer(h.url);
		const overlay = await openOverlay(h.url, streamer.overlayToken);
		try {
			const before = await scrape(h.url);
			expect(sample(before, "mediashar_sockets_connected", { namespace: "/overlay" })).toBe(1);
			const res = await donate(h.url, streamer.username, { donorName: "Metric", message: "count me" });
			expect(res.status).toBe(201);
			expect((await pay(h.url, res.body.payment.id)).status).toBe(202);
			const alert = await overlay.next(1);
			expect(await overlay.done(alert.id)).toMatchObject({ ok: true });
			await waitFor(
				async () => {
					const after = await scrape(h.url);
					return (
						sample(after, "mediashar_alerts_delivered_total", { kind: "donation" }) ===
							sample(before, "mediashar_alerts_delivered_total", { kind: "donation" }) + 1 &&
						sample(after, "mediashar_payments_webhooks_total", { provider: "sandbox", outcome: "accepted" }) >=
							sample(before, "mediashar_payments_webhooks_total", { provider: "sandbox", outcome: "accepted" }) + 1 &&
						sample(after, "mediashar_alerts_payment_to_alert_seconds_count") ===
							sample(before, "mediashar_alerts_payment_to_alert_seconds_count") + 1
					);
				},
				5000,
				"product metrics after a donation",
			);
		} finally {
			overlay.close();
		}
	});

	it("/metrics shows the alert queue depth when scraped", async () => {
		const streamer = await setupStreamer(h.url);
		expect((await api("POST", "/api/alerts/pause", undefined, { token: streamer.token })).status).toBe(200);
		const before = sample(await scrape(h.url), "mediashar_alerts_queue_depth");
		for (const name of ["Q1", "Q2"]) {
			const res = await donate(h.url, streamer.username, { donorName: name });
			await pay(h.url, res.body.payment.id);
		}
		await waitFor(async () => sample(await scrape(h.url), "mediashar_alerts_queue_depth") === before + 2, 5000, "two queued alerts");
		expect((await api("POST", "/api/alerts/resume", undefined, { token: streamer.token })).status).toBe(200);
		await waitFor(async () => sample(await scrape(h.url), "mediashar_alerts_queue_depth") === before + 1, 5000, "one on screen, one queued");
	});

	it("/metrics counts accepted chat messages, channel and direct", async () => {
		const [streamer, fan] = await Promise.all([registerUser(h.url, "opschat"), registerUser(h.url, "opsfan")]);
		const before = await scrape(h.url);
		const socket = await connectSocket(h.url, "/", { token: fan.token });
		try {
			expect((await emitAck(socket, "chat:join", { channel: streamer.username })).ok).toBe(true);
			expect((await emitAck(socket, "chat:send", { channel: streamer.username, text: "hello chat" })).ok).toBe(true);
			// refused (empty text): not counted
			expect((await emitAck(socket, "chat:send", { channel: streamer.username, text: "   " })).ok).toBe(false);
		} finally {
			socket.close();
		}
		const conv = await api("POST", "/api/conversations", { with: streamer.username }, { token: fan.token });
		expect((await api("POST", `/api/conversations/${conv.body.id}/messages`, { text: "psst" }, { token: fan.token })).status).toBeLessThan(300);
		const after = await scrape(h.url);
		expect(sample(after, "mediashar_chat_messages_total", { kind: "channel" })).toBe(
			sample(before, "mediashar_chat_messages_total", { kind: "channel" }) + 1,
		);
		expect(sample(after, "mediashar_chat_messages_total", { kind: "dm" })).toBe(sample(before, "mediashar_chat_messages_total", { kind: "dm" }) + 1);
	});

	it("/health/services lists every service with its nodes and is 200 when all required ones run", async () => {
		const res = await api("GET", "/health/services");
		expect(res.status).toBe(200);
		expect(res.body.status).toBe("ok");
		const users = res.body.services.find((s: any) => s.name === "users");
		expect(users).toMatchObject({ required: true, available: true, nodes: [{ nodeID: h.broker.nodeID, available: true }] });
		expect(res.body.required).toContain("users");
	});

	it("/health/ready checks the broker, transporter, channels, database and storage", async () => {
		const res = await api("GET", "/health/ready");
		expect(res.status).toBe(200);
		expect(res.body.status).toBe("ready");
		expect(res.body.checks.map((c: any) => c.name).sort()).toEqual(["broker", "channels", "database", "storage", "transporter"]);
	});

	it("/api/openapi.json documents every routed endpoint and every published action with rest, and validates as OpenAPI 3.1", async () => {
		const res = await api("GET", "/api/openapi.json");
		expect(res.status).toBe(200);
		const doc = res.body;
		expect(doc.openapi).toBe("3.1.0");
		const documented = new Set<string>();
		for (const [p, ops] of Object.entries<any>(doc.paths)) for (const m of Object.keys(ops)) documented.add(`${m.toUpperCase()} ${p}`);
		const asTemplate = (p: string) => p.replace(/:([A-Za-z0-9_]+)\??/g, "{$1}");

		// 1. Everything the gateway actually routes (moleculer-web's own alias table).
		const gw = h.broker.getLocalService("api") as any;
		const aliases = (gw.aliases as any[]).filter((a) => a.action && !a.path.includes("*"));
		expect(aliases.length).toBeGreaterThan(10);
		// The webhook route's {provider} is documented as one path per provider.
		const expand = (p: string) => (p.includes(":provider") ? PROVIDER_NAMES.map((v) => p.replace(":provider", v)) : [p]);
		const missingRoutes = aliases
			.flatMap((a) =>
				(a.method === "*" ? ["GET", "POST", "PUT", "PATCH", "DELETE"] : [a.method]).flatMap((m: string) =>
					expand(a.fullPath).map((p) => `${m} ${asTemplate(p)}`),
				),
			)
			.filter((k) => !documented.has(k));
		expect(missingRoutes).toEqual([]);

		// 2. Every published action that declares rest, across all services.
		const actions = (h.broker.registry.getServiceList({ withActions: true }) as any[]).flatMap((s) => Object.values<any>(s.actions ?? {}));
		const withRest = actions.filter((a) => a.rest && (a.visibility == null || a.visibility === "published"));
		const opActions = new Set<string>();
		for (const ops of Object.values<any>(doc.paths))
			for (const op of Object.values<any>(ops)) opActions.add(op.operationId.replace(/_(get|post|put|patch|delete)_\d+$/, ""));
		expect(withRest.map((a) => a.name).filter((n) => !opActions.has(n))).toEqual([]);
		// The webhook route and bearer security.
		for (const provider of PROVIDER_NAMES) expect(doc.paths[`/api/payments/webhooks/${provider}`].post.security).toEqual([]);
		expect(doc.paths["/api/auth/me"].get.security).toEqual([{ bearerAuth: [] }]);
		expect(doc.paths["/api/donations"].post.security).toEqual([{}, { bearerAuth: [] }]);
		expect(doc.paths["/api/auth/login"].post.security).toEqual([]);
		expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
		expect(doc.paths["/api/users/{username}"].get.parameters[0]).toMatchObject({ name: "username", in: "path", required: true });
		// Success statuses as the actions declare them, and answer.
		const successes = (p: string, m: string) => Object.keys(doc.paths[p][m].responses).filter((c) => /^[23]/.test(c));
		expect(successes("/api/donations", "post")).toEqual(["201"]);
		expect(successes("/api/me/goal", "delete")).toEqual(["204"]);
		expect(successes("/api/alerts/test", "post")).toEqual(["202"]);
		expect(successes("/api/conversations", "post").sort()).toEqual(["200", "201"]);
		expect(successes("/api/auth/me", "get")).toEqual(["200"]);
		expect(doc.paths["/api/me/goal"].delete.responses["204"].content).toBeUndefined();

		await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
		// One warning is the contract's own: `/api/alerts/{donationId}/…` and `/api/alerts/variations/{id}`
		// are both fixed by docs/api.md, and their methods never overlap (the donation routes are POST,
		// a variation's PATCH and DELETE), so the router never has to choose between them.
		const contractPaths = (p: { ruleId: string; message: string }) =>
			p.ruleId === "no-ambiguous-paths" && /`\/api\/alerts\/\{donationId\}\/\w+` and `\/api\/alerts\/variations\/\{id\}`/.test(p.message);
		expect((await redoclyLint(doc)).filter((p) => !contractPaths(p))).toEqual([]);
	}, 60_000);

	it("/api/docs renders swagger-ui from local files", async () => {
		const page = await fetch(`${h.url}/api/docs`);
		expect(page.status).toBe(200);
		expect(page.headers.get("content-type")).toContain("text/html");
		const html = await page.text();
		expect(html).toContain("/api/docs/swagger-ui-bundle.js");
		expect(html).not.toMatch(/https?:\/\//);
		const js = await fetch(`${h.url}/api/docs/swagger-ui-bundle.js`);
		expect(js.status).toBe(200);
		expect(js.headers.get("content-type")).toContain("javascript");
		expect((await js.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
		expect((await fetch(`${h.url}/api/docs/..%2Fpackage.json`)).status).toBe(404);
	});

	it("echoes X-Request-Id and carries it through a channel message and calls made from its handler", async () => {
		const res = await api("POST", "/api/ops-probe/kick", {}, { headers: { "X-Request-Id": "trace-ops-123" } });
		expect(res.status).toBe(200);
		expect(res.headers.get("x-request-id")).toBe("trace-ops-123");
		await waitFor(() => seen.length > 0, 3000, "channel handler");
		expect(seen[0]).toEqual({ inHandler: "trace-ops-123", viaCall: "trace-ops-123" });
		const refused = await api("POST", "/api/auth/login", {}, { headers: { "X-Request-Id": "trace-ops-422" } });
		expect(refused.status).toBe(422);
		expect(refused.headers.get("x-request-id")).toBe("trace-ops-422");
		const fresh = await api("GET", "/health");
		expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9A-Z]{26}$/);
	});
});

describe("/health/services when a required service is gone", () => {
	let h: Harness;
	beforeAll(async () => {
		h = await startHarness({
			services: ["users", "ops"],
			env: { ...ENV, HEALTH_REQUIRED_SERVICES: "users" },
			extra: [{ name: "flaky", actions: { boom: { handler: () => Promise.reject(new Errors.MoleculerError("downstream failed", 500, "DOWN")) } } }],
		});
	});
	afterAll(async () => {
		await h?.stop();
	});

	it("shows an endpoint whose circuit breaker opened after repeated server errors", async () => {
		for (let i = 0; i < 25; i++) await h.broker.call("flaky.boom").catch(() => undefined);
		const res = await client(h.url)("GET", "/health/services");
		const flaky = res.body.services.find((s: any) => s.name === "flaky");
		expect(flaky.circuits).toEqual([{ action: "flaky.boom", nodeID: h.broker.nodeID, state: "open" }]);
		// Not a required service: the cluster is still "ok".
		expect(res.status).toBe(200);
	});

	it("answers 503 naming the service once its last node stops, and readiness stays independent", async () => {
		const api = client(h.url);
		expect((await api("GET", "/health/services")).status).toBe(200);
		await h.broker.destroyService(h.broker.getLocalService("users")!);
		const res = await api("GET", "/health/services");
		expect(res.status).toBe(503);
		expect(res.body).toMatchObject({ status: "degraded", missing: ["users"] });
		expect(res.body.services.find((s: any) => s.name === "users")).toMatchObject({ required: true, available: false, nodes: [] });
		// Liveness is about this node, not the cluster.
		expect((await api("GET", "/health")).status).toBe(200);
	});

	it("/health/ready answers 503 while the channels adapter is disconnected", async () => {
		const api = client(h.url);
		expect((await api("GET", "/health/ready")).status).toBe(200);
		const adapter = (h.broker as any).channelAdapter;
		await adapter.disconnect();
		try {
			const res = await api("GET", "/health/ready");
			expect(res.status).toBe(503);
			expect(res.body.status).toBe("not_ready");
			expect(res.body.checks.find((c: any) => c.name === "channels")).toMatchObject({ ok: false, detail: "adapter not connected" });
			expect(res.body.checks.find((c: any) => c.name === "database")).toMatchObject({ ok: true });
		} finally {
			await adapter.connect();
		}
		expect((await api("GET", "/health/ready")).status).toBe(200);
	});
});

describe("/metrics and /health/services across two nodes", () => {
	let a: Harness;
	let b: Harness;
	beforeAll(async () => {
		const namespace = `opsmetrics${process.pid}`;
		a = await startHarness({ services: ["users", "ops"], env: ENV, nodeID: `ops-a-${process.pid}`, brokerOptions: { transporter: "Fake", namespace } });
		b = await startHarness({ services: ["deadletters"], nodeID: `ops-b-${process.pid}`, brokerOptions: { transporter: "Fake", namespace } });
		await a.broker.waitForServices(["deadletters"], 5000);
	});
	afterAll(async () => {
		await b?.stop();
		await a?.stop();
	});

	it("one scrape of either gateway renders every node's registry, each sample labelled with its node", async () => {
		// b has no ops service: its gateway's /metrics call is served by a's ops, which reads both nodes.
		const samples = await scrape(b.url);
		expect(sample(samples, "mediashar_node_scrape_up", { nodeID: a.broker.nodeID })).toBe(1);
		expect(sample(samples, "mediashar_node_scrape_up", { nodeID: b.broker.nodeID })).toBe(1);
		const nodeTypes = samples.filter((s) => s.name === "moleculer_node_type").map((s) => s.labels.nodeID);
		expect(nodeTypes).toEqual(expect.arrayContaining([a.broker.nodeID, b.broker.nodeID]));
		const res = await client(a.url)("GET", "/health/services");
		const dl = res.body.services.find((s: any) => s.name === "deadletters");
		expect(dl.nodes).toEqual([{ nodeID: b.broker.nodeID, available: true }]);
		expect(
			res.body.services
				.find((s: any) => s.name === "api")
				.nodes.map((n: any) => n.nodeID)
				.sort(),
		).toEqual([a.broker.nodeID, b.broker.nodeID].sort());
	});
});
