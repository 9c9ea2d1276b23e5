import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, type ClusterProcess } from "../support/cluster";
import { client, connectSocket, waitFor } from "../support/harness";
import { donate, pay, setupStreamer } from "../support/flow";

/**
 * The alternative channels backend: CHANNELS_URL=redis://... (Redis Streams consumer groups)
 * instead of NATS JetStream, with two instances of each pipeline service.
 */
describe("donation pipeline on Redis Streams channels (real processes)", () => {
	const cluster = new Cluster({
		redis: true,
		channels: "redis",
		env: {
			SCRYPT_COST: "1024",
			ALERT_ACK_GRACE_MS: "1500",
			ALERT_TICK_MS: "200",
			REDRIVE_INTERVAL_MS: "1000",
			RATE_LIMIT_IP_PER_MIN: "100000",
			RATE_LIMIT_USER_PER_MIN: "100000",
		},
	});
	let gwA: ClusterProcess;
	let gwB: ClusterProcess;

	beforeAll(async () => {
		await cluster.startInfra();
		[, gwA, gwB] = await cluster.startNodes([
			{ name: "users", services: ["users"] },
			{ name: "gw-a", services: ["api"], http: true },
			{ name: "gw-b", services: ["api"], http: true },
			{ name: "donations-1", services: ["donations", "ledger", "stats"] },
			{ name: "payments-1", services: ["payments"] },
			{ name: "alerts-1", services: ["alerts"] },
		]);
		await cluster.startNodes([
			{ name: "donations-2", services: ["donations", "ledger", "stats"] },
			{ name: "payments-2", services: ["payments"] },
			{ name: "alerts-2", services: ["alerts"] },
		]);
		for (const svc of ["donations", "payments", "alerts"]) await cluster.waitForInstances(svc, 2);
		for (const gw of [gwA, gwB]) {
			await waitFor(async () => (await client(gw.url!)("POST", "/api/donations", {})).status === 422, 15_000, `donations route on ${gw.name}`);
		}
	});

	afterAll(async () => {
		await cluster.stop();
	});

	it("pays and alerts every donation exactly once across gateways", async () => {
		const streamer = await setupStreamer(gwA.url!);
		const alerts: Array<{ id: string; donationId: string }> = [];
		const overlay = await connectSocket(gwA.url!, "/overlay", { token: streamer.overlayToken }, (s) =>
			s.on("alert", (a: { id: string; donationId: string }) => {
				if (!alerts.some((x) => x.id === a.id)) s.emit("alert:done", { id: a.id });
				alerts.push(a);
			}),
		);
		try {
			const ids: string[] = [];
			for (let i = 0; i < 6; i++) {
				const gw = i % 2 ? gwA : gwB;
				const res = await donate(gw.url!, streamer.username, { message: `stream #${i}` });
				expect(res.status, JSON.stringify(res.body)).toBe(201);
				ids.push(res.body.donation.id);
				expect((await pay(gw.url!, res.body.payment.id)).status).toBe(202);
			}
			await waitFor(() => ids.every((id) => alerts.some((a) => a.donationId === id)), 30_000, "an alert for every donation");
			for (const id of ids) {
				expect(new Set(alerts.filter((a) => a.donationId === id).map((a) => a.id)).size).toBe(1);
				const d = await client(gwB.url!)("GET", `/api/donations/${id}`, undefined, { token: streamer.token });
				expect(d.body.status).toBe("paid");
			}
		} finally {
			overlay.close();
		}
	});
});
