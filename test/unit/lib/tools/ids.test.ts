import { describe, expect, it } from "vitest";
import { idTime, isId, newId, randomId } from "../../../../lib/tools/ids";

describe("ids", () => {
	it("newId sorts by creation, also inside one millisecond", () => {
		const ids = Array.from({ length: 50 }, () => newId(1_700_000_000_000));
		expect([...ids].sort()).toEqual(ids);
		expect(new Set(ids).size).toBe(50);
		expect(ids.every(isId)).toBe(true);
		expect(idTime(ids[0])).toBe(1_700_000_000_000);
	});

	it("randomId keeps the time prefix but shares nothing else with an id made just before", () => {
		const t = 1_700_000_000_000;
		const a = newId(t);
		const b = randomId(t);
		expect(isId(b)).toBe(true);
		expect(idTime(b)).toBe(t);
		// newId would have given a's random part plus one; randomId's is unrelated.
		const next = newId(t);
		expect(next.slice(10, 24)).toBe(a.slice(10, 24));
		expect(b.slice(10, 20)).not.toBe(a.slice(10, 20));
	});

	it("random parts stay distinct across many ids (the random pool refills every 256)", () => {
		const ids = Array.from({ length: 2000 }, (_, i) => randomId(1_700_000_000_000 + (i % 3)));
		expect(new Set(ids.map((id) => id.slice(10))).size).toBe(2000);
		const digits = new Set(ids.flatMap((id) => [...id.slice(10)]));
		expect(digits.size).toBe(32);
	});
});
