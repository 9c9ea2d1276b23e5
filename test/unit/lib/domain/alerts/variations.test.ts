import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { chooseVariation, matches, rangeProblem, renderTemplate, unknownPlaceholders, type Candidate } from "../../../../../lib/domain/alerts/variations";

const v = (id: string, minAmount: number, maxAmount: number | null, enabled = true): Candidate => ({ id, minAmount, maxAmount, enabled });

describe("chooseVariation", () => {
	it("uses the enabled variation whose range holds the amount, the highest minAmount winning", () => {
		const all = [v("a", 0, null), v("b", 10_000, 49_999), v("c", 50_000, null), v("d", 100_000, null, false)];
		expect(chooseVariation(all, 5_000)?.id).toBe("a");
		expect(chooseVariation(all, 10_000)?.id).toBe("b");
		expect(chooseVariation(all, 49_999)?.id).toBe("b");
		expect(chooseVariation(all, 50_000)?.id).toBe("c");
		// d is disabled: c still wins above 100k.
		expect(chooseVariation(all, 1_000_000)?.id).toBe("c");
	});

	it("falls back to the default look when nothing matches", () => {
		expect(chooseVariation([v("a", 10_000, 20_000)], 5_000)).toBeNull();
		expect(chooseVariation([v("a", 10_000, 20_000)], 20_001)).toBeNull();
		expect(chooseVariation([], 1)).toBeNull();
	});

	const variation = fc.record({
		id: fc.string({ minLength: 1, maxLength: 4 }),
		enabled: fc.boolean(),
		minAmount: fc.integer({ min: 0, max: 1000 }),
		span: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: null }),
	});
	const list = fc
		.array(variation, { maxLength: 12 })
		.map((xs) => xs.map((x, i) => v(`${i}`.padStart(3, "0") + x.id, x.minAmount, x.span === null ? null : x.minAmount + x.span, x.enabled)));

	it("property: the chosen variation matches, and no matching one has a higher minAmount", () => {
		fc.assert(
			fc.property(list, fc.integer({ min: 0, max: 2500 }), (all, amount) => {
				const chosen = chooseVariation(all, amount);
				const matching = all.filter((x) => matches(x, amount));
				if (matching.length === 0) return chosen === null;
				return chosen !== null && matches(chosen, amount) && matching.every((x) => x.minAmount <= chosen.minAmount);
			}),
		);
	});

	it("property: the choice does not depend on the order variations are listed in", () => {
		fc.assert(
			fc.property(list, fc.integer({ min: 0, max: 2500 }), (all, amount) => {
				const reversed = [...all].reverse();
				return chooseVariation(all, amount)?.id === chooseVariation(reversed, amount)?.id;
			}),
		);
	});

	it("property: adding a disabled variation never changes the choice", () => {
		fc.assert(
			fc.property(list, fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2500 }), (all, min, amount) => {
				return chooseVariation([...all, v("zzz", min, null, false)], amount)?.id === chooseVariation(all, amount)?.id;
			}),
		);
	});
});

describe("templates", () => {
	it("allows only {name}, {amount} and {message}", () => {
		expect(unknownPlaceholders("{name} gave {amount}: {message}")).toEqual([]);
		expect(unknownPlaceholders("{name} {email} {email} {}")).toEqual(["email", ""]);
		expect(unknownPlaceholders("no placeholders")).toEqual([]);
	});

	it("renders the placeholders and leaves the rest of the text alone", () => {
		expect(renderTemplate("{name} donated {amount}! {message}", { name: "Budi", amount: "Rp10.000", message: "hi" })).toBe("Budi donated Rp10.000! hi");
		// A donor's name that looks like a placeholder is not expanded again.
		expect(renderTemplate("{name} / {amount}", { name: "{amount}", amount: "Rp1", message: "" })).toBe("{amount} / Rp1");
	});

	it("checks the amount range", () => {
		expect(rangeProblem(10, 5)).toMatch(/maxAmount/);
		expect(rangeProblem(10, 10)).toBeNull();
		expect(rangeProblem(10, null)).toBeNull();
	});
});
