import { describe, expect, it } from "vitest";
import { payoutApprove, payoutReject, payoutsPending, replCommands, type Caller } from "../../../../lib/ops/repl-commands";

/** The payouts REPL commands (lib/ops/repl-commands.ts) against a recording caller. */
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
