import path from "node:path";
import { ServiceBroker } from "moleculer";
import config from "../../moleculer.config";
import { newId } from "../../lib/tools/ids";
import { dayOf } from "../../lib/domain/donations/rules";
import { serveChild, summarize } from "../lib";
import { serviceFile } from "../../lib/ops/service-files";
import { traceStatements } from "../../lib/db/postgres";

/**
 * Read latency as the stores grow. One broker (no gateway) with users, donations, notifications
 * and chat on the in-memory NeDB adapter; the stores are seeded directly through the services'
 * own collections, then the real actions are timed through broker.call with the cache off.
 *
 * The measured streamer ("target") always owns the same data (2,000 paid donations from 300
 * donors, 2,000 notifications, 2,000 chat messages); everything else is filler spread over
 * 1,000 other channels and users, so the store size changes and the answer does not. A second
 * streamer ("hot") receives 1% of every level's donations: its own history grows with the store.
 * With DATABASE_URL the same runs on PostgreSQL, and `explain` answers the plans of the
 * statements each read issues (EXPLAIN ANALYZE, run on the seeded tables).
 */

const ROOT = path.resolve(__dirname, "../..");
const TARGET_ROWS = 2_000;
const OTHERS = 1_000;
const BATCH = 5_000;

const broker = new ServiceBroker({
	...config,
	nodeID: `growth-${process.pid}`,
	transporter: null,
	logger: { type: "Console", options: { level: "warn" } },
	metrics: false,
	middlewares: config.middlewares,
});
const svc: Record<string, any> = {};
const counts = { donations: 0, notifications: 0, messages: 0 };
let target: { id: string; username: string };
let hot: { id: string; username: string };
const fillerAgg = new Map<string, any>();

async function insertMany(collection: any, docs: any[]) {
	for (let i = 0; i < docs.length; i += BATCH) await collection.adapter.insertMany(docs.slice(i, i + BATCH));
}

function donation(recipientId: string, recipientUsername: string, donor: number, paidAt: string) {
	const _id = newId();
	return {
		_id,
		recipientId,
		recipientUsername,
		donorId: `donor${donor}`,
		donorName: `Donor ${donor}`,
		hideName: false,
		message: "semangat terus bang, salam dari bench",
		publicMessage: "semangat terus bang, salam dari bench",
		mediaUrl: null,
		mediaSeconds: null,
		amount: 10_000_00,
		currency: "IDR",
		provider: "sandbox",
		paymentId: `pay_${_id}`,
		status: "paid",
		createdAt: paidAt,
		paidAt,
		statusAt: paidAt,
		effects: { credited: true, aggregated: true, announced: true },
	};
}

function notification(userId: string, i: number) {
	const now = new Date().toISOString();
	return {
		_id: newId(),
		userId,
		type: "donation.received",
		title: "New donation",
		body: `Donor ${i} sent Rp 10.000`,
		data: {},
		read: i % 3 === 0,
		sourceKey: `bench:${userId}:${i}:${Math.random()}`,
		emailState: "done",
		emailDueAt: 0,
		createdAt: now,
		updatedAt: now,
	};
}

function message(room: string, owner: string, i: number) {
	return {
		_id: newId(),
		room,
		kind: "channel",
		channel: owner,
		channelId: owner,
		userId: `viewer${i % 500}`,
		username: `viewer${i % 500}`,
		displayName: `Viewer ${i % 500}`,
		text: `hello chat ${i}`,
		createdAt: new Date().toISOString(),
		deletedAt: null,
	};
}

/** Brings every store to `size` rows (target rows included). */
async function seed(size: number) {
	const now = Date.now();
	const dStore = svc.donations.store;
	// the target's own rows, once; its aggregates through the service's own code path
	if (counts.donations === 0) {
		const mine = Array.from({ length: TARGET_ROWS }, (_, i) =>
			donation(target.id, target.username, i % 300, new Date(now - (i % 60) * 86_400_000).toISOString()),
		);
		await insertMany(dStore, mine);
		for (const d of mine) await svc.donations.aggregate(d, 1);
		await insertMany(
			svc.notifications.store,
			Array.from({ length: TARGET_ROWS }, (_, i) => notification(target.id, i)),
		);
		await insertMany(
			svc.chat.store,
			Array.from({ length: TARGET_ROWS }, (_, i) => message(`chat:${target.username}`, target.id, i)),
		);
		counts.donations = counts.notifications = counts.messages = TARGET_ROWS;
	}
	const add = size - counts.donations;
	for (let done = 0; done < add; done += BATCH) {
		const n = Math.min(BATCH, add - done);
		const ds: any[] = [];
		const ns: any[] = [];
		const ms: any[] = [];
		for (let k = 0; k < n; k++) {
			const i = counts.donations + done + k;
			const paidAt = new Date(now - (i % 90) * 86_400_000).toISOString();
			if (i % 100 === 0) {
				ds.push(donation(hot.id, hot.username, i % 300, paidAt));
			} else {
				const o = i % OTHERS;
				const d = donation(`other${o}`, `other${o}`, i % 5000, paidAt);
				ds.push(d);
				for (const [key, extra] of [
					[`total:other${o}:IDR`, { kind: "total" }],
					[`day:other${o}:IDR:${dayOf(paidAt)}`, { kind: "day", day: dayOf(paidAt) }],
					[`donor:other${o}:IDR:user:${d.donorId}`, { kind: "donor", donor: `user:${d.donorId}`, name: d.donorName }],
				] as [string, Record<string, unknown>][]) {
					const row = fillerAgg.get(key) ?? { _id: key, owner: `other${o}`, currency: "IDR", amount: 0, count: 0, ...extra };
					row.amount += d.amount;
					row.count += 1;
					fillerAgg.set(key, row);
				}
			}
			ns.push(notification(`user${i % OTHERS}`, i));
			ms.push(message(`chat:other${i % OTHERS}`, `other${i % OTHERS}`, i));
		}
		await insertMany(dStore, ds);
		await insertMany(svc.notifications.store, ns);
		await insertMany(svc.chat.store, ms);
	}
	counts.donations = counts.notifications = counts.messages = Math.max(size, counts.donations);
	// filler aggregates: replace the rows of the other channels with the current totals
	const agg = svc.stats.store;
	await agg.removeMany({ owner: { $regex: /^other/ } });
	await insertMany(
		agg,
		[...fillerAgg.values()].map((r) => ({ ...r })),
	);
	return { ...counts, aggregates: await agg.count({}), heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20) };
}

async function time(fn: () => Promise<unknown>, iterations: number) {
	for (let i = 0; i < Math.min(20, iterations); i++) await fn();
	const samples: number[] = [];
	for (let i = 0; i < iterations; i++) {
		const t = performance.now();
		await fn();
		samples.push(performance.now() - t);
	}
	return summarize(samples);
}

function reads(): Record<string, () => Promise<unknown>> {
	const asUser = (u: { id: string; username: string }) => ({
		meta: { $cache: false, user: { id: u.id, username: u.username, displayName: u.username, roles: [] } },
	});
	return {
		"stats (all time)": () => broker.call("stats.stats", { username: target.username, period: "all" }, asUser(target)),
		"leaderboard (stats 30d)": () => broker.call("stats.stats", { username: target.username, period: "30d" }, asUser(target)),
		"donation history (received, page 1)": () => broker.call("donations.received", { limit: 20 }, asUser(target)),
		"notification inbox (page 1)": () => broker.call("notifications.list", { limit: 20 }, asUser(target)),
		"chat history (page 1)": () => broker.call("chat.history", { username: target.username, limit: 50 }, asUser(target)),
		"hot channel history (1% of all donations)": () => broker.call("donations.received", { limit: 20 }, asUser(hot)),
	};
}

async function measure(iterations: number) {
	const all = reads();
	const out: Record<string, ReturnType<typeof summarize>> = {};
	for (const [name, fn] of Object.entries(all)) out[name] = await time(fn, iterations);
	// sanity: the reads return what was seeded
	const stats: any = await all["stats (all time)"]();
	const history: any = await all["donation history (received, page 1)"]();
	return { latencyMs: out, check: { targetPaidCount: stats.totals?.[0]?.count, topDonors: stats.topDonors?.length, historyItems: history.items?.length } };
}

/** PostgreSQL only: each read's statements with their plans, as run on the seeded tables. */
async function explain() {
	const url = process.env.DATABASE_URL;
	if (!url) return {};
	const pg = (await import("pg")).default;
	const client = new pg.Client({ connectionString: url });
	await client.connect();
	const out: Record<string, { sql: string; plan: string[] }[]> = {};
	try {
		await client.query("ANALYZE");
		for (const [name, fn] of Object.entries(reads())) {
			const seen: { sql: string; values: unknown[] }[] = [];
			traceStatements((sql, values) => seen.push({ sql, values }));
			try {
				await fn();
			} finally {
				traceStatements(null);
			}
			out[name] = [];
			for (const st of seen.filter((x) => /^\s*SELECT\b/i.test(x.sql))) {
				const res = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${st.sql}`, st.values);
				out[name].push({ sql: st.sql, plan: res.rows.map((r: Record<string, string>) => r["QUERY PLAN"]) });
			}
		}
	} finally {
		await client.end();
	}
	return out;
}

async function main() {
	for (const name of ["users", "donations", "stats", "notifications", "chat", "follows"]) {
		const schema = (await import(serviceFile(path.join(ROOT, "services"), name))).default;
		const s = broker.createService(schema);
		svc[name] = s;
	}
	await broker.start();
	const reg = async (username: string) => {
		const r: any = await broker.call("users.register", { username, email: `${username}@example.test`, password: "correct horse battery" });
		return { id: r.user.id as string, username };
	};
	target = await reg("target_streamer");
	hot = await reg("hot_streamer");
	serveChild({ pid: process.pid }, { seed: (a: { size: number }) => seed(a.size), measure: (a: { iterations: number }) => measure(a.iterations), explain });
}

process.once("disconnect", () => process.exit(0));
main().catch((err) => {
	console.error(err);
	process.exit(1);
});
