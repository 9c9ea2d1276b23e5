import { afterEach, describe, expect, it, vi } from "vitest";
import { Coalescer, PresenceTally } from "../../../../../lib/domain/chat/presence";

describe("PresenceTally", () => {
	it("sums each node's absolute count per room", () => {
		const t = new PresenceTally();
		expect(t.apply("g1", { "chat:a": 3, "chat:b": 1 }).sort()).toEqual(["chat:a", "chat:b"]);
		expect(t.apply("g2", { "chat:a": 4 })).toEqual(["chat:a"]);
		expect(t.count("chat:a")).toBe(7);
		// a repeated report changes nothing
		expect(t.apply("g2", { "chat:a": 4 })).toEqual([]);
		expect(t.apply("g1", { "chat:a": 0 })).toEqual(["chat:a"]);
		expect(t.count("chat:a")).toBe(4);
		expect(t.count("chat:none")).toBe(0);
	});

	it("treats a full snapshot's missing rooms as empty on that node only", () => {
		const t = new PresenceTally();
		t.apply("g1", { "chat:a": 2, "chat:b": 5 });
		t.apply("g2", { "chat:b": 1 });
		expect(t.apply("g1", { "chat:a": 2 }, true)).toEqual(["chat:b"]);
		expect(t.count("chat:b")).toBe(1);
		expect(t.nodeCount("chat:b", "g1")).toBe(0);
	});

	it("drops a node that left and forgets empty rooms", () => {
		const t = new PresenceTally();
		t.apply("g1", { "chat:a": 2, "chat:b": 5 });
		t.apply("g2", { "chat:a": 1 });
		expect(t.dropNode("g1").sort()).toEqual(["chat:a", "chat:b"]);
		expect(t.count("chat:a")).toBe(1);
		expect(t.roomCount()).toBe(1);
		expect(t.dropNode("g1")).toEqual([]);
	});

	it("ignores nonsense sizes", () => {
		const t = new PresenceTally();
		t.apply("g1", { "chat:a": -3, "chat:b": Number.NaN, "chat:c": 2.7 });
		expect([t.count("chat:a"), t.count("chat:b"), t.count("chat:c")]).toEqual([0, 0, 2]);
	});
});

describe("Coalescer", () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it("flushes a storm of touches once per window, per key", () => {
		vi.useFakeTimers();
		const flushed: string[] = [];
		const c = new Coalescer(300, (k) => flushed.push(k));
		for (let i = 0; i < 1000; i++) c.touch("chat:a");
		c.touch("chat:b");
		expect(flushed).toEqual([]);
		vi.advanceTimersByTime(299);
		expect(flushed).toEqual([]);
		vi.advanceTimersByTime(1);
		expect(flushed.sort()).toEqual(["chat:a", "chat:b"]);
		c.touch("chat:a");
		vi.advanceTimersByTime(300);
		expect(flushed.filter((k) => k === "chat:a")).toHaveLength(2);
	});

	it("clear cancels pending flushes", () => {
		vi.useFakeTimers();
		const flushed: string[] = [];
		const c = new Coalescer(100, (k) => flushed.push(k));
		c.touch("x");
		expect(c.size).toBe(1);
		c.clear();
		vi.advanceTimersByTime(500);
		expect(flushed).toEqual([]);
	});
});
