import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { client, connectSocket, emitAck, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { hasRedisServer, startRedisServer } from "../support/redis";

/**
 * Sockets per client address: open sockets and handshakes per minute are limited like REST
 * requests are (shared by every gateway through Redis when REDIS_URL is set), viewers are
 * counted per signed-in user or per address, and a role change reaches sockets already open.
 */

const sockets: Socket[] = [];
afterAll(() => {
	for (const s of sockets) s.close();
});

async function open(base: string, opts: { token?: string; ip?: string } = {}) {
	const s = await connectSocket(
		base,
		"/",
		opts.token ? { token: opts.token } : undefined,
		undefined,
		opts.ip ? { headers: { "X-Forwarded-For": opts.ip } } : {},
	);
	sockets.push(s);
	return s;
}

/** The connect error's `data` ({type, message, retryAfterSec?}), or null when it connected. */
async function refusal(base: string, ip?: string): Promise<{ type: string; retryAfterSec?: number } | null> {
	try {
		await open(base, { ip });
		return null;
	} catch (err) {
		return (err as Error & { data?: { type: string; retryAfterSec?: number } }).data ?? { type: (err as Error).message };
	}
}

/** Fixed one-minute windows: start a handshake-count test early in one, not across two. */
async function freshMinute() {
	const left = 60_000 - (Date.now() % 60_000);
	if (left < 15_000) await new Promise((r) => setTimeout(r, left + 50));
}

const ENV = { SCRYPT_COST: "1024", TRUST_PROXY: "true", CHAT_PRESENCE_WINDOW_MS: "100" };

describe("sockets: per-address limits and viewer counts on one gateway", () => {
	let h: Harness;
	beforeAll(async () => {
		h = await startHarness({ services: ["users", "chat"], env: { ...ENV, SOCKET_MAX_PER_IP: "5", SOCKET_HANDSHAKES_PER_IP_PER_MIN: "12" } });
	});
	afterAll(async () => {
		await h?.stop();
	});

	it("refuses a sixth open socket from one address with TOO_MANY_CONNECTIONS, and takes one again once a socket closes", async () => {
		await freshMinute();
		const mine = await Promise.all(Array.from({ length: 5 }, () => open(h.url, { ip: "203.0.113.5" })));
		expect(await refusal(h.url, "203.0.113.5")).toMatchObject({ type: "TOO_MANY_CONNECTIONS" });
		// Another address is not affected.
		expect(await refusal(h.url, "203.0.113.6")).toBeNull();
		mine[0].close();
		await waitFor(async () => (await refusal(h.url, "203.0.113.5")) === null, 5_000, "a slot free again");
	});

	it("refuses handshakes past SOCKET_HANDSHAKES_PER_IP_PER_MIN with RATE_LIMITED and a retryAfterSec", async () => {
		await freshMinute();
		const ip = "203.0.113.9";
		for (let i = 0; i < 12; i++) {
			const s = await open(h.url, { ip });
			s.close();
		}
		const refused = await refusal(h.url, ip);
		expect(refused).toMatchObject({ type: "RATE_LIMITED" });
		expect(refused!.retryAfterSec).toBeGreaterThan(0);
		expect(refused!.retryAfterSec).toBeLessThanOrEqual(60);
	});

	it("counts one viewer per address for anonymous sockets and one per signed-in user, however many sockets", async () => {
		const [streamer, viewer] = await Promise.all([registerUser(h.url, "vc"), registerUser(h.url, "vcv")]);
		const join = async (s: Socket) => expect((await emitAck(s, "chat:join", { channel: streamer.username })).ok).toBe(true);
		for (let i = 0; i < 4; i++) await join(await open(h.url, { ip: "192.0.2.77" }));
		for (let i = 0; i < 3; i++) await join(await open(h.url, { token: viewer.token, ip: `192.0.2.${100 + i}` }));
		await waitFor(
			async () => ((await h.broker.call("chat.viewers", { channel: streamer.username })) as { viewers: number }).viewers === 2,
			5_000,
			"two viewers",
		);
		// A second anonymous address is a second viewer.
		await join(await open(h.url, { ip: "192.0.2.78" }));
		await waitFor(
			async () => ((await h.broker.call("chat.viewers", { channel: streamer.username })) as { viewers: number }).viewers === 3,
			5_000,
			"three viewers",
		);
	});
});

describe("sockets: a role change reaches sockets already open, on every gateway", () => {
	let a: Harness;
	let b: Harness;
	beforeAll(async () => {
		a = await startHarness({
			services: ["users", "chat", "moderation", "follows"],
			env: ENV,
			nodeID: `roles-a-${process.pid}`,
			brokerOptions: { transporter: "Fake" },
		});
		b = await startHarness({ services: [], env: ENV, nodeID: `roles-b-${process.pid}`, brokerOptions: { transporter: "Fake" } });
		await b.broker.waitForServices(["chat", "users"], 10_000);
		await waitFor(() => (b.broker.getLocalService("api") as any).hub.routes.has("/ chat:send"), 5000, "routes on gateway B");
		await waitFor(
			() => a.broker.registry.events.getAllEndpoints("users.rolesChanged").some((ep: any) => ep.id === b.broker.nodeID),
			5000,
			"gateway B known to node A",
		);
	});
	afterAll(async () => {
		await b?.stop();
		await a?.stop();
	});

	it("chat:send from a socket authenticated as admin uses the user role once the admin is demoted", async () => {
		const [streamer, staff] = await Promise.all([registerUser(a.url, "rs"), registerUser(a.url, "rstaff")]);
		expect((await client(a.url)("PUT", `/api/channels/${streamer.username}/settings`, { followersOnly: true }, { token: streamer.token })).status).toBe(
			200,
		);
		await a.broker.call("users.setRoles", { username: staff.username, roles: ["user", "admin"] });
		const login = await client(a.url)("POST", "/api/auth/login", { login: staff.username, password: "correct horse battery" });
		expect(login.body.user.roles).toContain("admin");
		const onA = await open(a.url, { token: login.body.accessToken });
		const onB = await open(b.url, { token: login.body.accessToken });
		for (const s of [onA, onB]) {
			expect((await emitAck(s, "chat:join", { channel: streamer.username })).ok).toBe(true);
			// An admin is exempt from followers-only.
			expect((await emitAck(s, "chat:send", { channel: streamer.username, text: "as admin" })).ok).toBe(true);
		}

		await a.broker.call("users.setRoles", { username: staff.username, roles: ["user"] });
		for (const s of [onA, onB]) {
			await waitFor(
				async () => (await emitAck(s, "chat:send", { channel: streamer.username, text: "as user" })).error?.type === "FOLLOWERS_ONLY",
				5_000,
				"demotion applied",
			);
		}
		// The access token still says admin; REST calls made with it act as a user too.
		const moderator = await registerUser(a.url, "rmod");
		const appoint = await client(b.url)("PUT", `/api/channels/${streamer.username}/moderators/${moderator.username}`, undefined, {
			token: login.body.accessToken,
		});
		expect(appoint.status).toBe(403);
	});
});

describe.skipIf(!hasRedisServer)("sockets: limits shared by two gateways through Redis", () => {
	let redis: Awaited<ReturnType<typeof startRedisServer>>;
	let a: Harness;
	let b: Harness;
	beforeAll(async () => {
		redis = await startRedisServer();
		const env = { ...ENV, REDIS_URL: redis.url, SOCKET_MAX_PER_IP: "4", SOCKET_HANDSHAKES_PER_IP_PER_MIN: "8", NAMESPACE: `sl${process.pid}` };
		a = await startHarness({
			services: ["users"],
			env,
			nodeID: `limits-a-${process.pid}`,
			brokerOptions: { transporter: "Fake", namespace: `sl${process.pid}` },
		});
		b = await startHarness({ services: [], env, nodeID: `limits-b-${process.pid}`, brokerOptions: { transporter: "Fake", namespace: `sl${process.pid}` } });
		await waitFor(() => a.broker.registry.nodes.get(b.broker.nodeID)?.available, 5000, "gateway B known to node A");
	});
	afterAll(async () => {
		if (b?.broker.started) await b.stop();
		await a?.stop();
		redis?.stop();
	});

	it("counts handshakes of one address over both gateways", async () => {
		await freshMinute();
		const ip = "203.0.113.45";
		for (let i = 0; i < 4; i++) (await open(a.url, { ip })).close();
		for (let i = 0; i < 4; i++) (await open(b.url, { ip })).close();
		expect(await refusal(a.url, ip)).toMatchObject({ type: "RATE_LIMITED" });
	});

	it("counts open sockets of one address over both gateways, and forgets a gateway's once it has left", async () => {
		const ip = "203.0.113.44";
		await open(a.url, { ip });
		await open(a.url, { ip });
		await open(b.url, { ip });
		await open(b.url, { ip });
		expect(await refusal(a.url, ip)).toMatchObject({ type: "TOO_MANY_CONNECTIONS" });
		expect(await refusal(b.url, ip)).toMatchObject({ type: "TOO_MANY_CONNECTIONS" });
		const gone = b.broker.nodeID;
		await b.stop();
		await waitFor(() => !a.broker.registry.nodes.get(gone)?.available, 10_000, "gateway B gone from A's registry");
		expect(await refusal(a.url, ip)).toBeNull();
	});
});
