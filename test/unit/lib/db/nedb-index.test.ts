import { beforeAll, describe, expect, it } from "vitest";
import Datastore from "@seald-io/nedb";
import { installIndexFastPath } from "../../../../lib/db/nedb-index";

beforeAll(() => installIndexFastPath());

async function store() {
	const db = new Datastore();
	await db.loadDatabaseAsync();
	await db.ensureIndexAsync({ fieldName: "team" });
	await db.ensureIndexAsync({ fieldName: "email", unique: true });
	await db.ensureIndexAsync({ fieldName: "marker", sparse: true });
	for (let i = 0; i < 200; i++) await db.insertAsync({ _id: `u${String(i).padStart(3, "0")}`, team: i % 2 ? "odd" : "even", email: `u${i}@x.test`, n: i });
	return db;
}

const ids = (docs: { _id?: string }[]) => docs.map((d) => d._id).sort();

describe("NeDB index fast path", () => {
	it("an update that keeps the key leaves the document findable by it, with its new fields, once", async () => {
		const db = await store();
		await db.updateAsync({ _id: "u010" }, { $set: { n: 1000 } });
		await db.updateAsync({ team: "even" }, { $inc: { n: 1 } }, { multi: true });
		const even = await db.findAsync({ team: "even" });
		expect(even).toHaveLength(100);
		expect(new Set(ids(even)).size).toBe(100);
		expect(even.find((d) => d._id === "u010")?.n).toBe(1001);
		expect((await db.findOneAsync({ email: "u10@x.test" }))?.n).toBe(1001);
	});

	it("an update that changes the key moves the document to the new bucket", async () => {
		const db = await store();
		await db.updateAsync({ _id: "u011" }, { $set: { team: "even" } });
		expect(await db.countAsync({ team: "even" })).toBe(101);
		expect(await db.countAsync({ team: "odd" })).toBe(99);
		expect((await db.findAsync({ team: "odd" })).some((d) => d._id === "u011")).toBe(false);
	});

	it("a unique violation rolls the whole update back, in every index", async () => {
		const db = await store();
		// u001 keeps its team (fast path) but takes u002's email (unique violation).
		await expect(db.updateAsync({ _id: "u001" }, { $set: { email: "u2@x.test", n: -1 } })).rejects.toMatchObject({ errorType: "uniqueViolated" });
		const odd = await db.findAsync({ team: "odd" });
		expect(odd.find((d) => d._id === "u001")?.n).toBe(1);
		expect((await db.findOneAsync({ email: "u1@x.test" }))?._id).toBe("u001");
		// A multi update where a later document fails: the earlier ones are rolled back too.
		await expect(db.updateAsync({ team: "even" }, { $set: { email: "same@x.test" } }, { multi: true })).rejects.toMatchObject({
			errorType: "uniqueViolated",
		});
		expect(await db.countAsync({ email: "same@x.test" })).toBe(0);
		expect((await db.findAsync({ team: "even" })).every((d) => d.email === `u${d.n}@x.test`)).toBe(true);
		// Same index, mixed: u000 keeps its email (swapped in place), u002 clashes with it.
		await expect(db.updateAsync({ _id: { $in: ["u000", "u002"] } }, { $set: { email: "u0@x.test", n: -5 } }, { multi: true })).rejects.toMatchObject({
			errorType: "uniqueViolated",
		});
		const u0 = await db.findOneAsync({ email: "u0@x.test" });
		expect(u0).toMatchObject({ _id: "u000", n: 0 });
		expect(await db.findOneAsync({ _id: "u000" })).toEqual(u0);
	});

	it("sparse indexes hold only documents that have the field", async () => {
		const db = await store();
		await db.updateAsync({ _id: "u005" }, { $set: { marker: "todo" } });
		await db.updateAsync({ _id: "u005" }, { $set: { n: 55 } });
		expect(ids(await db.findAsync({ marker: "todo" }))).toEqual(["u005"]);
		await db.updateAsync({ _id: "u005" }, { $unset: { marker: true } });
		await db.updateAsync({ _id: "u006" }, { $set: { n: 66 } });
		expect(await db.findAsync({ marker: "todo" })).toEqual([]);
		expect(await db.countAsync({ marker: { $exists: true } })).toBe(0);
	});
});

describe("NeDB ascending range read", () => {
	it("answers the first documents of a range in key order, as NeDB's own query would, and copies", async () => {
		const { ascendingRange } = await import("../../../../lib/db/nedb-index");
		const db = new Datastore({ inMemoryOnly: true });
		await db.ensureIndexAsync({ fieldName: "n" });
		const keys = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500);
		for (const n of keys) await db.insertAsync({ _id: `id${String(n).padStart(4, "0")}`, n });
		for (const [range, limit] of [
			[{ $gt: "id0100" }, 20],
			[{ $gte: "id0100", $lt: "id0110" }, 50],
			[{ $gt: "" }, 3],
			[{ $gt: "id0498" }, 10],
		] as const) {
			const mine = ascendingRange(db as never, "_id", range, limit)!;
			const theirs = await db.findAsync({ _id: range }).sort({ _id: 1 }).limit(limit);
			expect(mine).toEqual(theirs);
		}
		const byN = ascendingRange(db as never, "n", { $gte: 10, $lte: 12 }, 10)!;
		expect(byN.map((d) => d.n)).toEqual([10, 11, 12]);
		byN[0].n = -1;
		expect((await db.findOneAsync({ _id: byN[0]._id }))!.n).toBe(10);
		expect(ascendingRange(db as never, "missing", { $gt: 0 }, 5)).toBeNull();
	});
});
