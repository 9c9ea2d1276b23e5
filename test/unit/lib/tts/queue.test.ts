import { describe, expect, it } from "vitest";
import { RenderQueue } from "../../../../lib/tts/queue";

function deferred<T = void>() {
	let resolve!: (v: T) => void;
	const promise = new Promise<T>((r) => (resolve = r));
	return { promise, resolve };
}

describe("RenderQueue", () => {
	it("renders one job at a time per channel, in order", async () => {
		const q = new RenderQueue(4, 5_000);
		const order: string[] = [];
		const gate = deferred();
		const a = q.run("alice", async () => {
			order.push("a:start");
			await gate.promise;
			order.push("a:end");
		});
		const b = q.run("alice", async () => void order.push("b"));
		const other = q.run("bob", async () => void order.push("bob"));
		await other;
		expect(order).toEqual(["a:start", "bob"]);
		gate.resolve();
		await Promise.all([a, b]);
		expect(order).toEqual(["a:start", "bob", "a:end", "b"]);
	});

	it("never runs more than `concurrency` jobs at once over all channels", async () => {
		const q = new RenderQueue(2, 5_000);
		let running = 0;
		let peak = 0;
		const job = async () => {
			running++;
			peak = Math.max(peak, running);
			await new Promise((r) => setImmediate(r));
			running--;
		};
		await Promise.all(["a", "b", "c", "d", "e"].map((k) => q.run(k, job)));
		expect(peak).toBe(2);
	});

	it("gives up on a job after the timeout, and a failed job does not block the next", async () => {
		const q = new RenderQueue(1, 50);
		const never = new Promise<void>(() => {});
		await expect(q.run("a", () => never)).rejects.toThrow(/longer than 50 ms/);
		await expect(q.run("b", async () => Promise.reject(new Error("engine broke")))).rejects.toThrow("engine broke");
	});
});
