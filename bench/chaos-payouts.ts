import { randomBytes, randomUUID } from "node:crypto";
import fs from "node:fs";
import { linkToken, type SmtpCapture } from "../test/support/smtp-capture";
import { sleep } from "./lib";

/**
 * The payout side of `npm run chaos` (bench/chaos.ts): streamers with a verified email and a bank
 * payout account request payouts of part of their available balance while donations flow and
 * nodes are SIGKILLed (each request with an Idempotency-Key, retried with the same key after a
 * 5xx or a timeout), cancel some while `requested`, race a cancel against the operator's approval
 * now and then; the operator (ADMIN_USERNAMES) approves most, rejects some, and has the sandbox
 * complete the approved ones `paid` or `failed`. `payoutFigures` then checks the payouts against
 * the ledger, the balances and the payouts nodes' own record of their transitions.
 */

export const OPERATOR = "chaos_operator";
export const PUBLIC_URL = "https://chaos.mediashar.test";
/** Rp 10.000: small enough that every streamer pays out several times in a short run. */
const MINIMUM = 10_000_00;
const FINAL = new Set(["paid", "failed", "cancelled", "rejected"]);
const REVERSED = new Set(["failed", "cancelled", "rejected"]);

/** The env the payouts part needs on every node (ADMIN_USERNAMES for users, the rest for payouts and the mailer). */
export function payoutEnv(smtpUrl: string): Record<string, string> {
	return {
		ADMIN_USERNAMES: OPERATOR,
		PUBLIC_URL,
		SMTP_URL: smtpUrl,
		MAIL_RETRY_BASE_MS: "200",
		MAIL_SWEEP_MS: "500",
		PAYOUT_HOLD_SEC: "0",
		PAYOUT_ACCOUNT_COOLDOWN_SEC: "0",
		PAYOUT_MIN_IDR: String(MINIMUM),
		PAYOUT_ENCRYPTION_KEY: randomBytes(32).toString("hex"),
		PAYOUT_SWEEP_MS: "1000",
		PAYOUT_REDRIVE_MS: "2000",
	};
}

export interface HttpRes {
	status: number;
	body: any;
}

export async function http(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpRes> {
	try {
		const res = await fetch(base + path, {
			method,
			headers: { ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...headers },
			body: body !== undefined ? JSON.stringify(body) : undefined,
			signal: AbortSignal.timeout(20_000),
		});
		const text = await res.text();
		let parsed: any = text;
		try {
			parsed = text ? JSON.parse(text) : null;
		} catch {
			/* not JSON */
		}
		return { status: res.status, body: parsed };
	} catch (err) {
		return { status: 0, body: String((err as Error).message) };
	}
}

/** Retries a request through either gateway until `done` says so or the deadline passes. */
export async function retry(
	gateways: string[],
	attempt: (base: string) => Promise<HttpRes>,
	done: (r: HttpRes) => boolean,
	deadlineMs: number,
	counter: { retries: number },
): Promise<HttpRes> {
	const deadline = Date.now() + deadlineMs;
	let i = Math.floor(Math.random() * gateways.length);
	for (;;) {
		const r = await attempt(gateways[i++ % gateways.length]);
		if (done(r) || Date.now() > deadline) return r;
		counter.retries++;
		await sleep(200 + Math.random() * 300);
	}
}

/** An answer worth trying again with the same key: no answer, a 5xx, a 429 or a key still in flight. */
const transient = (r: HttpRes) => r.status === 0 || r.status >= 500 || r.status === 429 || (r.status === 409 && r.body?.type === "IDEMPOTENCY_KEY_IN_FLIGHT");

/** Verifies a streamer's email through the link the mailer sent, and sets a bank payout account. */
export async function preparePayee(gateways: string[], smtp: SmtpCapture, username: string, token: string, counter: { retries: number }) {
	const mail = await smtp.waitFor(`${username}@example.test`, 1, 60_000);
	const auth = { Authorization: `Bearer ${token}` };
	const verify = await retry(
		gateways,
		(b) => http(b, "POST", "/api/auth/email/verify", { token: linkToken(mail, PUBLIC_URL, "/auth/verify") }),
		(r) => !transient(r),
		30_000,
		counter,
	);
	if (verify.status !== 204) throw new Error(`email verify: ${verify.status} ${JSON.stringify(verify.body)}`);
	const account = { method: "bank", currency: "IDR", holderName: `Chaos ${username}`, bankCode: "bca", accountNumber: "1234567890" };
	const put = await retry(
		gateways,
		(b) => http(b, "PUT", "/api/me/payout-account", account, auth),
		(r) => !transient(r),
		30_000,
		counter,
	);
	if (put.status !== 200) throw new Error(`payout account: ${put.status} ${JSON.stringify(put.body)}`);
}

type Plan = "paid" | "failed" | "cancel" | "reject" | "race";

export interface PayoutRecord {
	id: string;
	username: string;
	amount: number;
	plan: Plan;
	/** The operator or the streamer acted on it (a `requested` one nobody acted on is legitimately pending). */
	acted: boolean;
	/** The outcome the sandbox was told (a 202 from `/complete`). */
	completed?: "paid" | "failed";
	lastStatus?: string;
}

function pickPlan(): Plan {
	const r = Math.random();
	return r < 0.5 ? "paid" : r < 0.65 ? "failed" : r < 0.8 ? "cancel" : r < 0.92 ? "reject" : "race";
}

export class PayoutActivity {
	readonly records: PayoutRecord[] = [];
	readonly counts = {
		requested: 0,
		refused: {} as Record<string, number>,
		requestsNeverAnswered: 0,
		/** A retry of a request whose first attempt died after the payout was stored: the open payout adopted. */
		adoptedAfterCrash: 0,
		cancelled: 0,
		approved: 0,
		rejected: 0,
		raceCancelWon: 0,
		raceApproveWon: 0,
		/** Both the cancel and the approval of one payout answered success (must be 0). */
		raceBothWon: 0,
		completes202: 0,
		completeFailures: 0,
		notFinalInTime: 0,
	};

	constructor(
		private readonly gateways: string[],
		private readonly adminToken: string,
		private readonly counter: { retries: number },
		/** Called right after an approval (202) or a sandbox completion (202): the effects are then under way. */
		private readonly onAccepted: (what: "approve" | "complete") => void = () => undefined,
	) {}

	/** One streamer's payouts, one at a time (the contract allows one open payout per currency), until `stop()`. */
	async run(s: { username: string; token: string }, stop: () => boolean): Promise<void> {
		while (!stop()) {
			await sleep(1_000 + Math.random() * 2_000);
			if (stop()) break;
			await this.once(s).catch((err: Error) => console.error(`  payout of ${s.username}: ${err.message}`));
		}
	}

	/** A POST retried through either gateway with the same body and headers (so the same Idempotency-Key) while the answer is transient. */
	private post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpRes> {
		return retry(
			this.gateways,
			(b) => http(b, "POST", path, body, headers),
			(r) => !transient(r),
			60_000,
			this.counter,
		);
	}

	private gw() {
		return this.gateways[Math.floor(Math.random() * this.gateways.length)];
	}

	private async once(s: { username: string; token: string }): Promise<void> {
		const auth = { Authorization: `Bearer ${s.token}` };
		const admin = { Authorization: `Bearer ${this.adminToken}` };
		const bal = await http(this.gw(), "GET", "/api/me/balance", undefined, auth);
		const available: number = (bal.body?.balances ?? []).find((b: { currency: string }) => b.currency === "IDR")?.available ?? 0;
		if (available < MINIMUM) return;
		const amount = Math.max(MINIMUM, Math.floor((available * (0.2 + Math.random() * 0.5)) / 100) * 100);
		const key = randomUUID();
		const res = await this.post("/api/me/payouts", { amount, currency: "IDR" }, { ...auth, "Idempotency-Key": key });
		let id: string | undefined = res.status === 201 ? res.body.id : undefined;
		if (res.status === 409 && res.body?.type === "PAYOUT_IN_PROGRESS") {
			// The first attempt stored the payout and died before answering; the retry (a new run of the
			// request) finds the slot taken. The open payout of this amount is that first attempt's.
			const open = await http(this.gw(), "GET", "/api/me/payouts?status=requested", undefined, auth);
			const mine = (open.body?.items ?? []).find((p: { id: string; amount: number }) => p.amount === amount && !this.records.some((x) => x.id === p.id));
			if (mine) {
				id = mine.id;
				this.counts.adoptedAfterCrash++;
			}
		}
		if (!id) {
			if (res.status === 0 || res.status >= 500) this.counts.requestsNeverAnswered++;
			else this.counts.refused[res.body?.type ?? String(res.status)] = (this.counts.refused[res.body?.type ?? String(res.status)] ?? 0) + 1;
			return;
		}
		this.counts.requested++;
		const rec: PayoutRecord = { id, username: s.username, amount, plan: pickPlan(), acted: false };
		this.records.push(rec);
		await sleep(Math.random() * 500);

		// acted on once an action had an answer (an action whose retries all failed leaves it to the operator: pending)
		const act = async (path: string, body: unknown, headers: Record<string, string>) => {
			const r = await this.post(path, body, headers);
			if ((r.status >= 200 && r.status < 300) || r.status === 409) rec.acted = true;
			return r;
		};
		const cancel = () => act(`/api/me/payouts/${id}/cancel`, undefined, auth);
		const approve = () => act(`/api/admin/payouts/${id}/approve`, undefined, admin);
		let complete: "paid" | "failed" | null = null;
		if (rec.plan === "cancel") {
			if ((await cancel()).status === 200) this.counts.cancelled++;
		} else if (rec.plan === "reject") {
			const r = await act(`/api/admin/payouts/${id}/reject`, { reason: "chaos: account name does not match" }, admin);
			if (r.status === 200) this.counts.rejected++;
		} else if (rec.plan === "race") {
			// The streamer cancels while the operator approves: exactly one of them may win.
			const [c, a] = await Promise.all([cancel(), approve()]);
			if (c.status === 200) this.counts.raceCancelWon++;
			if (c.status === 200 && a.status === 202) this.counts.raceBothWon++;
			if (a.status === 202) {
				this.onAccepted("approve");
				this.counts.raceApproveWon++;
				complete = "paid";
			}
		} else {
			const a = await approve();
			// 409 after a lost answer: the first attempt approved it
			if (a.status === 202 || (a.status === 409 && ["approved", "processing"].includes(a.body?.data?.status))) {
				if (a.status === 202) {
					this.onAccepted("approve");
					this.counts.approved++;
				}
				complete = rec.plan;
			}
		}
		if (complete) {
			const outcome = complete;
			const c = await this.post(`/api/payouts/sandbox/${id}/complete`, { outcome });
			if (c.status === 202) {
				rec.completed = outcome;
				this.counts.completes202++;
				this.onAccepted("complete");
			} else if (!(c.status === 409 && FINAL.has(c.body?.data?.status))) this.counts.completeFailures++;
		}
		// the next payout only once this one is final (one open payout per currency)
		const deadline = Date.now() + 60_000;
		while (Date.now() < deadline) {
			const r = await http(this.gw(), "GET", `/api/me/payouts/${id}`, undefined, auth);
			rec.lastStatus = r.body?.status ?? rec.lastStatus;
			if (rec.lastStatus && FINAL.has(rec.lastStatus)) return;
			await sleep(300);
		}
		this.counts.notFinalInTime++;
	}
}

interface PayoutView {
	id: string;
	status: string;
	amount: number;
}
interface LedgerEntryView {
	kind: string;
	amount: number;
	payoutId?: string | null;
	donationId?: string | null;
}

/** Every page of a list route. */
export async function allPages<T>(base: string, path: string, token: string): Promise<T[]> {
	const out: T[] = [];
	let cursor: string | null = null;
	do {
		const sep = path.includes("?") ? "&" : "?";
		const r = await http(base, "GET", `${path}${sep}limit=100${cursor ? `&cursor=${cursor}` : ""}`, undefined, { Authorization: `Bearer ${token}` });
		if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
		out.push(...(r.body.items as T[]));
		cursor = r.body.nextCursor;
	} while (cursor);
	return out;
}

/** Whether every payout the run acted on has reached a final status (the settle loop waits on it). */
export async function payoutsSettled(base: string, activity: PayoutActivity, tokens: Map<string, string>): Promise<boolean> {
	let settled = true;
	for (const rec of activity.records) {
		if (rec.lastStatus && FINAL.has(rec.lastStatus)) continue;
		const r = await http(base, "GET", `/api/me/payouts/${rec.id}`, undefined, { Authorization: `Bearer ${tokens.get(rec.username)}` });
		if (r.status === 200) rec.lastStatus = r.body.status;
		if (!legitimatelyPending(rec, rec.lastStatus) && !FINAL.has(rec.lastStatus ?? "")) settled = false;
	}
	return settled;
}

/** `requested` with nobody having acted on it, or `processing` without the sandbox ever told an outcome: waiting, not stuck. */
function legitimatelyPending(rec: PayoutRecord | undefined, status: string | undefined): boolean {
	if (status === "requested") return !rec?.acted;
	if (status === "processing" || status === "approved") return !rec?.completed;
	return false;
}

/** "Payout <id>: <from> → paid" lines of the payouts nodes: how often each payout was moved to paid. */
export function paidTransitions(logFiles: string[]): Map<string, number> {
	const out = new Map<string, number>();
	for (const file of logFiles) {
		if (!fs.existsSync(file)) continue;
		for (const m of fs.readFileSync(file, "utf8").matchAll(/Payout (\S+): \w+ → paid\b/g)) out.set(m[1], (out.get(m[1]) ?? 0) + 1);
	}
	return out;
}

export interface StreamerLedger {
	username: string;
	token: string;
	paidDonationsSum: number;
}

/** The payout figures (all must be 0) and the per-streamer detail, from the API after settling. */
export async function payoutFigures(base: string, streamers: StreamerLedger[], activity: PayoutActivity, logFiles: string[]) {
	const byId = new Map(activity.records.map((r) => [r.id, r]));
	const figures = {
		payoutsStuck: 0,
		payoutDebitsMinusNetRequested: 0,
		payoutDebitAmountMinusNetRequested: 0,
		payoutsPaidTwice: 0,
		balancesBelowZero: 0,
		balanceNotLedgerSum: 0,
		reversalsWrittenTwice: 0,
		/** A cancel (200) and an approval (202) of the same payout both answered success. */
		cancelAndApprovalBothWon: activity.counts.raceBothWon,
		/** The sandbox was told `paid` (202), yet the payout ended reversed: money out and credited back. */
		sandboxPaidButReversed: 0,
	};
	const detail: Record<string, unknown>[] = [];
	const statuses: Record<string, number> = {};
	let pending = 0;
	let balanceVsDonationsMinusPayouts = 0;
	const paid = paidTransitions(logFiles);
	let paidWithoutBeingTold = 0;
	for (const s of streamers) {
		const payouts = await allPages<PayoutView>(base, "/api/me/payouts", s.token);
		const entries = await allPages<LedgerEntryView>(base, "/api/me/ledger", s.token);
		const bal = await http(base, "GET", "/api/me/balance", undefined, { Authorization: `Bearer ${s.token}` });
		const b = (bal.body?.balances ?? []).find((x: { currency: string }) => x.currency === "IDR") ?? { amount: 0, available: 0 };
		const requested = payouts.length;
		const reversed = payouts.filter((p) => REVERSED.has(p.status));
		const requestedSum = payouts.reduce((a, p) => a + p.amount, 0);
		const reversedSum = reversed.reduce((a, p) => a + p.amount, 0);
		const debits = entries.filter((e) => e.kind === "payout");
		const reversals = entries.filter((e) => e.kind === "payout_reversal");
		const perPayout = new Map<string, number>();
		for (const e of reversals) perPayout.set(e.payoutId ?? "", (perPayout.get(e.payoutId ?? "") ?? 0) + 1);
		figures.reversalsWrittenTwice += [...perPayout.values()].filter((n) => n > 1).length;
		// ledger payout entries (debits net of reversals) against payouts requested − reversed
		figures.payoutDebitsMinusNetRequested += Math.abs(debits.length - reversals.length - (requested - reversed.length));
		const ledgerNet = -(debits.reduce((a, e) => a + e.amount, 0) + reversals.reduce((a, e) => a + e.amount, 0));
		figures.payoutDebitAmountMinusNetRequested += Math.abs(ledgerNet - (requestedSum - reversedSum));
		for (const p of payouts) {
			statuses[p.status] = (statuses[p.status] ?? 0) + 1;
			const rec = byId.get(p.id);
			if (!FINAL.has(p.status)) {
				if (legitimatelyPending(rec, p.status)) pending++;
				else figures.payoutsStuck++;
			}
			if ((paid.get(p.id) ?? 0) > 1) figures.payoutsPaidTwice++;
			if (p.status === "paid" && rec && rec.completed !== "paid") paidWithoutBeingTold++;
			if (rec?.completed === "paid" && REVERSED.has(p.status)) figures.sandboxPaidButReversed++;
		}
		const ledgerSum = entries.reduce((a, e) => a + e.amount, 0);
		if (b.amount < 0 || b.available < 0) figures.balancesBelowZero++;
		if (b.amount !== ledgerSum) figures.balanceNotLedgerSum++;
		if (b.amount !== s.paidDonationsSum - (requestedSum - reversedSum)) balanceVsDonationsMinusPayouts++;
		detail.push({
			streamer: s.username,
			payouts: requested,
			reversed: reversed.length,
			paidOut: payouts.filter((p) => p.status === "paid").reduce((a, p) => a + p.amount, 0),
			debitEntries: debits.length,
			reversalEntries: reversals.length,
			ledgerSum,
			balance: b.amount,
			available: b.available,
		});
	}
	return { figures, detail, statuses, pending, balanceVsDonationsMinusPayouts, paidWithoutBeingTold };
}
