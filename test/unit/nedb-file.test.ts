import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import Datastore from "@seald-io/nedb";
import { closeFileDatastore, createFileDatastore } from "../../lib/nedb-file";

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
