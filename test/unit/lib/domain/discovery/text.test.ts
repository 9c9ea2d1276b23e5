import { describe, expect, it } from "vitest";
import { foldText, fuzzyDistance, usernameWords, words } from "../../../../../lib/domain/discovery/text";

describe("search text", () => {
	it("folds diacritics and case in both languages", () => {
		expect(foldText("José Ñúñez")).toBe("jose nunez");
		expect(foldText("Đức Straße")).toBe("duc strasse");
		expect(words("Main game bareng, kata-kata & café!")).toEqual(["main", "game", "bareng", "kata", "kata", "cafe"]);
	});

	it("a username is found by its parts and by the whole name", () => {
		expect(usernameWords("alice_streams")).toEqual(["alicestreams", "alice", "streams"]);
		expect(usernameWords("budi")).toEqual(["budi"]);
	});

	it("allows one letter off from 4 letters and two from 7", () => {
		expect([fuzzyDistance("abc"), fuzzyDistance("abcd"), fuzzyDistance("abcdef"), fuzzyDistance("abcdefg")]).toEqual([0, 1, 1, 2]);
	});
});
