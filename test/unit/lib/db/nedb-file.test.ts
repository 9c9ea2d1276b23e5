import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import Datastore from "@seald-io/nedb";
import { closeFileDatastore, createFileDatastore } from "../../../../lib/db/nedb-file";
import { failingDisk } from "../../../support/failing-disk";

const dirs: string[] = [];
function tmpFile() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-nedb-"));
	dirs.push(dir);
	return path.join(dir, "things.db");
}
afterEach(() => {
	for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** What another process would read from the file right now (a restart after a crash). */
async function reread(file: string) {
	const db = new Datastore({ filename: file });
	await db.loadDatabaseAsync();
	return db.findAsync({}).sort({ _id: 1 });
}

describe("NeDB file datastore with direct appends", () => {
	it("has every acknowledged insert, update and remove on disk without being closed", async () => {
		const file = tmpFile();
		const db = createFileDatastore(file);
		await db.loadDatabaseAsync();
		await db.ensureIndexAsync({ fieldName: "key", unique: true });
		await Promise.all(Array.from({ length: 50 }, (_, i) => db.insertAsync({ _id: `d${String(i).padStart(2, "0")}`, key: i, at: new Date(0) })));
		await db.updateAsync({ _id: "d07" }, { $set: { paid: true } });
		await db.removeAsync({ _id: "d08" }, {});
		// Not closed: as after a SIGKILL.
		const docs = await reread(file);
		expect(docs).toHaveLength(49);
		expect(docs.find((d) => d._id === "d07")).toMatchObject({ paid: true, at: new Date(0) });
		expect(docs.some((d) => d._id === "d08")).toBe(false);
		await expect(db.insertAsync({ _id: "dup", key: 3 })).rejects.toMatchObject({ errorType: "uniqueViolated" });
		closeFileDatastore(db);
	});

	it("keeps appending to the new file after compaction replaced the old one", async () => {
		const file = tmpFile();
		const db = createFileDatastore(file);
		await db.loadDatabaseAsync();
		for (let i = 0; i < 5; i++) await db.insertAsync({ _id: `a${i}`, n: i });
		await db.updateAsync({ _id: "a1" }, { $set: { n: 100 } });
		await db.compactDatafileAsync();
		expect(fs.readFileSync(file, "utf8").trim().split("\n")).toHaveLength(5);
		await db.insertAsync({ _id: "a5", n: 5 });
		await db.updateAsync({ _id: "a2" }, { $set: { n: 200 } });
		const docs = await reread(file);
		expect(docs.map((d) => [d._id, d.n])).toEqual([
			["a0", 0],
			["a1", 100],
			["a2", 200],
			["a3", 3],
			["a4", 4],
			["a5", 5],
		]);
		closeFileDatastore(db);
	});
});

describe("NeDB file datastore when the storage refuses writes", () => {
	it.each(["ENOSPC", "EDQUOT", "EROFS", "EIO"])("a write refused with %s is undone in memory, cut off the file, and later writes work", async (code) => {
		const file = tmpFile();
		const db = createFileDatastore(file);
		await db.loadDatabaseAsync();
		await db.ensureIndexAsync({ fieldName: "key", unique: true });
		await db.ensureIndexAsync({ fieldName: "owner" });
		await db.insertAsync({ _id: "a", key: 1, owner: "x", n: 1 });
		await db.insertAsync({ _id: "b", key: 2, owner: "x", n: 2 });
		const before = await db.findAsync({}).sort({ _id: 1 });

		const disk = failingDisk(code);
		try {
			await expect(db.insertAsync({ _id: "c", key: 3, owner: "x" })).rejects.toMatchObject({ code });
			await expect(
				db.insertAsync([
					{ _id: "m1", key: 11 },
					{ _id: "m2", key: 12 },
				]),
			).rejects.toMatchObject({ code });
			await expect(db.updateAsync({ _id: "a" }, { $set: { n: 10, key: 9, owner: "y" } }, {})).rejects.toMatchObject({ code });
			await expect(db.updateAsync({ owner: "x" }, { $inc: { n: 100 } }, { multi: true })).rejects.toMatchObject({ code });
			await expect(db.updateAsync({ _id: "u" }, { $set: { key: 20 } }, { upsert: true })).rejects.toMatchObject({ code });
			await expect(db.removeAsync({ _id: "b" }, {})).rejects.toMatchObject({ code });
			expect(disk.refused).toBe(6);

			// Nothing refused is visible, through the documents or through any index.
			expect(await db.findAsync({}).sort({ _id: 1 })).toEqual(before);
			expect(await db.findAsync({ owner: "x" })).toHaveLength(2);
			expect(await db.findAsync({ owner: "y" })).toHaveLength(0);
			expect(await db.findAsync({ key: 2 })).toHaveLength(1);

			disk.free();
			await db.insertAsync({ _id: "c", key: 3, owner: "x" });
			await db.insertAsync({ _id: "d", key: 9 }); // the refused update's key is free again
			await expect(db.insertAsync({ _id: "e", key: 1 })).rejects.toMatchObject({ errorType: "uniqueViolated" });
			await db.updateAsync({ _id: "a" }, { $set: { n: 5 } }, {});
		} finally {
			disk.restore();
		}
		// Every line of the file is whole, and a restart reads exactly what was acknowledged.
		for (const line of fs.readFileSync(file, "utf8").trim().split("\n")) expect(() => JSON.parse(line)).not.toThrow();
		const onDisk = await reread(file);
		expect(onDisk).toEqual(await db.findAsync({}).sort({ _id: 1 }));
		expect(onDisk.map((d) => [d._id, d.n ?? null])).toEqual([
			["a", 5],
			["b", 2],
			["c", null],
			["d", null],
		]);
		closeFileDatastore(db);
	});

	it("a compaction with no room for its copy keeps the file and leaves no unhandled rejection (autocompaction timer)", async () => {
		const file = tmpFile();
		const db = createFileDatastore(file);
		await db.loadDatabaseAsync();
		await db.insertAsync({ _id: "a", n: 1 });
		const refused = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
		// A plain replacement, not a spy: a spy observes the promise, which counts as handling it.
		const compactDatafileAsync = db.compactDatafileAsync.bind(db);
		let fail = true;
		db.compactDatafileAsync = () => (fail ? Promise.reject(refused) : compactDatafileAsync());
		const unhandled: unknown[] = [];
		const onUnhandled = (err: unknown) => unhandled.push(err);
		process.on("unhandledRejection", onUnhandled);
		try {
			// What NeDB's own setAutocompactionInterval timer calls: no callback.
			db.compactDatafile();
			// Node reports an unhandled rejection once the microtasks of the turn have run.
			await new Promise((r) => setImmediate(r));
			await new Promise((r) => setImmediate(r));
			expect(unhandled).toEqual([]);
			// With a callback, the error is handed over.
			await expect(new Promise((resolve, reject) => db.compactDatafile((err) => (err ? reject(err) : resolve(null))))).rejects.toMatchObject({
				code: "ENOSPC",
			});
		} finally {
			process.off("unhandledRejection", onUnhandled);
		}
		fail = false;
		await db.compactDatafileAsync();
		await db.insertAsync({ _id: "b", n: 2 });
		expect((await reread(file)).map((d) => d._id)).toEqual(["a", "b"]);
		closeFileDatastore(db);
	});
});
