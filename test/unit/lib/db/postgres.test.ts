import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type Service } from "moleculer";
import pg from "pg";
import { Collection, type IndexSpec } from "../../../../mixins/db.mixin";
import { PostgresAdapter, traceStatements } from "../../../../lib/db/postgres";
import { isDuplicateKey } from "../../../../lib/tools/errors";
import { newId } from "../../../../lib/tools/ids";

/**
 * The PostgreSQL store against NeDB (the embedded default): the same documents in both, then
 * every query, sort and update shape the services use (grep the services for find/findOne/
 * count/updateIf/updateMany/removeMany/upsert) run on both, results compared. Operators the
 * translation does not know are refused, never matched loosely.
 *
 * PostgreSQL: the server DATABASE_URL points at, else 127.0.0.1:5432 (user postgres); the test
 * creates a database of its own and drops it.
 */
const server = new URL(process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres");
server.pathname = "/postgres";
const dbName = `mediashar_cmp_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const dbUrl = new URL(server.toString());
dbUrl.pathname = `/${dbName}`;
const cfg = { url: dbUrl.toString(), poolMax: 4, statementTimeoutMs: 5000, reconnectWaitMs: 1000 };

async function admin(sql: string) {
	const c = new pg.Client({ connectionString: server.toString() });
	await c.connect();
	try {
		await c.query(sql);
	} finally {
		await c.end();
	}
}

const INDEXES: IndexSpec[] = [
	{ fields: "key", unique: true },
	{ fields: "status" },
	{ fields: "queueKey", sparse: true },
	{ fields: ["participants", "activity"], array: true },
];

const NOW = 1_750_000_000_000;
function fixtures(): Record<string, any>[] {
	return [
		{
			_id: "a01",
			key: "k1",
			status: "paid",
			recipientId: "u1",
			amount: 5,
			effects: { aggregated: true },
			deletedAt: null,
			createdAt: "2026-01-01T00:00:00.000Z",
		},
		{ _id: "a02", key: "k2", status: "paid", recipientId: "u2", amount: 15, effects: {}, deletedAt: null, createdAt: "2026-01-02T00:00:00.000Z" },
		{ _id: "a03", key: "k3", status: "pending", recipientId: "u1", amount: 2.5, nextAttemptAt: NOW - 10, deletedAt: "2026-01-03T00:00:00.000Z" },
		{ _id: "a04", key: "k4", status: "pending", nextAttemptAt: NOW + 10, recipientId: "u3" },
		{ _id: "a05", key: "k5", status: "refunded", effects: { reversalAnnounced: true }, amount: "5" },
		{ _id: "a06", key: "k6", status: "reversed", effects: { reversalAnnounced: false } },
		{ _id: "a07", key: "k7", status: "queued", queueKey: "u1:0002", userId: "u1" },
		{ _id: "a08", key: "k8", status: "queued", queueKey: "u1:0001", userId: "u1" },
		{ _id: "a09", key: "k9", status: "queued", queueKey: "u10:0001", userId: "u10" },
		{ _id: "a10", key: "k10", status: "held", heldOf: "u2", userId: "u2" },
		{ _id: "a11", key: "k11", status: "held", userId: "u2" },
		{ _id: "a12", key: "k12", participants: ["u1", "u2"], activity: "m05", reads: { u1: "m01" } },
		{ _id: "a13", key: "k13", participants: ["u2", "u3"], activity: "m09", reads: {} },
		{ _id: "a14", key: "k14", until: null, channelId: "c1" },
		{ _id: "a15", key: "k15", until: NOW + 1000, channelId: "c1" },
		{ _id: "a16", key: "k16", until: NOW - 1000, channelId: "c1" },
		{ _id: "a17", key: "k17", username: "alice", email: "alice@example.test", read: false, unreadOf: "u1" },
		{ _id: "a18", key: "k18", username: "Alfred", email: "al@example.test", read: false },
		{ _id: "a19", key: "k19", emailState: "pending", emailDue: NOW - 5 },
		{ _id: "a20", key: "k20", emailState: "pending", showing: "x", deadline: NOW - 1, pendingNotify: true, providerRefs: ["r1", "r2"] },
		{ _id: "a21", key: "k21", showing: null, deadline: NOW - 1, bannedAt: "2026-02-01T00:00:00.000Z", expiresAt: "2026-01-05T00:00:00.000Z" },
		{ _id: "a22", key: "k22", activity: 7, flag: true, nested: { deep: { n: 1 } } },
	];
}

/** The query shapes the services use, each with the sort/limit it is used with. */
const QUERIES: Array<{ label: string; query: Record<string, unknown>; sort?: string[]; limit?: number }> = [
	{ label: "everything", query: {} },
	{ label: "_id", query: { _id: "a03" } },
	{ label: "_id $in", query: { _id: { $in: ["a01", "a05", "zzz"] } } },
	{ label: "_id $lt, newest first (page)", query: { _id: { $lt: "a10" } }, sort: ["-_id"], limit: 4 },
	{ label: "_id $gt, oldest first", query: { channelId: "c1", _id: { $gt: "a14" } }, sort: ["_id"] },
	{ label: "equalities", query: { recipientId: "u1", status: "paid" }, sort: ["_id"] },
	{ label: "unique key $in", query: { key: { $in: ["k2", "k7", "nope"] } } },
	{ label: "array holds a value", query: { participants: "u2" }, sort: ["-activity"] },
	{ label: "array $in", query: { providerRefs: { $in: ["r2", "r9"] } } },
	{ label: "explicit null", query: { deletedAt: null } },
	{ label: "$ne null with $lt", query: { until: { $ne: null, $lt: NOW } } },
	{ label: "$or null / $gt", query: { channelId: "c1", $or: [{ until: null }, { until: { $gt: NOW } }] } },
	{ label: "$ne null and $lt number", query: { showing: { $ne: null }, deadline: { $lt: NOW } } },
	{ label: "$lte number, sorted", query: { status: "pending", nextAttemptAt: { $lte: NOW } }, sort: ["nextAttemptAt"], limit: 50 },
	{ label: "nested $ne true", query: { _id: "a02", "effects.aggregated": { $ne: true } } },
	{ label: "nested $ne true (set)", query: { _id: "a01", "effects.aggregated": { $ne: true } } },
	{
		label: "$or with $exists false",
		query: {
			$or: [
				{ read: false, unreadOf: { $exists: false } },
				{ emailState: "pending", emailDue: { $exists: false } },
			],
		},
	},
	{ label: "$exists true", query: { emailDue: { $exists: true } } },
	{ label: "string range, sorted, limit", query: { queueKey: { $gte: "u1:", $lt: "u1;" } }, sort: ["queueKey"], limit: 1 },
	{ label: "string range, sorted", query: { queueKey: { $gte: "u1:", $lt: "u1;" } }, sort: ["queueKey"], limit: 100 },
	{ label: "$gt empty string", query: { queueKey: { $gt: "" } }, limit: 500 },
	{ label: "$in statuses with nested $ne", query: { status: { $in: ["refunded", "reversed"] }, "effects.reversalAnnounced": { $ne: true } } },
	{ label: "$nin", query: { status: { $nin: ["paid", "queued"] } } },
	{
		label: "$or of status shapes",
		query: {
			$or: [
				{ status: "paid", "effects.announced": { $ne: true } },
				{ status: { $in: ["refunded", "reversed"] }, "effects.reversalAnnounced": { $ne: true } },
			],
		},
	},
	{ label: "$ne string", query: { userId: { $ne: "u1" }, status: "held" } },
	{ label: "$regex prefix", query: { $or: [{ username: { $regex: /^al/ } }, { email: { $regex: /^al/ } }] }, limit: 20 },
	{ label: "$regex case-insensitive", query: { username: { $regex: /^AL/i } } },
	{ label: "$or $exists false / $lt", query: { _id: "a12", $or: [{ "reads.u1": { $exists: false } }, { "reads.u1": { $lt: "m03" } }] } },
	{ label: "$or $exists false (missing)", query: { _id: "a13", $or: [{ "reads.u1": { $exists: false } }, { "reads.u1": { $lt: "m03" } }] } },
	{ label: "number range ignores strings", query: { amount: { $gte: 5 } } },
	{ label: "string range ignores numbers", query: { amount: { $gte: "0" } } },
	{ label: "ISO date string $gte", query: { bannedAt: { $gte: "2026-01-15T00:00:00.000Z" } } },
	{
		label: "ISO date string $lt, sorted",
		query: { status: { $exists: false }, expiresAt: { $lt: "2026-02-01T00:00:00.000Z" } },
		sort: ["expiresAt"],
		limit: 200,
	},
	{ label: "pending flag with _id floor", query: { pendingNotify: true, _id: { $lt: "a99" } }, sort: ["_id"], limit: 10 },
	{ label: "boolean", query: { flag: true } },
	{ label: "deep nested number", query: { "nested.deep.n": 1 } },
	{ label: "mixed-type sort", query: { activity: { $exists: true } }, sort: ["activity"] },
	{ label: "mixed-type sort, descending", query: {}, sort: ["-amount", "_id"] },
	{ label: "offset", query: {}, sort: ["_id"], limit: 3 },
];

/** Updates the services make, each on the documents its query matches. */
const UPDATES: Array<{ label: string; query: Record<string, unknown>; update: Record<string, unknown> }> = [
	{ label: "claim with $lte", query: { _id: "a03", status: "pending", nextAttemptAt: { $lte: NOW } }, update: { $set: { nextAttemptAt: NOW + 60_000 } } },
	{ label: "claim lost", query: { _id: "a04", status: "pending", nextAttemptAt: { $lte: NOW } }, update: { $set: { nextAttemptAt: NOW + 60_000 } } },
	{ label: "$set + $inc (new field)", query: { _id: "a03" }, update: { $set: { status: "sent", lastError: null }, $inc: { attempts: 1 } } },
	{ label: "$inc negative", query: { _id: "a01" }, update: { $inc: { amount: -2 } } },
	{
		label: "$set nested paths",
		query: { _id: "a02" },
		update: { $set: { "effects.debited": true, "effects.reversalAnnounced": true, "payload.message": "hi" }, $unset: { effectsDue: true } },
	},
	{ label: "$unset", query: { _id: "a07", status: "queued" }, update: { $set: { status: "showing", sentAt: NOW, sends: 1 }, $unset: { queueKey: true } } },
	{
		label: "$unset several, many docs",
		query: { userId: "u2", status: { $in: ["queued", "held"] } },
		update: { $set: { status: "cancelled" }, $unset: { queueKey: true, heldOf: true } },
	},
	{
		label: "$inc nested + $push $each $slice",
		query: { _id: "a22" },
		update: { $inc: { "group.count": 1 }, $push: { "group.names": { $each: ["n1"], $slice: -5 } }, $set: { read: false } },
	},
	{ label: "$push $slice keeps the last", query: { _id: "a20" }, update: { $push: { log: { $each: [1, 2, 3, 4, 5, 6], $slice: -3 } } } },
	{ label: "$push one value", query: { _id: "a20" }, update: { $push: { log: 7 } } },
	{ label: "$addToSet", query: { _id: "a12" }, update: { $addToSet: { participants: "u9" } } },
	{ label: "$addToSet existing", query: { _id: "a12" }, update: { $addToSet: { participants: "u1" } } },
	{ label: "$addToSet $each", query: { _id: "a20" }, update: { $addToSet: { providerRefs: { $each: ["r2", "r3", "r3"] } } } },
	{ label: "$pull", query: { _id: "a13" }, update: { $pull: { participants: "u2" } } },
	{ label: "$set with a null", query: { _id: "a21" }, update: { $set: { showing: null, deadline: null } } },
	{ label: "no match", query: { _id: "nope" }, update: { $set: { x: 1 } } },
	{ label: "matched, unchanged", query: { _id: "a14" }, update: { $set: { until: null } } },
];

const byId = (rows: Record<string, any>[]) => [...rows].sort((a, b) => (a._id < b._id ? -1 : 1));

describe("PostgreSQL store, compared with NeDB", () => {
	const broker = new ServiceBroker({ logger: false });
	const svc = broker.createService({ name: "cmp" }) as unknown as Service;
	let nedb: Collection;
	let pgc: Collection;

	beforeAll(async () => {
		await admin(`CREATE DATABASE "${dbName}"`);
		await broker.start();
		nedb = new Collection("cmp", "memory", INDEXES);
		pgc = new Collection("cmp", "postgres", INDEXES, new PostgresAdapter("cmp", cfg));
		await nedb.connect(broker, svc);
		await pgc.connect(broker, svc);
		for (const doc of fixtures()) {
			await nedb.insert(doc);
			await pgc.insert(doc);
		}
	});

	afterAll(async () => {
		await pgc?.disconnect();
		await nedb?.disconnect();
		await broker.stop();
		await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
	});

	it.each(QUERIES)("find: $label", async ({ query, sort, limit }) => {
		const a = await nedb.find({ query, sort, limit });
		const b = await pgc.find({ query, sort, limit });
		// Without a sort the order is the store's own; compare as sets then.
		if (sort) expect(b.map((d) => d._id)).toEqual(a.map((d) => d._id));
		expect(byId(b)).toEqual(byId(a));
		expect(await pgc.count(query)).toBe(await nedb.count(query));
	});

	it("findOne, findByIds and page agree", async () => {
		expect(await pgc.findOne({ key: "k5" })).toEqual(await nedb.findOne({ key: "k5" }));
		expect(await pgc.findOne({ key: "none" })).toBeNull();
		expect(byId(await pgc.findByIds(["a02", "a09"]))).toEqual(byId(await nedb.findByIds(["a02", "a09"])));
		for (let i = 0; i < 5; i++) {
			const doc = { _id: newId(NOW + i), key: `page${i}`, channelId: "c2" };
			await nedb.insert(doc);
			await pgc.insert(doc);
		}
		for (const ascending of [false, true]) {
			let ca: string | null = null;
			let cb: string | null = null;
			let pages = 0;
			do {
				const pa = await nedb.page({ channelId: "c2" }, { limit: 2, cursor: ca, ascending });
				const pb = await pgc.page({ channelId: "c2" }, { limit: 2, cursor: cb, ascending });
				expect(pb).toEqual(pa);
				ca = pa.nextCursor;
				cb = pb.nextCursor;
				pages++;
			} while (ca);
			expect(pages).toBe(3);
		}
	});

	it("updates: matched counts and resulting documents agree, shape by shape", async () => {
		for (const { label, query, update } of UPDATES) {
			const touched = byId(await nedb.find({ query })).map((d) => d._id as string);
			const na = await nedb.updateMany(query, update);
			const nb = await pgc.updateMany(query, update);
			expect(nb, label).toBe(na);
			for (const id of touched) expect(await pgc.findById(id), `${label}: ${id}`).toEqual(await nedb.findById(id));
		}
		expect(byId(await pgc.find({ query: {} }))).toEqual(byId(await nedb.find({ query: {} })));
	});

	it("upserts insert the query's fields once, then update", async () => {
		// An aggregates-like collection: no unique index other than _id.
		const aggs = [new Collection("cmp_aggs", "memory", []), new Collection("cmp_aggs", "postgres", [], new PostgresAdapter("cmp_aggs", cfg))];
		for (const c of aggs) await c.connect(broker, svc);
		const [na, pa] = aggs;
		for (const c of aggs) {
			await c.upsert({ _id: "total:u1:IDR", owner: "u1", kind: "total", currency: "IDR" }, { $inc: { amount: 500, count: 1 } });
			await c.upsert({ _id: "total:u1:IDR", owner: "u1", kind: "total", currency: "IDR" }, { $inc: { amount: 250, count: 1 } });
			await c.upsert({ _id: "donor:u1:x" }, { $inc: { amount: 1 }, $set: { name: "X" } });
			await c.upsert({ _id: "recent:u1", owner: "u1", kind: "recent" }, { $push: { items: { $each: [{ id: 1 }], $slice: -2 } } });
			await c.upsert({ _id: "recent:u1", owner: "u1", kind: "recent" }, { $push: { items: { $each: [{ id: 2 }, { id: 3 }], $slice: -2 } } });
		}
		for (const id of ["total:u1:IDR", "donor:u1:x", "recent:u1"]) expect(await pa.findById(id), id).toEqual(await na.findById(id));
		expect((await pa.findById("total:u1:IDR"))?.amount).toBe(750);
		expect((await pa.findById("recent:u1"))?.items).toEqual([{ id: 2 }, { id: 3 }]);
		for (const c of aggs) await c.disconnect();
	});

	it("removeMany answers the number removed, like NeDB", async () => {
		const q = { until: { $ne: null, $lt: NOW } };
		expect(await pgc.removeMany(q)).toBe(await nedb.removeMany(q));
		expect(await pgc.removeMany({ _id: { $lt: "a02" } })).toBe(await nedb.removeMany({ _id: { $lt: "a02" } }));
		expect(await pgc.count()).toBe(await nedb.count());
	});

	it("a unique index violation is the duplicate-key error the services handle", async () => {
		const err = await pgc.insert({ _id: "dup1", key: "k2" }).catch((e) => e);
		expect(isDuplicateKey(err)).toBe(true);
		expect(err.errorType).toBe("uniqueViolated");
		const again = await pgc.insert({ _id: "a02", key: "other" }).catch((e) => e);
		expect(isDuplicateKey(again)).toBe(true);
		// Sparse: any number of documents without the field.
		await pgc.insert({ _id: "s1", key: "s1" });
		await pgc.insert({ _id: "s2", key: "s2" });
		expect(await pgc.count({ _id: { $in: ["s1", "s2"] } })).toBe(2);
	});

	it("insertMany stores a batch in one statement, and nothing of a batch with a duplicate key", async () => {
		const batch = Array.from({ length: 50 }, (_, i) => ({ _id: `bulk${String(i).padStart(2, "0")}`, key: `bulk${i}`, channelId: "bulk", n: i }));
		await (nedb.adapter as unknown as { insertMany(d: unknown[]): Promise<unknown> }).insertMany(batch);
		await (pgc.adapter as unknown as { insertMany(d: unknown[]): Promise<unknown> }).insertMany(batch);
		expect(await pgc.find({ query: { channelId: "bulk" }, sort: ["n"] })).toEqual(await nedb.find({ query: { channelId: "bulk" }, sort: ["n"] }));
		const clash = [
			{ _id: "bulk-new", key: "bulk-new", channelId: "bulk2" },
			{ _id: "bulk-dup", key: "bulk3", channelId: "bulk2" },
		];
		const err = await (pgc.adapter as unknown as { insertMany(d: unknown[]): Promise<unknown> }).insertMany(clash).catch((e) => e);
		expect(isDuplicateKey(err)).toBe(true);
		expect(await pgc.count({ channelId: "bulk2" })).toBe(0);
		await pgc.removeMany({ channelId: "bulk" });
		await nedb.removeMany({ channelId: "bulk" });
	});

	it("an array in a field whose index is not declared array: true is refused, not silently missed", async () => {
		const err = await pgc.insert({ _id: "arr1", key: "arr1", status: ["open", "held"] }).catch((e) => e);
		expect(String(err?.message)).toMatch(/"status" holds an array/);
		expect(await pgc.findById("arr1")).toBeNull();
	});

	it("an owner's newest rows are a short scan of the (field, _id) index however large the table", async () => {
		const big = new Collection("cmp_plan", "postgres", [{ fields: "ownerId" }], new PostgresAdapter("cmp_plan", cfg));
		await big.connect(broker, svc);
		const rows = Array.from({ length: 20_000 }, (_, i) => ({ _id: newId(NOW + i), ownerId: i < 500 ? "mine" : `o${i % 400}`, n: i }));
		await (big.adapter as unknown as { insertMany(d: unknown[]): Promise<unknown> }).insertMany(rows);
		const client = new pg.Client({ connectionString: cfg.url });
		await client.connect();
		try {
			await client.query(`ANALYZE "cmp_plan"`);
			const seen: { sql: string; values: unknown[] }[] = [];
			traceStatements((sql, values) => seen.push({ sql, values }));
			const page = await big.page({ ownerId: "mine" }, { limit: 20 });
			traceStatements(null);
			expect(page.items.map((d) => d.n)).toEqual(Array.from({ length: 20 }, (_, i) => 499 - i));
			const st = seen.find((x) => /ORDER BY _id DESC/.test(x.sql))!;
			const plan = (await client.query(`EXPLAIN (ANALYZE, COSTS OFF) ${st.sql}`, st.values)).rows.map((r) => r["QUERY PLAN"]).join("\n");
			expect(plan, plan).toMatch(/Index Scan Backward using "?cmp_plan__ownerId__jid/);
			expect(plan).not.toMatch(/Rows Removed by Filter: \d{3,}/);
		} finally {
			traceStatements(null);
			await client.end();
			await big.disconnect();
		}
	});

	it("a conditional update raced from 20 callers is won exactly once", async () => {
		await pgc.insert({ _id: "race", key: "race", status: "pending" });
		const wins = await Promise.all(
			Array.from({ length: 20 }, (_, i) => pgc.updateIf({ _id: "race", status: "pending" }, { $set: { status: "claimed", by: i } })),
		);
		expect(wins.filter(Boolean)).toHaveLength(1);
		const counts = await Promise.all(Array.from({ length: 20 }, () => pgc.updateMany({ _id: "race" }, { $inc: { n: 1 } })));
		expect(counts.every((n) => n === 1)).toBe(true);
		expect((await pgc.findById("race"))?.n).toBe(20);
	});

	it("migrations: instances starting together create each table and index once, recorded", async () => {
		const idx: IndexSpec[] = [{ fields: "key", unique: true }, { fields: "queueKey", sparse: true }, { fields: ["owner", "day"] }];
		const many = Array.from({ length: 4 }, () => new Collection("cmp_race", "postgres", idx, new PostgresAdapter("cmp_race", cfg)));
		await Promise.all(many.map((c) => c.connect(broker, svc)));
		const c = new pg.Client({ connectionString: cfg.url });
		await c.connect();
		try {
			const versions = (await c.query("SELECT version FROM schema_migrations WHERE version LIKE 'cmp_race %' ORDER BY version")).rows.map(
				(r) => r.version,
			);
			expect(versions).toEqual(["cmp_race 0001 table", "cmp_race index key unique", "cmp_race index owner+day", "cmp_race index queueKey sparse"]);
			const indexes = (await c.query("SELECT indexdef FROM pg_indexes WHERE tablename = 'cmp_race' ORDER BY indexname")).rows.map(
				(r) => r.indexdef as string,
			);
			expect(indexes).toHaveLength(5); // primary key, GIN, three declared
			expect(indexes.find((d) => d.includes("queueKey"))).toMatch(/WHERE/);
			expect(indexes.find((d) => d.includes("'{key}'"))).toMatch(/^CREATE UNIQUE INDEX/);
		} finally {
			await c.end();
		}
		for (const m of many) await m.disconnect();
	});

	it("a one-time start-up step runs once per database on PostgreSQL, on every start elsewhere", async () => {
		let runs = 0;
		const step = async () => void runs++;
		expect(await pgc.once("cmp 0002 test scan", step)).toBe(true);
		const other = new Collection("cmp", "postgres", INDEXES, new PostgresAdapter("cmp", cfg));
		await other.connect(broker, svc);
		expect(await other.once("cmp 0002 test scan", step)).toBe(false);
		await other.disconnect();
		expect(runs).toBe(1);
		// A step that failed is not recorded: the next start tries again.
		await expect(pgc.once("cmp 0003 failing scan", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
		expect(await pgc.once("cmp 0003 failing scan", step)).toBe(true);
		expect(await nedb.once("cmp 0002 test scan", step)).toBe(true);
		expect(await nedb.once("cmp 0002 test scan", step)).toBe(true);
		expect(runs).toBe(4);
	});

	it.each([
		["$where", { $where: "this.a == 1" }],
		["$elemMatch", { participants: { $elemMatch: { $eq: "u1" } } }],
		["$size", { participants: { $size: 2 } }],
		["an object equality", { effects: { aggregated: true } }],
		["an array equality", { participants: ["u1", "u2"] }],
		["$lt null", { until: { $lt: null } }],
		["a lookahead regex", { username: { $regex: /^a(?=l)/ } }],
		["a global regex", { username: /al/g }],
	])("refuses a query it cannot translate: %s", async (_label, query) => {
		await expect(pgc.find({ query: query as Record<string, unknown> })).rejects.toThrow(/PostgreSQL store cannot translate/);
	});

	it.each([
		["$rename", { $rename: { a: "b" } }],
		["$max", { $max: { amount: 3 } }],
		["a replacement document", { status: "x" }],
		["$pull with a condition", { $pull: { participants: { $in: ["u1"] } } }],
		["$inc by a string", { $inc: { amount: "1" } }],
		["$push with $sort", { $push: { log: { $each: [1], $sort: 1 } } }],
	])("refuses an update it cannot translate: %s", async (_label, update) => {
		await expect(pgc.updateMany({ _id: "a01" }, update as Record<string, unknown>)).rejects.toThrow(/PostgreSQL store cannot translate/);
	});
});
