import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type Service, type ServiceSchema } from "moleculer";
import { DbMixin, type DbThis } from "../../../mixins/db.mixin";

interface Thing {
	_id: string;
	key: string;
	value: number;
}

let broker: ServiceBroker;
let svc: Service & DbThis<Thing>;

beforeAll(async () => {
	broker = new ServiceBroker({ logger: false });
	svc = broker.createService({ name: "things", mixins: [DbMixin("db_mixin_things", [{ fields: "key", unique: true }])] } as ServiceSchema) as Service &
		DbThis<Thing>;
	await broker.start();
});
afterAll(() => broker.stop());

describe("Collection.insertOrGet", () => {
	it("creates the row once, then answers the stored row", async () => {
		const first = await svc.store.insertOrGet({ _id: "t1", key: "k1", value: 1 }, { key: "k1" });
		expect(first).toEqual({ created: true, doc: expect.objectContaining({ _id: "t1", key: "k1", value: 1 }) });

		const second = await svc.store.insertOrGet({ _id: "t2", key: "k1", value: 2 }, { key: "k1" });
		expect(second.created).toBe(false);
		expect(second.doc).toMatchObject({ _id: "t1", key: "k1", value: 1 });
		expect(await svc.store.count({ key: "k1" })).toBe(1);
	});

	it("concurrent inserts of one key: exactly one is created, every caller gets that row", async () => {
		const results = await Promise.all(Array.from({ length: 8 }, (_, i) => svc.store.insertOrGet({ _id: `c${i}`, key: "race", value: i }, { key: "race" })));
		const winners = results.filter((r) => r.created);
		expect(winners).toHaveLength(1);
		const winnerId = winners[0].doc._id;
		for (const r of results) expect(r.doc._id).toBe(winnerId);
		expect(await svc.store.count({ key: "race" })).toBe(1);
	});

	it("an error other than a duplicate key is thrown", async () => {
		await expect(svc.store.insertOrGet({ _id: "t3", key: "k3", value: 3 }, { key: "k3" })).resolves.toMatchObject({ created: true });
		// Same _id, different unique key: the primary key refuses it and `existing` finds nothing.
		await expect(svc.store.insertOrGet({ _id: "t3", key: "k4", value: 4 }, { key: "k4" })).rejects.toThrow();
	});
});
