import { describe, expect, it } from "vitest";
import {
	alertQueue,
	channelStats,
	dlqDiscard,
	dlqList,
	dlqRetry,
	dlqShow,
	findUsers,
	healthReport,
	payoutApprove,
	payoutReject,
	payoutsPending,
	reconcilePayments,
	replCommands,
	replayAlert,
	resolveUser,
	rotateOverlay,
	runCommand,
	setBan,
	type Caller,
} from "../../../../lib/ops/repl-commands";

/** A fake broker: records calls and answers from a table of handlers. */
function fakeBroker(handlers: Record<string, (params: any) => unknown>) {
	const calls: Array<{ action: string; params: any }> = [];
	const caller: Caller = {
		async call(action, params = {}) {
			calls.push({ action, params });
			const h = handlers[action];
			if (!h) throw Object.assign(new Error(`Service '${action}' is not found.`), { type: "SERVICE_NOT_FOUND" });
			return h(params);
		},
	};
	return { caller, calls };
}

const alice = { id: "01HUSERALICE000000000000000", username: "alice", displayName: "Alice" };
const users = { "users.get": (p: any) => (p.username === "alice" ? alice : null) };

describe("repl commands", () => {
	it("resolves a username (with or without @) and names an unknown one", async () => {
		const { caller } = fakeBroker(users);
		expect((await resolveUser(caller, "@alice")).id).toBe(alice.id);
		await expect(resolveUser(caller, "nobody")).rejects.toThrow('No user named "nobody"');
		await expect(resolveUser(caller, "")).rejects.toThrow("Give a username");
	});

	it("alerts: shows the queue of the streamer resolved by username", async () => {
		const { caller, calls } = fakeBroker({
			...users,
			"alerts.queueState": () => ({
				paused: true,
				current: { id: "A1", type: "donation", status: "showing", donorName: "Bob", formattedAmount: "Rp10.000", donationId: "D1" },
				queued: [{ id: "A2", type: "donation", status: "queued", donorName: "Cy", formattedAmount: "$5.00", donationId: "D2" }],
				depth: 1,
				held: 2,
			}),
		});
		const out = await alertQueue(caller, "alice");
		expect(calls.find((c) => c.action === "alerts.queueState")?.params).toEqual({ userId: alice.id });
		expect(out).toContain("paused: yes");
		expect(out).toContain("queued: 1");
		expect(out).toContain("held: 2");
		expect(out).toMatch(/showing: A1 .*Bob.*Rp10\.000/);
		expect(out).toMatch(/queued: {2}A2 .*Cy/);
	});

	it("replay: passes the resolved user id and the donation id", async () => {
		const { caller, calls } = fakeBroker({
			...users,
			"alerts.replay": (p: any) => ({ alert: { id: "A9", type: "donation", status: "queued", donationId: p.donationId } }),
		});
		const out = await replayAlert(caller, "alice", "D7");
		expect(calls.at(-1)).toEqual({ action: "alerts.replay", params: { userId: alice.id, donationId: "D7" } });
		expect(out).toContain("A9");
		await expect(replayAlert(caller, "alice", "")).rejects.toThrow("donation id");
	});

	it("dlq: list filters, show/retry/discard call the deadletters actions", async () => {
		const msg = { id: "M1", channel: "donations.paid", group: "alerts", status: "parked", receivedAt: "2026-01-01T00:00:00.000Z" };
		const { caller, calls } = fakeBroker({
			"deadletters.list": (p: any) => (p.channel === "none" ? { items: [], nextCursor: null } : { items: [msg], nextCursor: "M1" }),
			"deadletters.get": (p: any) => ({ ...msg, id: p.id, payload: { x: 1 } }),
			"deadletters.retry": (p: any) => ({ ...msg, id: p.id, status: "retried" }),
			"deadletters.discard": (p: any) => ({ ...msg, id: p.id, status: "discarded" }),
		});
		const list = await dlqList(caller, { channel: "donations.paid" });
		expect(calls[0].params).toEqual({ status: "parked", channel: "donations.paid" });
		expect(list).toContain("M1");
		expect(list).toContain("donations.paid");
		expect(list).toContain("--cursor M1");
		expect(await dlqList(caller, { channel: "none" })).toBe("No dead-lettered messages.");
		await dlqList(caller, { status: "all" });
		expect(calls.at(-1)?.params).toEqual({});
		expect(await dlqShow(caller, "M1")).toContain("payload");
		expect(await dlqRetry(caller, "M1")).toBe('Re-published M1 to "donations.paid".');
		expect(await dlqDiscard(caller, "M1")).toContain("Discarded M1");
		await expect(dlqRetry(caller, "")).rejects.toThrow("message id");
	});

	it("reconcile: expires stale payments, or rechecks one", async () => {
		const { caller, calls } = fakeBroker({
			"payments.expireStale": () => ({ expired: 3 }),
			"payments.recheck": (p: any) => ({ id: p.paymentId, status: "paid", provider: "sandbox" }),
		});
		expect(await reconcilePayments(caller)).toBe("Expired 3 stale pending payments.");
		expect(await reconcilePayments(caller, "P1")).toBe("Payment P1: paid (sandbox)");
		expect(calls.map((c) => c.action)).toEqual(["payments.expireStale", "payments.recheck"]);
	});

	it("users / ban / unban / rotate-overlay", async () => {
		const { caller, calls } = fakeBroker({
			"users.search": () => [{ id: "U1", username: "alice", email: "a@x.test", roles: ["user"], bannedAt: "2026-01-01" }],
			"users.setBanned": (p: any) => ({ username: p.username, banned: p.banned }),
			"users.rotateOverlayTokenFor": () => ({ overlayUrl: "x" }),
		});
		expect(await findUsers(caller, "ali")).toMatch(/U1 {2}@alice {2}a@x\.test {2}user {2}BANNED/);
		expect(await setBan(caller, "@alice", true, "spam")).toContain("banned (spam)");
		expect(calls.at(-1)?.params).toEqual({ username: "alice", banned: true, reason: "spam" });
		expect(await setBan(caller, "alice", false)).toContain("no longer banned");
		expect(calls.at(-1)?.params).toEqual({ username: "alice", banned: false });
		expect(await rotateOverlay(caller, "alice")).toContain("rotated");
		expect(calls.at(-1)).toEqual({ action: "users.rotateOverlayTokenFor", params: { username: "alice" } });
	});

	it("stats: totals, top donors and goal; rejects a bad period", async () => {
		const { caller } = fakeBroker({
			"stats.stats": () => ({
				totals: [{ currency: "IDR", amount: 50000, count: 2 }],
				topDonors: [{ name: "Bob", amount: 30000, currency: "IDR", count: 1 }],
				goal: { title: "Mic", target: 100000, current: 50000, currency: "IDR" },
			}),
		});
		const out = await channelStats(caller, "alice", "7d");
		expect(out).toContain("50000 IDR in 2");
		expect(out).toContain("top donor: Bob");
		expect(out).toContain("goal: Mic  50000/100000 IDR");
		await expect(channelStats(caller, "alice", "1y")).rejects.toThrow("period");
	});

	it("health: names services without a live node, open circuits and failed readiness checks", async () => {
		const { caller } = fakeBroker({
			"ops.services": () => ({
				status: "degraded",
				missing: ["payments"],
				services: [
					{ name: "payments", required: true, available: false, nodes: [{ nodeID: "n2", available: false }], circuits: [] },
					{
						name: "users",
						required: true,
						available: true,
						nodes: [{ nodeID: "n1", available: true }],
						circuits: [{ action: "users.get", nodeID: "n1", state: "open" }],
					},
				],
			}),
			"ops.ready": () => ({
				nodeID: "n1",
				status: "not_ready",
				checks: [
					{ name: "database", ok: false, detail: "timed out after 3000 ms" },
					{ name: "channels", ok: true },
				],
			}),
		});
		const out = await healthReport(caller);
		expect(out).toContain("Cluster: degraded (no live node: payments)");
		expect(out).toContain("✗ payments (required): n2 (down)");
		expect(out).toContain("circuit open: users.get@n1");
		expect(out).toContain("Node n1: not_ready");
		expect(out).toContain("✗ database: timed out after 3000 ms");
	});

	it("runCommand prints errors as a sentence with the error type", async () => {
		const lines: string[] = [];
		await runCommand(
			async () => {
				throw Object.assign(new Error("User not found"), { type: "NOT_FOUND" });
			},
			(s) => lines.push(s),
		);
		expect(lines).toEqual(["Error: User not found [NOT_FOUND]"]);
	});

	it("replCommands wires each command to its function", async () => {
		const printed: string[] = [];
		const cmds = replCommands((s) => printed.push(s));
		const names = cmds.map((c) => c.command.split(" ")[0]);
		expect(names).toEqual(["alerts", "replay", "dlq", "reconcile", "users", "ban", "unban", "rotate-overlay", "health", "stats", "payouts"]);
		const { caller } = fakeBroker({ ...users, "users.setBanned": (p: any) => ({ username: p.username, banned: p.banned }) });
		await cmds.find((c) => c.command.startsWith("ban "))!.action(caller, { username: "alice", reason: "spam", options: {} });
		await cmds.find((c) => c.command.startsWith("dlq"))!.action(caller, { verb: "nope", options: {} });
		expect(printed[0]).toContain("@alice is banned (spam)");
		expect(printed[1]).toContain('Unknown dlq verb "nope"');
	});
});

// ---- payouts (payouts pending | approve | reject) ----

const payout = (id: string, status = "requested") => ({
	id,
	status,
	username: "alice",
	amount: 60_000_00,
	currency: "IDR",
	formattedAmount: "Rp 60.000",
	account: { method: "bank", accountNumber: "****7890" },
	createdAt: "2026-12-01T10:00:00.000Z",
});

describe("payouts repl commands", () => {
	it("pending lists the approval queue oldest first, masked", async () => {
		const { caller, calls } = fakeBroker({ "payouts.adminList": () => ({ items: [payout("P2"), payout("P1")], nextCursor: null }) });
		const out = await payoutsPending(caller);
		expect(calls[0]).toEqual({ action: "payouts.adminList", params: { status: "requested", limit: 100 } });
		expect(out.split("\n")[0]).toBe("2 payout(s) waiting for approval:");
		expect(out.indexOf("P1")).toBeLessThan(out.indexOf("P2"));
		expect(out).toContain("@alice  Rp 60.000  bank ****7890");
		expect(await payoutsPending(fakeBroker({ "payouts.adminList": () => ({ items: [] }) }).caller)).toBe("No payouts waiting for approval.");
	});

	it("approve and reject call the service with the id (and the reason)", async () => {
		const { caller, calls } = fakeBroker({
			"payouts.approve": (p) => payout(p.id, "approved"),
			"payouts.reject": (p) => payout(p.id, "rejected"),
		});
		expect(await payoutApprove(caller, "P1")).toContain("Approved: P1  approved");
		expect(await payoutReject(caller, "P2", "name does not match")).toContain("Rejected: P2  rejected");
		expect(calls.map((c) => c.params)).toEqual([{ id: "P1" }, { id: "P2", reason: "name does not match" }]);
		await expect(payoutApprove(caller, "")).rejects.toThrow("Give a payout id");
		await expect(payoutReject(caller, "P3", "")).rejects.toThrow("Give a reason");
	});

	it("is one `payouts <verb>` command; a refusal is printed as a sentence", async () => {
		const printed: string[] = [];
		const command = replCommands((s) => printed.push(s)).find((c) => c.command.startsWith("payouts "))!;
		const { caller } = fakeBroker({
			"payouts.approve": () => {
				throw Object.assign(new Error("A paid payout cannot be approved"), { type: "INVALID_PAYOUT_STATE" });
			},
		});
		await command.action(caller, { verb: "approve", id: "P9" });
		await command.action(caller, { verb: "explode" });
		expect(printed).toEqual([
			"Error: A paid payout cannot be approved [INVALID_PAYOUT_STATE]",
			'Error: Unknown payouts verb "explode": pending, approve or reject.',
		]);
	});
});
