import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { DbMixin } from "../../../mixins/db.mixin";
import ops from "../../../services/ops/ops.service";
import { storageFailure, storageWorked } from "../../../lib/db/storage-health";
import { failingDisk } from "../../support/failing-disk";

/**
 * The db mixin on NeDB files with a disk that refuses writes: every kind of write answers 503
 * STORAGE_UNAVAILABLE (not the raw ENOSPC, which the gateway turned into a 500), readiness fails
 * its storage check while writes fail and passes again by itself once they can succeed.
 */

const DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-dbfaults-"));
const saved = { DB_ADAPTER: process.env.DB_ADAPTER, DATA_DIR: process.env.DATA_DIR };
let broker: ServiceBroker;
let store: any;

beforeAll(async () => {
	process.env.DB_ADAPTER = "nedb";
	process.env.DATA_DIR = DATA_DIR;
	storageWorked();
	broker = new ServiceBroker({ logger: false });
	const things = broker.createService({ name: "things", mixins: [DbMixin("things", [{ fields: "key", unique: true }])] } as ServiceSchema);
	broker.createService(ops);
	await broker.start();
	store = (things as any).store;
});
afterAll(async () => {
	await broker.stop();
	for (const [k, v] of Object.entries(saved)) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
	fs.rmSync(DATA_DIR, { recursive: true, force: true });
});

const storageCheck = async () => {
	const report: any = await broker.call("ops.ready");
	return { status: report.status, storage: report.checks.find((c: { name: string }) => c.name === "storage") };
};

describe("db mixin on a disk that refuses writes", () => {
	it.each(["ENOSPC", "EDQUOT", "EROFS", "EIO"])(
		"%s: every write answers 503 STORAGE_UNAVAILABLE, readiness fails until writes succeed again",
		async (code) => {
			await store.insert({ _id: `keep-${code}`, key: `keep-${code}`, n: 1 });
			expect(await storageCheck()).toMatchObject({ status: "ready", storage: { ok: true } });
			const disk = failingDisk(code);
			try {
				const refused = { code: 503, type: "STORAGE_UNAVAILABLE", data: { reason: code, retryAfterSec: 5 } };
				await expect(store.insert({ _id: `new-${code}`, key: `new-${code}` })).rejects.toMatchObject(refused);
				await expect(store.updateIf({ _id: `keep-${code}` }, { $set: { n: 2 } })).rejects.toMatchObject(refused);
				await expect(store.upsert({ _id: `up-${code}` }, { $inc: { n: 1 } })).rejects.toMatchObject(refused);
				await expect(store.removeMany({ _id: `keep-${code}` })).rejects.toMatchObject(refused);
				expect(storageFailure()).toMatchObject({ reason: code, where: "things" });
				// Nothing refused is visible.
				expect(await store.findById(`keep-${code}`)).toMatchObject({ n: 1 });
				expect(await store.findById(`new-${code}`)).toBeNull();
				expect(await store.findById(`up-${code}`)).toBeNull();
				// Readiness probes DATA_DIR and stays failing while it cannot write.
				expect(await storageCheck()).toMatchObject({ status: "not_ready", storage: { ok: false, detail: expect.stringContaining(code) } });
				disk.free();
				expect(await storageCheck()).toMatchObject({ status: "ready", storage: { ok: true } });
				await store.insert({ _id: `new-${code}`, key: `new-${code}` });
			} finally {
				disk.restore();
			}
			expect(storageFailure()).toBeNull();
		},
	);

	it("an error that is not a storage fault passes through unchanged and does not fail readiness", async () => {
		await store.insert({ _id: "u1", key: "same" });
		await expect(store.insert({ _id: "u2", key: "same" })).rejects.toMatchObject({ errorType: "uniqueViolated" });
		expect(storageFailure()).toBeNull();
		expect(await storageCheck()).toMatchObject({ status: "ready" });
	});
});
