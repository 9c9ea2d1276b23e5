import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import type { Socket } from "socket.io-client";
import { Cluster, type ClusterProcess } from "../support/cluster";
import { client, connectSocket, waitFor } from "../support/harness";
import { donate, pay, setupStreamer } from "../support/flow";

/**
 * The donation pipeline as separate processes sharing one PostgreSQL database: users,
 * two gateways, two donations, two payments and two alerts instances over NATS JetStream and
 * Redis. Donations are made on one gateway while the overlay listens on the other; instances are
 * killed with SIGKILL in the middle of the work.
 */

const ENV = {
	SCRYPT_COST: "1024",
	ALERT_ACK_GRACE_MS: "1500",
	ALERT_TICK_MS: "200",
	REDRIVE_INTERVAL_MS: "1000",
	// A message taken by a killed instance goes to another after 3 s (production: 10 s).
	CHANNELS_ACK_WAIT_MS: "3000",
	// A create whose node died mid-request is taken over by a retry after 3 s (production: 30 s).
	IDEMPOTENCY_LEASE_MS: "3000",
	RATE_LIMIT_IP_PER_MIN: "100000",
	RATE_LIMIT_USER_PER_MIN: "100000",
};

interface Seen {
	id: string;
	donationId: string | null;
	at: number;
}

/** An overlay that records every alert and acknowledges it (after `ackDelayMs`) unless told not to. */
async function autoOverlay(base: string, token: string, opts: { ack?: boolean; ackDelayMs?: number } = {}) {
	const seen: Seen[] = [];
	const acked = new Map<string, number>();
	let ack = opts.ack ?? true;
	const doAck = (id: string) => {
		acked.set(id, Date.now());
		socket.emit("alert:done", { id });
	};
	// doAck runs from a timer, so `socket` is always assigned by then.
	const socket: Socket = await connectSocket(base, "/overlay", { token }, (s) =>
		s.on("alert", (a: { id: string; donationId: string | null }) => {
			seen.push({ id: a.id, donationId: a.donationId, at: Date.now() });
			if (ack && !acked.has(a.id)) setTimeout(() => doAck(a.id), opts.ackDelayMs ?? 0);
		}),
	);
	return {
		socket,
		seen,
		acked,
		setAck(on: boolean) {
			ack = on;
		},
		ack: doAck,
		/** Distinct alert ids per donation id. */
		alertsByDonation() {
			const m = new Map<string, Set<string>>();
			for (const s of seen) {
				if (!s.donationId) continue;
				if (!m.has(s.donationId)) m.set(s.donationId, new Set());
				m.get(s.donationId)!.add(s.id);
			}
			return m;
		},
		close() {
			socket.close();
		},
	};
}

describe("donation pipeline across real processes", () => {
	const cluster = new Cluster({ redis: true, env: ENV });
	let gwA: ClusterProcess;
	let gwB: ClusterProcess;
	const nodes: Record<string, ClusterProcess> = {};
	/** Every `ws.emit` broadcast in the cluster, with the node that sent it. */
	const emits: Array<{ nodeID: string; event: string; rooms: string[]; data: any }> = [];

	beforeAll(async () => {
		await cluster.startInfra();
		await cluster.clientBroker({}, [
			{
				name: "emit-spy",
				events: {
					"ws.emit"(ctx: Context<{ event: string; rooms: string[]; data: any }>) {
						emits.push({ nodeID: ctx.nodeID!, event: ctx.params.event, rooms: ctx.params.rooms, data: ctx.params.data });
					},
				},
			} as ServiceSchema,
		]);
		// Second instances start once the first have created their JetStream consumers: two
		// instances creating the same durable consumer at the same moment race (docs/distributed.md).
		const started = await cluster.startNodes([
			{ name: "users", services: ["users"] },
			{ name: "gw-a", services: ["api"], http: true },
			{ name: "gw-b", services: ["api"], http: true },
			{ name: "donations-1", services: ["donations", "ledger", "stats"] },
			{ name: "payments-1", services: ["payments"] },
			{ name: "alerts-1", services: ["alerts"] },
		]);
		started.push(
			...(await cluster.startNodes([
				{ name: "donations-2", services: ["donations", "ledger", "stats"] },
				{ name: "payments-2", services: ["payments"] },
				{ name: "alerts-2", services: ["alerts"] },
			])),
		);
		for (const n of started) nodes[n.name] = n;
		gwA = nodes["gw-a"];
		gwB = nodes["gw-b"];
		for (const svc of ["donations", "payments", "alerts"]) await cluster.waitForInstances(svc, 2, 20_000, ["gw-a", "gw-b"]);
		await cluster.waitForInstances("users", 1);
		for (const gw of [gwA, gwB]) {
			await waitFor(async () => (await client(gw.url!)("POST", "/api/donations", {})).status === 422, 15_000, `donations route on ${gw.name}`);
		}
	});

	afterAll(async () => {
		await cluster.stop();
	});

	it("a donation made through gateway B shows on an overlay connected to gateway A", async () => {
		const streamer = await setupStreamer(gwA.url!);
		const overlay = await autoOverlay(gwA.url!, streamer.overlayToken);
		try {
			const res = await donate(gwB.url!, streamer.username, { message: "dari gateway B" });
			expect(res.status, JSON.stringify(res.body)).toBe(201);
			expect((await pay(gwB.url!, res.body.payment.id)).status).toBe(202);
			await waitFor(() => overlay.seen.some((s) => s.donationId === res.body.donation.id), 15_000, "the alert on gw-a");
			const status = await client(gwA.url!)("GET", `/api/donations/${res.body.donation.id}`, undefined, { token: streamer.token });
			expect(status.body.status).toBe("paid");
			expect(overlay.alertsByDonation().get(res.body.donation.id)?.size).toBe(1);
		} finally {
			overlay.close();
		}
	});

	it("spreads donation and payment work across both instances of each service", async () => {
		const streamer = await setupStreamer(gwA.url!);
		const handled = async (nodeID: string, action: string) => {
			const metrics = await (await cluster.clientBroker()).call<any[], any>("$node.metrics", { includes: "moleculer.request.total" }, { nodeID });
			return metrics
				.flatMap((m) => m.values)
				.filter((v: any) => v.labels.action === action)
				.reduce((sum: number, v: any) => sum + v.value, 0);
		};
		const before = {
			d1: await handled("donations-1", "donations.create"),
			d2: await handled("donations-2", "donations.create"),
			p1: await handled("payments-1", "payments.create"),
			p2: await handled("payments-2", "payments.create"),
		};
		for (let i = 0; i < 8; i++) {
			const res = await donate((i % 2 ? gwA : gwB).url!, streamer.username, { message: `spread ${i}` });
			expect(res.status).toBe(201);
		}
		const d1 = (await handled("donations-1", "donations.create")) - before.d1;
		const d2 = (await handled("donations-2", "donations.create")) - before.d2;
		const p1 = (await handled("payments-1", "payments.create")) - before.p1;
		const p2 = (await handled("payments-2", "payments.create")) - before.p2;
		expect(d1 + d2).toBe(8);
		expect(p1 + p2).toBe(8);
		// Round robin from each gateway: both instances get a fair share.
		for (const n of [d1, d2, p1, p2]) expect(n).toBeGreaterThanOrEqual(2);
	});

	it("SIGKILL of a donations instance while donations are made: every created donation is paid and alerted exactly once", async () => {
		const streamer = await setupStreamer(gwA.url!);
		const overlay = await autoOverlay(gwA.url!, streamer.overlayToken);
		const TOTAL = 24;
		const created: Array<{ donationId: string; paymentId: string }> = [];
		const failures: unknown[] = [];
		let next = 0;

		/** A client that retries with the same Idempotency-Key, as the contract allows. */
		async function createOne(i: number) {
			const key = randomUUID();
			const gw = i % 2 ? gwA : gwB;
			const deadline = Date.now() + 20_000;
			for (;;) {
				const res = await donate(gw.url!, streamer.username, { message: `#${i}` }, { key });
				if (res.status === 201) return created.push({ donationId: res.body.donation.id, paymentId: res.body.payment.id });
				if (Date.now() > deadline || (res.status < 500 && res.status !== 409)) return failures.push({ i, status: res.status, body: res.body });
				await new Promise((r) => setTimeout(r, 250));
			}
		}
		async function worker() {
			while (next < TOTAL) {
				const i = next++;
				await createOne(i);
				if (i === 8) nodes["donations-2"].signal("SIGKILL");
			}
		}
		try {
			await Promise.all([worker(), worker(), worker(), worker()]);
			expect(failures).toEqual([]);
			expect(nodes["donations-2"].running()).toBe(false);
			expect(new Set(created.map((c) => c.donationId)).size).toBe(TOTAL);

			for (const [i, c] of created.entries()) {
				const res = await pay((i % 2 ? gwA : gwB).url!, c.paymentId);
				expect(res.status, JSON.stringify(res.body)).toBe(202);
			}
			await waitFor(() => created.every((c) => overlay.alertsByDonation().has(c.donationId)), 60_000, "an alert for every donation");
			const api = client(gwA.url!);
			for (const c of created) {
				const d = await api("GET", `/api/donations/${c.donationId}`, undefined, { token: streamer.token });
				expect(d.body.status).toBe("paid");
				expect(overlay.alertsByDonation().get(c.donationId)!.size).toBe(1);
			}
			const balance = await api("GET", "/api/me/balance", undefined, { token: streamer.token });
			expect(balance.body.balances).toEqual([expect.objectContaining({ currency: "IDR", amount: TOTAL * 5_000_00 })]);
		} finally {
			overlay.close();
		}
		nodes["donations-2"] = await cluster.startNode({ name: "donations-2", services: ["donations", "ledger", "stats"] });
	});

	it("SIGKILL of the alerts instance driving an overlay: the other resumes, nothing lost or shown twice", async () => {
		const streamer = await setupStreamer(gwA.url!);
		const overlay = await autoOverlay(gwA.url!, streamer.overlayToken, { ack: false });
		try {
			const ids: string[] = [];
			for (let i = 0; i < 4; i++) {
				const res = await donate(gwB.url!, streamer.username, { message: `antri ${i}` });
				expect(res.status).toBe(201);
				ids.push(res.body.donation.id);
				await pay(gwB.url!, res.body.payment.id);
			}
			// The first alert is on screen; find the instance that put it there.
			await waitFor(() => overlay.seen.length > 0, 15_000, "the first alert");
			const first = overlay.seen[0];
			const driver = emits.find((e) => e.event === "alert" && e.data?.id === first.id)!.nodeID;
			expect(["alerts-1", "alerts-2"]).toContain(driver);
			nodes[driver].signal("SIGKILL");
			await cluster.waitForNodeGone(driver);

			overlay.setAck(true);
			overlay.ack(first.id);
			await waitFor(() => ids.every((id) => overlay.alertsByDonation().has(id)), 30_000, "every alert after the kill");

			const byDonation = overlay.alertsByDonation();
			for (const id of ids) expect(byDonation.get(id)!.size).toBe(1);
			// One at a time: a new alert only ever arrived after the previous one was acknowledged.
			const firstSeen = new Map<string, number>();
			for (const s of overlay.seen) if (!firstSeen.has(s.id)) firstSeen.set(s.id, s.at);
			const order = [...firstSeen.entries()].sort((a, b) => a[1] - b[1]);
			for (let i = 1; i < order.length; i++) {
				const prevAck = overlay.acked.get(order[i - 1][0]);
				expect(prevAck, `alert ${order[i][0]} came before ${order[i - 1][0]} was acknowledged`).toBeDefined();
				expect(order[i][1]).toBeGreaterThanOrEqual(prevAck!);
			}
			// The surviving instance sent the alerts after the kill.
			const after = emits.filter((e) => e.event === "alert" && e.data?.id !== first.id && ids.includes(e.data?.donationId));
			expect(new Set(after.map((e) => e.nodeID))).toEqual(new Set([driver === "alerts-1" ? "alerts-2" : "alerts-1"]));
		} finally {
			overlay.close();
		}
	});
});
