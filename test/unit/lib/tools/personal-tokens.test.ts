import { describe, expect, it } from "vitest";
import { PersonalTokenCache, type ResolvedToken } from "../../../../lib/tools/personal-tokens";

const user = { id: "u1", username: "alice", roles: ["user"], scopes: ["events:read"], tokenId: "t1" };

function setup(ttlMs = 1000, max = 10) {
	let now = 10_000;
	const cache = new PersonalTokenCache(ttlMs, max, () => now);
	const asked: string[] = [];
	const answers = new Map<string, ResolvedToken | null>([["h1", { user, expiresAt: null }]]);
	const load = async (hash: string) => {
		asked.push(hash);
		return answers.get(hash) ?? null;
	};
	return { cache, asked, answers, load, tick: (ms: number) => (now += ms), now: () => now };
}

describe("PersonalTokenCache", () => {
	it("asks once per token per ttl, unknown tokens included", async () => {
		const t = setup();
		expect((await t.cache.get("h1", t.load))?.user.id).toBe("u1");
		expect((await t.cache.get("h1", t.load))?.user.id).toBe("u1");
		expect(await t.cache.get("nope", t.load)).toBeNull();
		expect(await t.cache.get("nope", t.load)).toBeNull();
		expect(t.asked).toEqual(["h1", "nope"]);
		t.tick(1001);
		await t.cache.get("h1", t.load);
		expect(t.asked).toEqual(["h1", "nope", "h1"]);
	});

	it("two requests at once share one look-up", async () => {
		const t = setup();
		const [x, y] = await Promise.all([t.cache.get("h1", t.load), t.cache.get("h1", t.load)]);
		expect(x?.user.id).toBe("u1");
		expect(y?.user.id).toBe("u1");
		expect(t.asked).toEqual(["h1"]);
	});

	it("a revoked token is refused at once, even by a look-up that was in flight", async () => {
		const t = setup();
		await t.cache.get("h1", t.load);
		t.cache.revoke("h1");
		expect(await t.cache.get("h1", t.load)).toBeNull();
		// In flight while revoked: the stale answer is not kept.
		const slow = setup();
		let release: () => void = () => {};
		const gate = new Promise<void>((r) => (release = r));
		const pending = slow.cache.get("h1", async (h) => (await gate, slow.load(h)));
		slow.cache.revoke("h1");
		release();
		expect(await pending).toBeNull();
		expect(await slow.cache.get("h1", slow.load)).toBeNull();
	});

	it("an expired token is refused without asking", async () => {
		const t = setup(60_000);
		t.answers.set("h2", { user, expiresAt: t.now() + 500 });
		expect(await t.cache.get("h2", t.load)).not.toBeNull();
		t.tick(500);
		expect(await t.cache.get("h2", t.load)).toBeNull();
		expect(t.asked).toEqual(["h2"]);
	});

	it("stays within its size, oldest entry out first", async () => {
		const t = setup(60_000, 3);
		for (const h of ["a", "b", "c", "d"]) await t.cache.get(h, t.load);
		expect(t.cache.size).toBe(3);
		await t.cache.get("a", t.load);
		expect(t.asked).toEqual(["a", "b", "c", "d", "a"]);
	});
});
