import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import users from "../../../../services/accounts/users.service";
import search from "../../../../services/discovery/search.service";
import { waitFor } from "../../../support/harness";

/**
 * The search service against the real users service (in-memory store): the rebuild reads every
 * page, a resync finds accounts changed without an event (more of them than one page, all at the
 * same instant), and a deleted account leaves the index on its change event.
 */
type Store = {
	insert(doc: Record<string, unknown>): Promise<unknown>;
	updateMany(q: unknown, u: unknown): Promise<number>;
	removeMany(q: unknown): Promise<number>;
};
type SearchSvc = { runSweep(name: string): Promise<void>; rebuild(): Promise<void> };
const ENV = { SEARCH_REBUILD_PAGE: "100", SEARCH_RESYNC_MS: "3600000", SCRYPT_COST: "1024" };
let broker: ServiceBroker;
let store: Store;
let svc: SearchSvc;

const doc = (i: number, at: string) => ({
	_id: `u${String(i).padStart(5, "0")}`,
	username: `creator${i}`,
	email: `creator${i}@example.test`,
	passwordHash: "x",
	displayName: `Creator ${i}`,
	bio: "",
	avatarUrl: null,
	roles: ["user"],
	settings: {},
	overlayToken: `t${i}`,
	followerCount: 0,
	createdAt: at,
	updatedAt: at,
});
const find = async (q: string) =>
	(await broker.call<{ items: { username: string }[] }, { q: string; limit: number }>("search.creators", { q, limit: 50 })).items.map((i) => i.username);

beforeAll(async () => {
	Object.assign(process.env, ENV);
	broker = new ServiceBroker({ logger: false });
	broker.createService(users);
	broker.createService(search);
	await broker.start();
	store = (broker.getLocalService("users") as unknown as { store: Store }).store;
	svc = broker.getLocalService("search") as unknown as SearchSvc;
	for (let i = 0; i < 250; i++) await store.insert(doc(i, "2026-01-01T00:00:00.000Z"));
	await svc.rebuild();
});
afterAll(async () => {
	await broker.stop();
	for (const k of Object.keys(ENV)) delete process.env[k];
});

describe("search service", () => {
	it("rebuilds from every page of the users store", async () => {
		expect(await broker.call("search.status")).toMatchObject({ ready: true, creators: 250 });
		expect(await find("creator249")).toContain("creator249");
		expect(await find("creator0")).toContain("creator0");
	});

	it("a resync finds accounts changed without an event, more than a page of them at one instant", async () => {
		const at = new Date().toISOString();
		await store.updateMany({ _id: { $lt: "u00150" } }, { $set: { displayName: "Renamed Quietly", updatedAt: at } });
		expect(await find("quietly")).toEqual([]);
		await svc.runSweep("resync");
		expect((await find("quietly")).length).toBe(50); // a page of answers; the index holds all 150
		expect(await broker.call("search.status")).toMatchObject({ watermark: at });
		const all = new Set<string>();
		let cursor: string | null = "0";
		while (cursor !== null) {
			const page: { items: { username: string }[]; nextCursor: string | null } = await broker.call("search.creators", {
				q: "quietly",
				limit: 50,
				cursor,
			});
			page.items.forEach((i) => all.add(i.username));
			cursor = page.nextCursor;
		}
		expect(all.size).toBe(150);
	});

	it("an account gone from the store leaves the index on its change event", async () => {
		expect(await find("creator200")).toContain("creator200");
		await store.removeMany({ _id: "u00200" });
		await broker.broadcast("users.changed", { id: "u00200", username: "creator200" });
		await waitFor(async () => !(await find("creator200")).includes("creator200"), 1000, "creator200 to leave");
	});
});
