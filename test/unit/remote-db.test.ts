import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { DbMixin, type DbThis } from "../../mixins/db.mixin";
import { newId } from "../../lib/ids";
import { isDuplicateKey } from "../../lib/errors";

/**
 * DB_ADAPTER=remote: two nodes keep their collections in one datastore node. The brokers talk
 * over moleculer's in-process Fake transporter, so every operation crosses the serializer.
 */
describe("remote collections through the datastore service", () => {
	const ns = `remote-db-${process.pid}-${Date.now()}`;
	const saved = { DB_ADAPTER: process.env.DB_ADAPTER, SERVICES: process.env.SERVICES };
	const dataNode = new ServiceBroker({ namespace: ns, nodeID: "data", transporter: "Fake", logger: false });
	const nodes = ["a", "b"].map((id) => new ServiceBroker({ namespace: ns, nodeID: id, transporter: "Fake", logger: false, serializer: "JSON" }));
	let stores: DbThis[] = [];

	beforeAll(async () => {
		// The datastore serves other nodes only when SERVICES names it (read when the module loads).
		process.env.SERVICES = "datastore";
		process.env.DB_ADAPTER = "memory";
		const datastore = (await import("../../services/datastore.service")).default;
		dataNode.createService(datastore as ServiceSchema);
		process.env.DB_ADAPTER = "remote";
		for (const b of nodes) {
			b.createService({
				name: "things",
				mixins: [DbMixin("things", [{ fields: "key", unique: true }], { counters: [{ fields: "name", unique: true }] })],
			} as ServiceSchema);
		}
		await dataNode.start();
		await Promise.all(nodes.map((b) => b.start()));
		stores = nodes.map((b) => b.getLocalService("things") as unknown as DbThis);
	});

	afterAll(async () => {
		await Promise.all(nodes.map((b) => b.stop()));
		await dataNode.stop();
		for (const [k, v] of Object.entries(saved)) {
			if (v === undefined) delete process.env[k];
			else process.env[k] = v;
		}
	});

	it("shares documents between nodes, keeping dates and regular expressions intact", async () => {
		const at = new Date("2026-01-02T03:04:05.000Z");
		await stores[0].store.insert({ _id: "t1", key: "alpha", at, n: 1 });
		const seen = await stores[1].store.findById("t1");
		expect(seen?.at).toBeInstanceOf(Date);
		expect((seen?.at as Date).toISOString()).toBe(at.toISOString());
		const byRegex = await stores[1].store.find({ query: { key: { $regex: /^alp/ } } });
		expect(byRegex.map((d) => d._id)).toEqual(["t1"]);
		expect(await stores[1].store.count({ key: { $regex: /^zzz/ } })).toBe(0);
	});

	it("enforces unique indexes declared by the remote side", async () => {
		await stores[0].store.insert({ _id: "u1", key: "dup" });
		// A client error (never counted by the circuit breaker), shaped like NeDB's own.
		await expect(stores[1].store.insert({ _id: "u2", key: "dup" })).rejects.toMatchObject({ code: 409, type: "DUPLICATE_KEY", errorType: "uniqueViolated" });
		expect(isDuplicateKey(await stores[1].store.insert({ _id: "u3", key: "dup" }).catch((e) => e))).toBe(true);
		expect(await stores[0].store.count({ key: "dup" })).toBe(1);
	});

	it("lets exactly one of many racing conditional updates win", async () => {
		await stores[0].store.insert({ _id: "race", key: "race", status: "pending" });
		const attempts = Array.from({ length: 20 }, (_, i) => stores[i % 2].store.updateIf({ _id: "race", status: "pending" }, { $set: { status: "paid", by: i } }));
		const wins = (await Promise.all(attempts)).filter(Boolean);
		expect(wins).toHaveLength(1);
		expect((await stores[1].store.findById("race"))?.status).toBe("paid");
	});

	it("upserts counters in extra collections and pages newest first", async () => {
		await Promise.all(Array.from({ length: 10 }, (_, i) => stores[i % 2].stores.counters.upsert({ name: "hits" }, { $inc: { n: 1 } })));
		expect((await stores[0].stores.counters.findOne({ name: "hits" }))?.n).toBe(10);
		const ids: string[] = [];
		for (let i = 0; i < 3; i++) {
			const id = newId();
			ids.push(id);
			await stores[0].store.insert({ _id: id, key: id, kind: "page" });
		}
		const first = await stores[1].store.page({ kind: "page" }, { limit: 2 });
		expect(first.items.map((d) => d._id)).toEqual([ids[2], ids[1]]);
		const second = await stores[1].store.page({ kind: "page" }, { limit: 2, cursor: first.nextCursor });
		expect(second.items.map((d) => d._id)).toEqual([ids[0]]);
		expect(second.nextCursor).toBeNull();
		expect(await stores[0].store.removeMany({ kind: "page" })).toBe(3);
	});

	it("refuses unknown operations and collection names with a validation error", async () => {
		await expect(nodes[0].call("datastore.exec", { collection: "things", op: "drop", args: [] })).rejects.toMatchObject({ code: 422 });
		await expect(nodes[0].call("datastore.exec", { collection: "../etc", op: "find", args: [{}] })).rejects.toMatchObject({ code: 422 });
	});
});
