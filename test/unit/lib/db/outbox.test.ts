import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ServiceBroker, type Service, type ServiceSchema } from "moleculer";
import { DbMixin, type DbThis } from "../../../../mixins/db.mixin";
import { OUTBOX_MARK, adoptLegacyMark, redriveDue, sendAndClear } from "../../../../lib/db/outbox";
import { newId, idFloor } from "../../../../lib/tools/ids";

interface Row {
	_id: string;
	what: string;
	effectsDue?: boolean;
	pendingNotify?: boolean;
}

let broker: ServiceBroker;
let svc: Service & DbThis<Row>;

beforeAll(async () => {
	broker = new ServiceBroker({ logger: false });
	svc = broker.createService({ name: "rows", mixins: [DbMixin("outbox_rows", [{ fields: OUTBOX_MARK, sparse: true }])] } as ServiceSchema) as Service &
		DbThis<Row>;
	await broker.start();
});
afterAll(() => broker.stop());
beforeEach(() => svc.store.removeMany({}));

/** An id as if the row had been written `agoMs` ago (ids are time-ordered). */
const idAgo = (agoMs: number, n = 1) => (agoMs === 0 ? newId() : idFloor(Date.now() - agoMs).slice(0, -1) + String(n));

describe("outbox", () => {
	it("sendAndClear clears the mark after the effect, and leaves it when the effect throws", async () => {
		await svc.store.insert({ _id: "ok", what: "a", effectsDue: true });
		await svc.store.insert({ _id: "bad", what: "b", effectsDue: true });
		const sent: string[] = [];
		await sendAndClear(svc.store, "ok", async () => void sent.push("ok"));
		await expect(
			sendAndClear(svc.store, "bad", async () => {
				throw new Error("channel down");
			}),
		).rejects.toThrow("channel down");
		expect(sent).toEqual(["ok"]);
		expect((await svc.store.findById("ok"))?.effectsDue).toBeUndefined();
		expect((await svc.store.findById("bad"))?.effectsDue).toBe(true);
	});

	it("redriveDue re-sends only rows marked longer than the age, and clears them", async () => {
		const old = idAgo(60_000);
		const fresh = idAgo(0);
		const oldUnmarked = idAgo(60_000, 2);
		await svc.store.insert({ _id: old, what: "old", effectsDue: true });
		await svc.store.insert({ _id: fresh, what: "fresh", effectsDue: true });
		await svc.store.insert({ _id: oldUnmarked, what: "done" });
		const sent: string[] = [];
		expect(await redriveDue(svc.store, 30_000, async (row) => void sent.push(String(row.what)))).toBe(1);
		expect(sent).toEqual(["old"]);
		expect((await svc.store.findById(old))?.effectsDue).toBeUndefined();
		expect((await svc.store.findById(fresh))?.effectsDue).toBe(true);
		// Nothing old is left marked: a second pass sends nothing.
		expect(await redriveDue(svc.store, 30_000, async (row) => void sent.push(String(row.what)))).toBe(0);
		expect(sent).toEqual(["old"]);
	});

	it("adoptLegacyMark moves the old mark to effectsDue, once", async () => {
		await svc.store.insert({ _id: idAgo(60_000), what: "legacy", pendingNotify: true });
		await svc.store.insert({ _id: idAgo(60_000, 2), what: "clean" });
		await adoptLegacyMark(svc.store, "outbox_rows", "pendingNotify");
		const rows = await svc.store.find({ query: {} });
		const legacy = rows.find((r) => r.what === "legacy")!;
		expect(legacy.effectsDue).toBe(true);
		expect(legacy.pendingNotify).toBeUndefined();
		expect(rows.find((r) => r.what === "clean")?.effectsDue).toBeUndefined();

		// Run again (a second start): nothing changes, and the adopted row is re-driven once.
		await adoptLegacyMark(svc.store, "outbox_rows", "pendingNotify");
		expect(await svc.store.count({ effectsDue: true })).toBe(1);
		const sent: string[] = [];
		expect(await redriveDue(svc.store, 30_000, async (row) => void sent.push(String(row.what)))).toBe(1);
		expect(sent).toEqual(["legacy"]);
	});

	it("adoptLegacyMark runs its step through the store's once() when it has one", async () => {
		const versions: string[] = [];
		let updates = 0;
		const store = {
			find: async () => [],
			updateMany: async () => ++updates,
			once: async (version: string, step: () => Promise<unknown>) => {
				if (versions.includes(version)) return false;
				versions.push(version);
				await step();
				return true;
			},
		};
		await adoptLegacyMark(store, "posts", "notifyPending");
		await adoptLegacyMark(store, "posts", "notifyPending");
		expect(updates).toBe(1);
		expect(versions).toEqual(["posts outbox mark notifyPending → effectsDue"]);
	});
});
