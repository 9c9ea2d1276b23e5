import { describe, expect, it } from "vitest";
import { TypingThrottle } from "../../../../../lib/domain/chat/typing";

describe("typing throttle", () => {
	it("lets one typing event per key through per interval", () => {
		const t = new TypingThrottle(2000);
		expect(t.allow("chat:a:U_1", 1000)).toBe(true);
		expect(t.allow("chat:a:U_1", 2999)).toBe(false);
		expect(t.allow("chat:a:U_2", 2999)).toBe(true);
		expect(t.allow("chat:a:U_1", 3000)).toBe(true);
	});

	it("forgets keys that can no longer throttle once it holds too many", () => {
		const t = new TypingThrottle(2000, 3);
		for (let i = 0; i < 3; i++) t.allow(`k${i}`, 0);
		expect(t.size).toBe(3);
		t.allow("fresh", 5000);
		expect(t.size).toBe(1);
		expect(t.allow("fresh", 5001)).toBe(false);
	});
});
