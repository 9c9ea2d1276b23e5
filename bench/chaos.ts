import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { io as ioClient, type Socket } from "socket.io-client";
import { Cluster, type ClusterProcess, type NodeSpec } from "../test/support/cluster";
import { PgServer } from "../test/support/pg-server";
import { SmtpCapture } from "../test/support/smtp-capture";
import { round, sleep, writeResult } from "./lib";
import { OPERATOR, PayoutActivity, http, payoutEnv, payoutFigures, payoutsSettled, preparePayee, retry, type HttpRes } from "./chaos-payouts";

/**
 * `npm run chaos`: a real cluster (its own nats-server with JetStream and redis-server, its own
 * PostgreSQL server started with initdb on a free port, two gateways, two instances of users,
 * payments, donations, alerts and payouts sharing that database, one mailer + notifications node
 * and a local SMTP server for the email verification links) takes CHAOS_DONATIONS (default 1,000)
 * donations paid through the sandbox while a loop SIGKILLs a random non-gateway node every few
 * seconds and starts it again, and the PostgreSQL server itself is stopped (immediate: clients
 * see their connections die) and started again once, when CHAOS_PG_RESTART_AT (default 40 %) of
 * the donations are done; and, every CHAOS_COMPLETE_KILL_EVERY (default 50) sandbox `/complete`
 * calls answered 202, a payments node is SIGKILLed right then, while that webhook is being delivered.
 * Meanwhile the streamers (email verified, a bank payout account set) request payouts of part of
 * their available balance, cancel some, and an operator approves or rejects them and has the
 * sandbox complete them `paid` or `failed` (bench/chaos-payouts.ts).
 *
 * Afterwards it prints, and exits non-zero unless every must-be-0 figure is 0:
 *  - paid donations lost (the sandbox accepted the payment, the donation never became paid)
 *  - donations paid twice (more than one ledger credit)
 *  - ledger credits ≠ paid donations
 *  - paid donations never alerted on the connected overlay
 *  - alerts shown twice after client dedupe (two different alert ids for one donation)
 *  - sandbox 202s not settled (a `/complete` answered 202 whose payment did not end paid)
 *  - balances ≠ paid donations − payouts not given back
 *  - payouts stuck: not final, and not legitimately pending (`requested` that nobody acted on,
 *    `processing` that the sandbox was never told an outcome for)
 *  - ledger payout entries (debits − reversal credits) − (payouts requested − reversed), in count and amount
 *  - payouts paid twice: moved to paid more than once (the payouts nodes' "Payout <id>: … → paid"
 *    log lines; the sandbox provider keeps no record of its own: its order is idempotent by payout
 *    id and it pays when `/complete` says so), or told `paid` by the sandbox yet reversed
 *  - balances below zero, balances ≠ sum of their ledger
 *  - reversal credits written more than once for one payout
 * and, for information, how many duplicate alert deliveries the server sent (same alert id again,
 * which the overlay drops by id as the contract says).
 */

const TOTAL = Number(process.env.CHAOS_DONATIONS || 1_000);
const STREAMERS = Number(process.env.CHAOS_STREAMERS || 4);
const WORKERS = Number(process.env.CHAOS_WORKERS || 8);
const KILL_PAUSE_MS = [Number(process.env.CHAOS_KILL_MIN_MS || 2_000), Number(process.env.CHAOS_KILL_MAX_MS || 5_000)];
const SETTLE_TIMEOUT_MS = Number(process.env.CHAOS_SETTLE_MS || 180_000);
const COMPLETE_KILL_EVERY = Number(process.env.CHAOS_COMPLETE_KILL_EVERY || 50);
const PG_RESTART_AT = Number(process.env.CHAOS_PG_RESTART_AT ?? 0.4);
const PAYOUT_KILL_EVERY = Number(process.env.CHAOS_PAYOUT_KILL_EVERY || 5);
const PG_DOWN_MS = Number(process.env.CHAOS_PG_DOWN_MS || 3_000);

const ENV = {
	SCRYPT_COST: "1024",
	ALERT_ACK_GRACE_MS: "1500",
	ALERT_TICK_MS: "200",
	REDRIVE_INTERVAL_MS: "1000",
	CHANNELS_ACK_WAIT_MS: "3000",
	IDEMPOTENCY_LEASE_MS: "3000",
	PAYMENT_SWEEP_SEC: "2",
	RATE_LIMIT_IP_PER_MIN: "100000000",
	RATE_LIMIT_USER_PER_MIN: "100000000",
	SOCKET_MAX_PER_IP: "100000000",
	SOCKET_HANDSHAKES_PER_IP_PER_MIN: "100000000",
};

const KILLABLE: NodeSpec[] = [
	{ name: "users-1", services: ["users"] },
	{ name: "users-2", services: ["users"] },
	{ name: "payments-1", services: ["payments"] },
	{ name: "payments-2", services: ["payments"] },
	{ name: "donations-1", services: ["donations", "ledger", "stats"] },
	{ name: "donations-2", services: ["donations", "ledger", "stats"] },
	{ name: "alerts-1", services: ["alerts"] },
	{ name: "alerts-2", services: ["alerts"] },
	{ name: "payouts-1", services: ["payouts"] },
	{ name: "payouts-2", services: ["payouts"] },
];
/** The mailer (email verification links) and the consumers of `payouts.paid` / `payouts.failed`; not killed. */
const STEADY: NodeSpec[] = [{ name: "notify", services: ["mailer", "notifications"] }];

function startedLines(file: string): number {
	return fs.existsSync(file) ? (fs.readFileSync(file, "utf8").match(/started successfully/g) ?? []).length : 0;
}

interface Streamer {
	username: string;
	token: string;
	overlayToken: string;
	gateway: string;
	socket?: Socket;
	/** alert id → times received */
	alertIds: Map<string, number>;
	/** donation id → distinct alert ids */
	byDonation: Map<string, Set<string>>;
}

function openOverlay(s: Streamer): Promise<void> {
	return new Promise((resolve, reject) => {
		const socket = ioClient(`${s.gateway}/overlay`, {
			auth: { token: s.overlayToken },
			transports: ["websocket"],
			reconnection: true,
			reconnectionDelay: 200,
			forceNew: true,
		});
		socket.on("alert", (a: { id: string; donationId: string | null }) => {
			s.alertIds.set(a.id, (s.alertIds.get(a.id) ?? 0) + 1);
			if (a.donationId) {
				if (!s.byDonation.has(a.donationId)) s.byDonation.set(a.donationId, new Set());
				s.byDonation.get(a.donationId)!.add(a.id);
			}
			socket.emit("alert:done", { id: a.id });
		});
		socket.once("connect", () => resolve());
		socket.once("connect_error", reject);
		s.socket = socket;
	});
}

async function main() {
	const started = Date.now();
	const pgServer = await new PgServer().init();
	const smtp = new SmtpCapture();
	const cluster = new Cluster({ redis: true, env: { ...ENV, ...payoutEnv(await smtp.listen()) }, postgres: pgServer.url });
	const pgRestarts: { at: number; downMs: number }[] = [];
	let pgRestart: Promise<void> | null = null;
	const restartPostgres = async () => {
		const at = Date.now();
		process.stdout.write(`  ✂ PostgreSQL server stopped (immediate)\n`);
		await pgServer.stop("immediate");
		await sleep(PG_DOWN_MS);
		await pgServer.start();
		pgRestarts.push({ at, downMs: Date.now() - at });
		process.stdout.write(`  PostgreSQL server back after ${Date.now() - at} ms\n`);
	};
	const running = new Map<string, ClusterProcess>();
	const kills: { node: string; at: number; restartedInMs?: number; during?: string }[] = [];
	const restarting = new Set<string>();
	const pendingKills: Promise<void>[] = [];
	let stopChaos = false;
	const counters = { retries: 0 };
	try {
		console.log(
			`Chaos: ${TOTAL} donations, ${STREAMERS} streamers, ${WORKERS} concurrent donors; SIGKILL of a random non-gateway node every ${KILL_PAUSE_MS[0] / 1000}–${KILL_PAUSE_MS[1] / 1000} s`,
		);
		await cluster.startInfra();
		const first = await cluster.startNodes([
			{ name: "gw-a", services: ["api"], http: true },
			{ name: "gw-b", services: ["api"], http: true },
			...STEADY,
			...KILLABLE.filter((n) => n.name.endsWith("-1")),
		]);
		// the second instances once the first have created their durable consumers
		const second = await cluster.startNodes(KILLABLE.filter((n) => n.name.endsWith("-2")));
		for (const p of [...first, ...second]) running.set(p.name, p);
		for (const svc of ["users", "donations", "payments", "alerts", "payouts"]) await cluster.waitForInstances(svc, 2, 60_000);
		const gateways = [running.get("gw-a")!.url!, running.get("gw-b")!.url!];
		for (const gw of gateways) {
			const deadline = Date.now() + 30_000;
			while ((await http(gw, "POST", "/api/donations", {})).status !== 422 && Date.now() < deadline) await sleep(200);
		}
		console.log(
			`cluster up in ${round((Date.now() - started) / 1000, 1)} s: ${[...running.keys()].join(", ")} + nats-server, redis-server, PostgreSQL on port ${pgServer.port}`,
		);

		// streamers and their overlays (half on each gateway)
		const streamers: Streamer[] = [];
		for (let i = 0; i < STREAMERS; i++) {
			const username = `chaos_${i}_${Math.random().toString(36).slice(2, 6)}`;
			const reg = await retry(
				gateways,
				(b) => http(b, "POST", "/api/auth/register", { username, email: `${username}@example.test`, password: "correct horse battery" }),
				(r) => r.status === 201,
				30_000,
				counters,
			);
			if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
			const patch = await http(
				gateways[0],
				"PATCH",
				"/api/users/me",
				{ settings: { donations: { enabled: true, minAmount: 1_000_00, currency: "IDR" } } },
				{ Authorization: `Bearer ${reg.body.accessToken}` },
			);
			if (patch.status !== 200) throw new Error(`settings: ${patch.status}`);
			const s: Streamer = {
				username,
				token: reg.body.accessToken,
				overlayToken: patch.body.overlayToken,
				gateway: gateways[i % 2],
				alertIds: new Map(),
				byDonation: new Map(),
			};
			await openOverlay(s);
			await preparePayee(gateways, smtp, username, s.token, counters);
			streamers.push(s);
		}
		// the operator: ADMIN_USERNAMES gives it the admin role from sign-up
		const op = await retry(
			gateways,
			(b) => http(b, "POST", "/api/auth/register", { username: OPERATOR, email: `${OPERATOR}@example.test`, password: "correct horse battery" }),
			(r) => r.status === 201,
			30_000,
			counters,
		);
		if (op.status !== 201 || !op.body.user.roles.includes("admin")) throw new Error(`operator: ${op.status} ${JSON.stringify(op.body)}`);
		// every PAYOUT_KILL_EVERY-th approval or sandbox completion answered 202, a payouts node is
		// SIGKILLed right then, while the order to the provider or the webhook is under way
		const payoutsNodes = KILLABLE.filter((n) => n.services.includes("payouts"));
		let payoutAccepts = 0;
		const payouts = new PayoutActivity(gateways, op.body.accessToken, counters, (what) => {
			if (++payoutAccepts % PAYOUT_KILL_EVERY === 0)
				pendingKills.push(killAndRestart(payoutsNodes[Math.floor(Math.random() * payoutsNodes.length)], `after a payout ${what} 202`));
		});
		let stopPayouts = false;

		/** SIGKILLs one node and starts it again (skipped if it is already down or restarting). */
		const killAndRestart = async (spec: NodeSpec, during?: string) => {
			const victim = running.get(spec.name);
			if (!victim?.running() || restarting.has(spec.name)) return;
			restarting.add(spec.name);
			try {
				victim.signal("SIGKILL");
				await victim.exited;
				const at = Date.now();
				const entry: { node: string; at: number; restartedInMs?: number; during?: string } = { node: spec.name, at, during };
				kills.push(entry);
				process.stdout.write(`  ✂ ${spec.name} killed${during ? ` ${during}` : ""} (${kills.length})\n`);
				try {
					const before = startedLines(victim.logFile);
					const proc = await cluster.startNode(spec, 90_000);
					// the log file is appended to: wait for this process's own "started successfully"
					while (startedLines(proc.logFile) <= before && proc.running()) await sleep(100);
					running.set(spec.name, proc);
					entry.restartedInMs = Date.now() - at;
				} catch (err) {
					console.error(`  restart of ${spec.name} failed: ${(err as Error).message.slice(0, 300)}`);
				}
			} finally {
				restarting.delete(spec.name);
			}
		};

		// the chaos loop
		const chaos = (async () => {
			while (!stopChaos) {
				await sleep(KILL_PAUSE_MS[0] + Math.random() * (KILL_PAUSE_MS[1] - KILL_PAUSE_MS[0]));
				if (stopChaos) break;
				await killAndRestart(KILLABLE[Math.floor(Math.random() * KILLABLE.length)]);
			}
		})();

		// the donations
		const created: { donationId: string; paymentId: string; streamer: Streamer; amount: number; paid?: boolean; got202?: boolean }[] = [];
		const paymentsNodes = KILLABLE.filter((n) => n.services.includes("payments"));
		let completes202 = 0;
		const alreadyPaid = (r: HttpRes) => r.status === 409 && r.body?.data?.status === "paid";
		const createFailures: HttpRes[] = [];
		const payFailures: HttpRes[] = [];
		let next = 0;
		let finished = 0;
		const t0 = Date.now();
		// the streamers' payouts, while the donations flow
		const payoutLoops = Promise.all(streamers.map((s) => payouts.run(s, () => stopPayouts)));
		await Promise.all(
			Array.from({ length: WORKERS }, async () => {
				while (next < TOTAL) {
					const i = next++;
					const s = streamers[i % streamers.length];
					const key = randomUUID();
					const amount = 1_000_00 + (i % 50) * 1_000_00;
					const res = await retry(
						gateways,
						(b) =>
							http(
								b,
								"POST",
								"/api/donations",
								{ to: s.username, amount, currency: "IDR", provider: "sandbox", donorName: `Donor ${i}`, message: `#${i}` },
								{ "Idempotency-Key": key },
							),
						(r) => r.status === 201 || (r.status >= 400 && r.status < 500 && r.status !== 409 && r.status !== 429),
						120_000,
						counters,
					);
					if (res.status !== 201) {
						createFailures.push(res);
						continue;
					}
					const c: (typeof created)[number] = { donationId: res.body.donation.id, paymentId: res.body.payment.id, streamer: s, amount };
					created.push(c);
					const paid = await retry(
						gateways,
						(b) => http(b, "POST", `/api/payments/sandbox/${c.paymentId}/complete`, { outcome: "settlement" }),
						(r) => r.status === 202 || alreadyPaid(r) || (r.status >= 400 && r.status < 500 && r.status !== 409 && r.status !== 429),
						120_000,
						counters,
					);
					// a retry after a lost answer finds the payment already paid: that is the first attempt's success
					if (paid.status === 202 || alreadyPaid(paid)) c.paid = true;
					else payFailures.push(paid);
					if (paid.status === 202) {
						c.got202 = true;
						// A 202 promises the webhook: kill a payments node while it is being delivered.
						if (++completes202 % COMPLETE_KILL_EVERY === 0)
							pendingKills.push(
								killAndRestart(paymentsNodes[Math.floor(Math.random() * paymentsNodes.length)], "during a sandbox /complete delivery"),
							);
					}
					if (++finished >= TOTAL * PG_RESTART_AT && PG_RESTART_AT > 0 && !pgRestart) pgRestart = restartPostgres();
					if (finished % 100 === 0) process.stdout.write(`  ${finished} donations created and paid (${round((Date.now() - t0) / 1000, 0)} s)\n`);
				}
			}),
		);
		stopPayouts = true;
		await payoutLoops;
		const loadSec = (Date.now() - t0) / 1000;
		await pgRestart;
		stopChaos = true;
		await chaos;
		await Promise.all(pendingKills);
		// every node back up before the final reads
		for (const spec of KILLABLE) if (!running.get(spec.name)?.running()) running.set(spec.name, await cluster.startNode(spec, 90_000));
		console.log(`load done in ${round(loadSec, 1)} s with ${kills.length} kills; settling…`);

		const accepted = created.filter((c) => c.paid);
		const unconfirmed = created.filter((c) => !c.paid);
		const status = new Map<string, string>();
		const deadline = Date.now() + SETTLE_TIMEOUT_MS;
		const alerted = () => created.filter((c) => status.get(c.donationId) === "paid" && c.streamer.byDonation.has(c.donationId)).length;
		while (Date.now() < deadline) {
			for (const c of created) {
				if (status.get(c.donationId) === "paid") continue;
				const r = await http(gateways[0], "GET", `/api/donations/${c.donationId}`, undefined, { Authorization: `Bearer ${c.streamer.token}` });
				if (r.status === 200) status.set(c.donationId, r.body.status);
			}
			const paidNow = accepted.filter((c) => status.get(c.donationId) === "paid").length;
			const payoutsDone = await payoutsSettled(gateways[0], payouts, new Map(streamers.map((s) => [s.username, s.token])));
			if (paidNow === accepted.length && alerted() === created.filter((c) => status.get(c.donationId) === "paid").length && payoutsDone) break;
			await sleep(1000);
		}

		// ledger and balance per streamer
		const credits = new Map<string, number>();
		let creditEntries = 0;
		const balances: { streamer: string; paidSum: number; creditSum: number; balance: number }[] = [];
		for (const s of streamers) {
			let cursor: string | null = null;
			let creditSum = 0;
			do {
				const r = await http(gateways[1], "GET", `/api/me/ledger?limit=100${cursor ? `&cursor=${cursor}` : ""}`, undefined, {
					Authorization: `Bearer ${s.token}`,
				});
				if (r.status !== 200) throw new Error(`ledger: ${r.status} ${JSON.stringify(r.body)}`);
				for (const e of r.body.items) {
					if (e.kind !== "credit") continue;
					credits.set(e.donationId, (credits.get(e.donationId) ?? 0) + 1);
					creditEntries++;
					creditSum += e.amount;
				}
				cursor = r.body.nextCursor;
			} while (cursor);
			const bal = await http(gateways[0], "GET", "/api/me/balance", undefined, { Authorization: `Bearer ${s.token}` });
			const expected = created.filter((c) => c.streamer === s && status.get(c.donationId) === "paid").reduce((a, c) => a + c.amount, 0);
			const got = (bal.body?.balances ?? []).find((b: any) => b.currency === "IDR")?.amount ?? 0;
			balances.push({ streamer: s.username, paidSum: expected, creditSum, balance: got });
		}
		// the payouts against the ledger, the balances and the payouts nodes' record of their transitions
		const payoutResult = await payoutFigures(
			gateways[1],
			streamers.map((s) => ({ ...s, paidDonationsSum: balances.find((b) => b.streamer === s.username)!.paidSum })),
			payouts,
			KILLABLE.filter((n) => n.services.includes("payouts")).map((n) => running.get(n.name)!.logFile),
		);
		// the balance is what the paid donations brought in minus the payouts not given back
		const balanceMismatch = payoutResult.balanceVsDonationsMinusPayouts;

		// every sandbox /complete answered 202 must have ended with its payment paid
		let sandbox202NotSettled = 0;
		for (const c of created.filter((x) => x.got202)) {
			const r = await http(gateways[0], "GET", `/api/payments/${c.paymentId}`);
			if (r.body?.status !== "paid") sandbox202NotSettled++;
		}

		const paidDonations = created.filter((c) => status.get(c.donationId) === "paid");
		const figures = {
			paidDonationsLost: accepted.filter((c) => status.get(c.donationId) !== "paid").length,
			donationsPaidTwice: [...credits.values()].filter((n) => n > 1).length,
			ledgerCreditsMinusPaid: creditEntries - paidDonations.length,
			paidNeverAlerted: paidDonations.filter((c) => !c.streamer.byDonation.has(c.donationId)).length,
			alertsShownTwiceAfterDedupe: streamers.reduce((n, s) => n + [...s.byDonation.values()].filter((ids) => ids.size > 1).length, 0),
			sandbox202NotSettled,
		};
		const duplicatesSent = streamers.reduce((n, s) => n + [...s.alertIds.values()].reduce((a, k) => a + (k - 1), 0), 0);
		const mustBeZero = Object.values(figures).every((v) => v === 0) && Object.values(payoutResult.figures).every((v) => v === 0) && balanceMismatch === 0;
		const result = {
			at: new Date().toISOString(),
			command: "npm run chaos",
			setup: {
				donations: TOTAL,
				streamers: STREAMERS,
				workers: WORKERS,
				nodes: [...running.keys()],
				infrastructure: "nats-server -js, redis-server, PostgreSQL (own server, stopped and started once mid-run)",
				killPauseMs: KILL_PAUSE_MS,
			},
			created: created.length,
			paymentAccepted: accepted.length,
			createFailures: createFailures.length,
			payFailures: payFailures.length,
			failureSamples: [...createFailures, ...payFailures].slice(0, 5),
			clientRetries: counters.retries,
			kills: kills.length,
			killedNodes: kills.map((k) => k.node),
			killsDuringComplete: kills.filter((k) => k.during?.includes("/complete delivery")).length,
			killsAfterPayout202: kills.filter((k) => k.during?.includes("payout")).length,
			sandbox202s: created.filter((c) => c.got202).length,
			postgresRestarts: pgRestarts,
			meanRestartMs: Math.round(kills.reduce((a, k) => a + (k.restartedInMs ?? 0), 0) / Math.max(1, kills.length)),
			loadSec: round(loadSec, 1),
			figures,
			payoutFigures: payoutResult.figures,
			payouts: {
				statuses: payoutResult.statuses,
				legitimatelyPending: payoutResult.pending,
				paidWithoutSandboxPaid: payoutResult.paidWithoutBeingTold,
				...payouts.counts,
				perStreamer: payoutResult.detail,
			},
			ledgerCreditEntries: creditEntries,
			balanceMismatches: balanceMismatch,
			balances,
			paidWithoutConfirmedPayRequest: unconfirmed.filter((c) => status.get(c.donationId) === "paid").length,
			duplicateAlertDeliveriesSent: duplicatesSent,
			pass:
				mustBeZero &&
				payouts.counts.requested > 0 &&
				createFailures.length === 0 &&
				payFailures.length === 0 &&
				(PG_RESTART_AT <= 0 || pgRestarts.length === 1),
		};
		writeResult("chaos", result);
		(await import("./report")).writeReport();
		console.log(`
created ${created.length}/${TOTAL}, payment accepted ${accepted.length}, client retries ${counters.retries}, ${kills.length} SIGKILLs (${[...new Set(result.killedNodes)].join(", ")}), PostgreSQL restarts ${pgRestarts.length} (${pgRestarts.map((r) => `${r.downMs} ms down`).join(", ")})
paid donations lost:                     ${figures.paidDonationsLost}
donations paid twice:                    ${figures.donationsPaidTwice}
ledger credits − paid donations:         ${figures.ledgerCreditsMinusPaid}
paid donations never alerted:            ${figures.paidNeverAlerted}
alerts shown twice after client dedupe:  ${figures.alertsShownTwiceAfterDedupe}
sandbox 202s not settled:                ${figures.sandbox202NotSettled} (of ${result.sandbox202s}; ${result.killsDuringComplete} payments-node kills during /complete)
balances ≠ paid donations − payouts:     ${balanceMismatch}
payouts: ${payouts.counts.requested} requested (${Object.entries(payoutResult.statuses)
			.map(([k, n]) => `${n} ${k}`)
			.join(
				", ",
			)}; ${payoutResult.pending} legitimately pending), ${payouts.counts.completes202} sandbox completions, race cancel/approve won ${payouts.counts.raceCancelWon}/${payouts.counts.raceApproveWon}, refused ${JSON.stringify(payouts.counts.refused)}
payouts stuck (not final, not pending):  ${payoutResult.figures.payoutsStuck}
ledger payout entries − (requested − reversed): ${payoutResult.figures.payoutDebitsMinusNetRequested} (amount ${payoutResult.figures.payoutDebitAmountMinusNetRequested})
payouts paid twice:                      ${payoutResult.figures.payoutsPaidTwice} (sandbox told paid, payout reversed: ${payoutResult.figures.sandboxPaidButReversed})
balances below zero:                     ${payoutResult.figures.balancesBelowZero}
balances ≠ sum of the ledger:            ${payoutResult.figures.balanceNotLedgerSum}
reversal credits written twice:          ${payoutResult.figures.reversalsWrittenTwice}
cancel and approval both won:            ${payoutResult.figures.cancelAndApprovalBothWon} (${result.killsAfterPayout202} payouts-node kills right after a payout 202)
duplicate alert deliveries sent (deduped by id on the overlay): ${duplicatesSent}
create/pay requests that never succeeded: ${createFailures.length}/${payFailures.length}
${result.pass ? "PASS" : "FAIL"} in ${round((Date.now() - started) / 1000, 0)} s`);
		for (const s of streamers) s.socket?.close();
		await cluster.stop();
		await smtp.close();
		await pgServer.destroy();
		process.exit(result.pass ? 0 : 1);
	} catch (err) {
		stopChaos = true;
		console.error(err);
		console.error(cluster.logs(20));
		await cluster.stop();
		await smtp.close();
		await pgServer.destroy();
		process.exit(2);
	}
}

void main();
