import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, setupStreamer, waitStatus } from "../support/flow";

const SERVICES = ["users", "search", "explore", "payments", "donations", "ledger", "stats", "alerts"];
const ENV = { SCRYPT_COST: "1024", REDRIVE_INTERVAL_MS: "500" };

let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({ services: SERVICES, env: ENV });
	api = client(h.url);
	await waitFor(async () => (await api("GET", "/api/search/creators?q=x")).status === 200, 5000, "search to be ready");
});
afterAll(() => h?.stop());

const search = async (q: string, extra = "") => api("GET", `/api/search/creators?q=${encodeURIComponent(q)}${extra}`);
const names = async (q: string) => ((await search(q)).body.items as { username: string }[]).map((i) => i.username);
/** Waits until `q` finds (or stops finding) `username`; answers how long it took. */
async function searchable(q: string, username: string, present = true, timeoutMs = 1000) {
	const t = Date.now();
	await waitFor(async () => (await names(q)).includes(username) === present, timeoutMs, `"${q}" to ${present ? "" : "not "}find ${username}`);
	return Date.now() - t;
}

describe("profile links and platforms", () => {
	it("stores links and normalised platforms and shows them on the public profile", async () => {
		const u = await registerUser(h.url, "links");
		const res = await api(
			"PATCH",
			"/api/users/me",
			{
				links: [{ label: "Merch", url: "https://shop.example.com/alice" }],
				platforms: [
					{ platform: "twitch", handle: "@Alice_Live" },
					{ platform: "youtube", url: "https://www.youtube.com/@AliceTV" },
				],
			},
			{ token: u.token },
		);
		expect(res.status).toBe(200);
		expect(res.body.platforms).toEqual([
			{ platform: "twitch", handle: "alice_live", url: "https://www.twitch.tv/alice_live" },
			{ platform: "youtube", handle: "alicetv", url: "https://www.youtube.com/@alicetv" },
		]);
		const profile = await api("GET", `/api/users/${u.username}`);
		expect(profile.body.links).toEqual([{ label: "Merch", url: "https://shop.example.com/alice" }]);
		expect(profile.body.platforms).toHaveLength(2);
	});

	it("refuses other schemes, foreign hosts and more than 10 with 422, changing nothing", async () => {
		const u = await registerUser(h.url, "badlinks");
		await api("PATCH", "/api/users/me", { links: [{ label: "ok", url: "https://ok.example" }] }, { token: u.token });
		for (const body of [
			{ links: [{ label: "x", url: "javascript:alert(1)" }] },
			{ platforms: [{ platform: "twitch", url: "https://twitch.tv.evil.example/alice" }] },
			{ platforms: [{ platform: "myspace", handle: "alice" }] },
			{ links: Array.from({ length: 11 }, () => ({ label: "a", url: "https://a.example" })) },
			{ links: [{ label: "x", url: "https://a.example", onclick: "x" }] },
		]) {
			const res = await api("PATCH", "/api/users/me", body, { token: u.token });
			expect(res.status, JSON.stringify(body)).toBe(422);
		}
		expect((await api("GET", `/api/users/${u.username}`)).body.links).toEqual([{ label: "ok", url: "https://ok.example/" }]);
	});
});

describe("creator search", () => {
	it("422 for an empty or too long q", async () => {
		expect((await api("GET", "/api/search/creators")).status).toBe(422);
		expect((await search("   ")).status).toBe(422);
		expect((await search("a".repeat(101))).status).toBe(422);
		expect((await search("a", "&limit=0")).status).toBe(422);
	});

	it("finds a new creator within a second, by prefix and with typos, username first", async () => {
		const u = await registerUser(h.url, "sintagaming");
		await searchable(u.username, u.username);
		expect(await names("sintagam")).toContain(u.username);
		expect(await names(u.username.replace("sinta", "snta"))).toContain(u.username); // one letter dropped
		expect(await names(u.username.replace("gaming", "gamxnq"))).toContain(u.username); // two letters off
		const res = await search(u.username);
		expect(res.body.items[0]).toEqual({ username: u.username, displayName: u.username, bio: "", avatarUrl: null, followerCount: 0 });
	});

	it("a changed profile is found by its new name and bio within a second, diacritics folded", async () => {
		const u = await registerUser(h.url, "rename");
		await searchable(u.username, u.username);
		await api("PATCH", "/api/users/me", { displayName: "Ratu Kopi Séjagad", bio: "Main game santai tiap malam" }, { token: u.token });
		const ms = await searchable("ratu kopi sejagad", u.username);
		expect(ms).toBeLessThan(1000);
		expect(await names("sejagad")).toContain(u.username);
		expect((await search("ratu kopi sejagad")).body.items[0].username).toBe(u.username);
	});

	it("banned creators disappear, and come back when the ban is lifted", async () => {
		const u = await registerUser(h.url, "banme");
		await searchable(u.username, u.username);
		await h.broker.call("users.setBanned", { username: u.username, banned: true });
		await searchable(u.username, u.username, false);
		await h.broker.call("users.setBanned", { username: u.username, banned: false });
		await searchable(u.username, u.username);
	});

	it("pages with nextCursor, best match first", async () => {
		for (let i = 0; i < 3; i++) await registerUser(h.url, "pagerzz");
		await waitFor(async () => (await names("pagerzz")).length >= 3, 1000, "three pagers");
		const first = await search("pagerzz", "&limit=2");
		expect(first.body.items).toHaveLength(2);
		expect(first.body.nextCursor).toEqual(expect.any(String));
		const second = await search("pagerzz", `&limit=2&cursor=${first.body.nextCursor}`);
		const all = [...first.body.items, ...second.body.items].map((i: { username: string }) => i.username);
		expect(new Set(all).size).toBe(all.length);
		expect(all.filter((n) => n.startsWith("pagerzz"))).toHaveLength(3);
	});

	it("a node that missed a change catches up by its resync", async () => {
		const u = await registerUser(h.url, "missed");
		await searchable(u.username, u.username);
		// The store changes without the event (as if this node had been cut off when it went out).
		const users = h.broker.getLocalService("users") as unknown as { store: { updateMany(q: unknown, u: unknown): Promise<number> } };
		await users.store.updateMany({ _id: u.id }, { $set: { displayName: "Pelangi Senja", updatedAt: new Date().toISOString() } });
		expect(await names("pelangi senja")).not.toContain(u.username);
		const search = h.broker.getLocalService("search") as unknown as { runSweep(name: string): Promise<void> };
		await search.runSweep("resync");
		expect(await names("pelangi senja")).toContain(u.username);
	});
});

describe("explore", () => {
	it("lists the creator who got a paid donation this week, with the support counted", async () => {
		const s = await setupStreamer(h.url);
		const d = await donate(h.url, s.username, { amount: 25_000_00 });
		expect(d.status).toBe(201);
		await pay(h.url, d.body.payment.id);
		await waitStatus(h.url, s.token, d.body.donation.id, "paid");
		const res = await api("GET", "/api/explore");
		expect(res.status).toBe(200);
		const mine = res.body.items.find((i: { username: string }) => i.username === s.username);
		expect(mine).toMatchObject({
			username: s.username,
			support: { days: 7, donations: 1, totals: [{ currency: "IDR", amount: 25_000_00, count: 1, formattedAmount: "Rp 25.000" }] },
		});
		expect((await api("GET", "/api/explore?limit=0")).status).toBe(422);
	});
});
