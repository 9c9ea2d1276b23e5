import util from "node:util";

/**
 * Operator commands for the Moleculer REPL (`npm run repl`, `npm run dev`). Each command is a
 * plain function over something that can `call` actions (a broker, or a fake in tests) and
 * returns text; `replCommands()` wraps them as moleculer-repl `customCommands`.
 */

export interface Caller {
	call(action: string, params?: Record<string, unknown>, opts?: Record<string, unknown>): Promise<any>;
}

export class CommandError extends Error {}

interface UserRef {
	id: string;
	username: string;
	displayName?: string;
	bannedAt?: string | null;
}

const inspect = (v: unknown) => util.inspect(v, { depth: 5, colors: false, breakLength: 120 });

/** username (or "@username") → the user record, or a CommandError naming it. */
export async function resolveUser(caller: Caller, username: string): Promise<UserRef> {
	const name = String(username ?? "")
		.replace(/^@/, "")
		.trim();
	if (!name) throw new CommandError("Give a username.");
	const user = await caller.call("users.get", { username: name });
	if (!user) throw new CommandError(`No user named "${name}".`);
	return user;
}

function alertLine(a: any): string {
	const who = a.donorName ?? "-";
	const amount = a.formattedAmount ?? (a.amount !== undefined ? `${a.amount} ${a.currency ?? ""}`.trim() : "");
	return `${a.id}  ${a.type ?? "alert"}  ${a.status ?? ""}  ${who}  ${amount}${a.donationId ? `  donation ${a.donationId}` : ""}`.replace(/\s+$/, "");
}

/** `alerts <username>`: what is on screen, what waits, whether the queue is paused. */
export async function alertQueue(caller: Caller, username: string): Promise<string> {
	const user = await resolveUser(caller, username);
	const s = await caller.call("alerts.queueState", { userId: user.id });
	const lines = [
		`Alert queue of @${user.username} (${user.id})`,
		`  paused: ${s?.paused ? "yes" : "no"}   queued: ${s?.depth ?? s?.queued?.length ?? 0}   held: ${s?.held ?? 0}`,
	];
	lines.push(`  showing: ${s?.current ? alertLine(s.current) : "nothing"}`);
	for (const a of s?.queued ?? []) lines.push(`  queued:  ${alertLine(a)}`);
	return lines.join("\n");
}

/** `replay <username> <donationId>`: queue a paid donation's alert again. */
export async function replayAlert(caller: Caller, username: string, donationId: string): Promise<string> {
	if (!donationId) throw new CommandError("Give a donation id.");
	const user = await resolveUser(caller, username);
	const res = await caller.call("alerts.replay", { userId: user.id, donationId });
	return `Replay queued for @${user.username}: ${res?.alert ? alertLine(res.alert) : inspect(res)}`;
}

/** `dlq list [--channel c] [--status s]`. */
export async function dlqList(caller: Caller, opts: { channel?: string; status?: string; limit?: number; cursor?: string } = {}): Promise<string> {
	const params: Record<string, unknown> = { status: opts.status ?? "parked" };
	if (opts.status === "all") delete params.status;
	if (opts.channel) params.channel = opts.channel;
	if (opts.limit) params.limit = Number(opts.limit);
	if (opts.cursor) params.cursor = opts.cursor;
	const page = await caller.call("deadletters.list", params);
	if (!page?.items?.length) return "No dead-lettered messages.";
	const lines = page.items.map((m: any) => `${m.id}  ${m.status.padEnd(9)}  ${m.channel}  (group ${m.group ?? "-"})  ${m.receivedAt}`);
	if (page.nextCursor) lines.push(`more: dlq list --cursor ${page.nextCursor}`);
	return lines.join("\n");
}

export async function dlqShow(caller: Caller, id: string): Promise<string> {
	if (!id) throw new CommandError("Give a message id.");
	const m = await caller.call("deadletters.get", { id });
	return inspect(m);
}

export async function dlqRetry(caller: Caller, id: string): Promise<string> {
	if (!id) throw new CommandError("Give a message id.");
	const m = await caller.call("deadletters.retry", { id });
	return `Re-published ${m.id} to "${m.channel}".`;
}

export async function dlqDiscard(caller: Caller, id: string): Promise<string> {
	if (!id) throw new CommandError("Give a message id.");
	const m = await caller.call("deadletters.discard", { id });
	return `Discarded ${m.id} (${m.channel}).`;
}

/** `reconcile` expires stale pending payments; `reconcile <paymentId>` asks the provider again. */
export async function reconcilePayments(caller: Caller, paymentId?: string): Promise<string> {
	if (paymentId) {
		const p = await caller.call("payments.recheck", { paymentId });
		return `Payment ${paymentId}: ${p?.status ?? inspect(p)}${p?.provider ? ` (${p.provider})` : ""}`;
	}
	const res = await caller.call("payments.expireStale", {});
	const n = typeof res === "number" ? res : (res?.expired ?? res?.count ?? 0);
	return `Expired ${n} stale pending payment${n === 1 ? "" : "s"}.`;
}

/** `users <query>`: find by username or email prefix. */
export async function findUsers(caller: Caller, q: string): Promise<string> {
	if (!q) throw new CommandError("Give part of a username or email.");
	const res = await caller.call("users.search", { q });
	const items: any[] = Array.isArray(res) ? res : (res?.items ?? []);
	if (items.length === 0) return `No users match "${q}".`;
	return items
		.map((u) => `${u.id}  @${u.username}  ${u.email ?? ""}  ${(u.roles ?? []).join(",")}${u.bannedAt ? `  BANNED ${u.bannedAt}` : ""}`.replace(/\s+$/, ""))
		.join("\n");
}

export async function setBan(caller: Caller, username: string, banned: boolean, reason?: string): Promise<string> {
	const name = String(username ?? "")
		.replace(/^@/, "")
		.trim();
	if (!name) throw new CommandError("Give a username.");
	const params: Record<string, unknown> = { username: name, banned };
	if (banned && reason) params.reason = reason;
	const res = await caller.call("users.setBanned", params);
	return banned
		? `@${res.username} is banned${reason ? ` (${reason})` : ""}; sessions revoked and sockets disconnected.`
		: `@${res.username} is no longer banned.`;
}

export async function rotateOverlay(caller: Caller, username: string): Promise<string> {
	const name = String(username ?? "")
		.replace(/^@/, "")
		.trim();
	if (!name) throw new CommandError("Give a username.");
	await caller.call("users.rotateOverlayTokenFor", { username: name });
	return `Overlay token of @${name} rotated; connected overlays were disconnected and need the new URL.`;
}

/** `stats <username> [period]`: totals, top donors and goal. */
export async function channelStats(caller: Caller, username: string, period = "all"): Promise<string> {
	const name = String(username ?? "")
		.replace(/^@/, "")
		.trim();
	if (!name) throw new CommandError("Give a username.");
	if (!["all", "30d", "7d"].includes(period)) throw new CommandError("period is all, 30d or 7d.");
	const s = await caller.call("stats.stats", { username: name, period });
	const lines = [`Stats of @${name} (${period})`];
	const totals: any[] = s?.totals ?? [];
	lines.push(totals.length ? `  totals: ${totals.map((t) => `${t.amount} ${t.currency} in ${t.count}`).join(", ")}` : "  totals: no paid donations");
	for (const d of (s?.topDonors ?? []).slice(0, 5)) lines.push(`  top donor: ${d.name}  ${d.amount} ${d.currency} (${d.count})`);
	if (s?.goal) lines.push(`  goal: ${s.goal.title}  ${s.goal.current}/${s.goal.target} ${s.goal.currency}`);
	return lines.join("\n");
}

/** `health`: required services without a live node, open circuits, and this node's readiness checks. */
export async function healthReport(caller: Caller): Promise<string> {
	const [svc, ready] = await Promise.all([caller.call("ops.services", {}), caller.call("ops.ready", {})]);
	const lines = [`Cluster: ${svc.status}${svc.missing?.length ? ` (no live node: ${svc.missing.join(", ")})` : ""}`];
	for (const s of svc.services ?? []) {
		const nodes = (s.nodes ?? []).map((n: any) => `${n.nodeID}${n.available ? "" : " (down)"}`).join(", ") || "no nodes";
		const circuits = (s.circuits ?? []).map((c: any) => ` circuit ${c.state}: ${c.action}@${c.nodeID}`).join(";");
		lines.push(`  ${s.available ? "✓" : "✗"} ${s.name}${s.required ? " (required)" : ""}: ${nodes}${circuits ? ` —${circuits}` : ""}`);
	}
	lines.push(`Node ${ready.nodeID}: ${ready.status}`);
	for (const c of ready.checks ?? []) lines.push(`  ${c.ok ? "✓" : "✗"} ${c.name}${c.detail ? `: ${c.detail}` : ""}`);
	return lines.join("\n");
}

interface PayoutRow {
	id: string;
	status: string;
	username: string;
	amount: number;
	currency: string;
	formattedAmount?: string;
	account?: { method: string; accountNumber?: string; email?: string };
	createdAt: string;
}

function payoutLine(p: PayoutRow): string {
	const money = p.formattedAmount ?? `${p.amount} ${p.currency}`;
	const to = p.account ? `${p.account.method} ${p.account.accountNumber ?? p.account.email ?? ""}`.trim() : "";
	return `${p.id}  ${String(p.status).padEnd(10)}  @${p.username}  ${money}  ${to}  ${p.createdAt}`.replace(/\s+$/, "");
}

/** `payouts pending`: the approval queue, oldest first (account numbers masked, as everywhere). */
export async function payoutsPending(caller: Caller): Promise<string> {
	const page = await caller.call("payouts.adminList", { status: "requested", limit: 100 });
	const items = [...(page?.items ?? [])].reverse();
	if (!items.length) return "No payouts waiting for approval.";
	return [`${items.length} payout(s) waiting for approval:`, ...items.map((p: PayoutRow) => `  ${payoutLine(p)}`)].join("\n");
}

/** `payouts approve <id>`: approve one; the provider executes it in the background. */
export async function payoutApprove(caller: Caller, id: string): Promise<string> {
	if (!id) throw new CommandError("Give a payout id.");
	const p = await caller.call("payouts.approve", { id });
	return `Approved: ${payoutLine(p)}`;
}

/** `payouts reject <id> <reason>`: reject one; the amount goes back to the creator's balance. */
export async function payoutReject(caller: Caller, id: string, reason: string): Promise<string> {
	if (!id) throw new CommandError("Give a payout id.");
	if (!reason) throw new CommandError('Give a reason (quote it: payouts reject ID "name does not match").');
	const p = await caller.call("payouts.reject", { id, reason });
	return `Rejected: ${payoutLine(p)}`;
}

export interface CustomCommand {
	command: string;
	description: string;
	alias?: string[];
	options?: Array<{ option: string; description: string }>;
	allowUnknownOptions?: boolean;
	action(broker: Caller, args: Record<string, any>): Promise<void>;
}

/** Runs a command body and prints its text or the error (operators see a sentence, not a stack). */
export async function runCommand(body: () => Promise<string>, print: (s: string) => void = console.log): Promise<void> {
	try {
		print(await body());
	} catch (err) {
		const e = err as { message?: string; type?: string; data?: unknown };
		print(`Error: ${e.message ?? String(err)}${e.type ? ` [${e.type}]` : ""}${e.data && !(err instanceof CommandError) ? ` ${inspect(e.data)}` : ""}`);
	}
}

/** moleculer-repl `customCommands`. */
export function replCommands(print: (s: string) => void = console.log): CustomCommand[] {
	const cmd = (c: Omit<CustomCommand, "action">, body: (broker: Caller, args: Record<string, any>) => Promise<string>): CustomCommand => ({
		...c,
		action: (broker, args) => runCommand(() => body(broker, args), print),
	});
	return [
		cmd({ command: "alerts <username>", description: "Show a streamer's alert queue (showing, queued, held, paused)" }, (b, a) =>
			alertQueue(b, a.username),
		),
		cmd({ command: "replay <username> <donationId>", description: "Queue a paid donation's alert again on the streamer's overlay" }, (b, a) =>
			replayAlert(b, a.username, a.donationId),
		),
		cmd(
			{
				command: "dlq [verb] [id]",
				description: "Dead-lettered channel messages: dlq list | dlq show <id> | dlq retry <id> | dlq discard <id>",
				options: [
					{ option: "--channel <channel>", description: "only messages from this channel" },
					{ option: "--status <status>", description: "parked (default), retried, discarded or all" },
					{ option: "--cursor <cursor>", description: "next page" },
				],
			},
			(b, a) => {
				const verb = a.verb ?? "list";
				if (verb === "list") return dlqList(b, a.options ?? {});
				if (verb === "show") return dlqShow(b, a.id);
				if (verb === "retry") return dlqRetry(b, a.id);
				if (verb === "discard") return dlqDiscard(b, a.id);
				throw new CommandError(`Unknown dlq verb "${verb}": list, show, retry or discard.`);
			},
		),
		cmd({ command: "reconcile [paymentId]", description: "Expire stale pending payments, or re-check one payment with its provider" }, (b, a) =>
			reconcilePayments(b, a.paymentId),
		),
		cmd({ command: "users <query>", description: "Find users by username or email prefix" }, (b, a) => findUsers(b, a.query)),
		cmd(
			{
				command: "ban <username> [reason]",
				description: 'Ban a user: revoke sessions, disconnect sockets and overlays (quote a reason: ban bob "spam")',
			},
			(b, a) => setBan(b, a.username, true, a.reason),
		),
		cmd({ command: "unban <username>", description: "Lift a ban" }, (b, a) => setBan(b, a.username, false)),
		cmd({ command: "rotate-overlay <username>", description: "Rotate a streamer's overlay token (e.g. after it leaked on stream)" }, (b, a) =>
			rotateOverlay(b, a.username),
		),
		cmd({ command: "health", description: "Services, their nodes and circuits; readiness checks" }, (b) => healthReport(b)),
		cmd({ command: "stats <username> [period]", description: "Donation totals, top donors and goal (period: all, 30d, 7d)" }, (b, a) =>
			channelStats(b, a.username, a.period ?? "all"),
		),
		cmd(
			{ command: "payouts <verb> [id] [reason]", description: "Payouts: payouts pending | payouts approve <id> | payouts reject <id> <reason>" },
			(b, a) => {
				if (a.verb === "pending") return payoutsPending(b);
				if (a.verb === "approve") return payoutApprove(b, a.id);
				if (a.verb === "reject") return payoutReject(b, a.id, a.reason);
				throw new CommandError(`Unknown payouts verb "${a.verb}": pending, approve or reject.`);
			},
		),
	];
}
