import { describe, expect, it } from "vitest";
import { CreatorIndex, PER_TERM, type CreatorSource } from "../../../../../lib/domain/discovery/creator-index";

const c = (id: string, username: string, displayName = username, bio = "", followerCount = 0, extra: Partial<CreatorSource> = {}): CreatorSource => ({
	id,
	username,
	displayName,
	bio,
	avatarUrl: null,
	followerCount,
	...extra,
});
const names = (idx: CreatorIndex, q: string, limit = 10) => idx.search(q, limit).items.map((e) => e.username);

describe("CreatorIndex", () => {
	it("finds by prefix and by a typo of one or two letters", () => {
		const idx = new CreatorIndex();
		idx.load([c("1", "alice_streams", "Alice Wonder"), c("2", "budisantoso", "Budi Santoso"), c("3", "charlie")]);
		expect(names(idx, "ali")).toEqual(["alice_streams"]);
		expect(names(idx, "budisantso")).toEqual(["budisantoso"]); // one letter dropped
		expect(names(idx, "budysantozo")).toEqual(["budisantoso"]); // two replaced
		expect(names(idx, "Santóso")).toEqual(["budisantoso"]); // diacritics folded
		expect(names(idx, "chxrlie")).toEqual(["charlie"]);
	});

	it("weighs username over display name over bio, and the whole username first", () => {
		const idx = new CreatorIndex();
		idx.load([
			c("1", "someone", "Someone", "i love mabar with gamer friends", 900),
			c("2", "other", "Gamer Girl", "", 500),
			c("3", "gamer", "Just Me", "", 1),
		]);
		expect(names(idx, "gamer")).toEqual(["gamer", "other", "someone"]);
	});

	it("keeps changes current and never shows banned or deleted accounts", () => {
		const idx = new CreatorIndex();
		idx.load([c("1", "alice", "Alice")]);
		idx.apply(c("1", "alice", "Ratu Mabar"));
		expect(names(idx, "ratu")).toEqual(["alice"]);
		expect(names(idx, "Alice")).toEqual(["alice"]); // still by username
		idx.apply(c("2", "zed", "Ratu Kedua", "", 0, { bannedAt: "2026-01-01T00:00:00Z" }));
		expect(names(idx, "ratu")).toEqual(["alice"]);
		idx.apply(c("1", "alice", "Ratu Mabar", "", 0, { bannedAt: "2026-01-01T00:00:00Z" }));
		expect(names(idx, "ratu")).toEqual([]);
		idx.apply(c("3", "gone", "Gone", "", 0, { deletedAt: "2026-01-01T00:00:00Z" }));
		expect(idx.size).toBe(0);
	});

	it("pages with an offset, best match first", () => {
		const idx = new CreatorIndex();
		idx.load(Array.from({ length: 25 }, (_, i) => c(String(i), `streamer${i}`, "Streamer", "", i)));
		const first = idx.search("streamer", 10);
		expect(first.items).toHaveLength(10);
		expect(first.items[0].followerCount).toBe(24); // ties broken by followers
		const rest = idx.search("streamer", 20, first.next!);
		expect(rest.items).toHaveLength(15);
		expect(rest.next).toBeNull();
		expect(new Set([...first.items, ...rest.items].map((e) => e.id)).size).toBe(25);
	});

	it("a term shared by very many creators finds the most followed of them", () => {
		const idx = new CreatorIndex();
		idx.load(Array.from({ length: PER_TERM * 2 }, (_, i) => c(String(i), `u${i}`, "Budi", "", i)));
		idx.apply(c("new", "newcomer", "Budi", "", 10_000));
		const top = idx.search("budi", 3).items.map((e) => e.followerCount);
		expect(top).toEqual([10_000, PER_TERM * 2 - 1, PER_TERM * 2 - 2]);
	});
});
