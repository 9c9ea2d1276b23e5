import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { IdempotencyMiddleware, requestHash } from "../../../middlewares/idempotency";
import { waitFor } from "../../support/harness";

/**
 * Idempotency-Key on an action that declares `idempotency`: the first response is replayed with
 * its status, a different body is refused, a request in flight answers 409, a key left running by
 * a dead node is taken over after the lease, a refused request frees its key, and expired keys are
 * swept. Actions without the declaration, and calls without a key, are untouched.
 */

const LEASE_MS = 200;
const TTL_MS = 60_000;
const mw = IdempotencyMiddleware({ leaseMs: LEASE_MS, ttlMs: TTL_MS, sweepMs: 50 });
let broker: ServiceBroker;
let runs = 0;
let gate: Promise<void> | null = null;

type Meta = { idempotencyKey?: unknown; user?: { id: string }; $statusCode?: number; $responseHeaders?: Record<string, string> };

const service: ServiceSchema = {
	name: "things",
	actions: {
		create: {
			status: 201,
			idempotency: { scope: "things.create" },
			params: { name: { type: "string" }, fail: { type: "boolean", optional: true } },
			async handler(ctx: Context<{ name: string; fail?: boolean }>) {
				runs++;
				if (gate) await gate;
				if (ctx.params.fail) throw new Error("refused");
				return { id: `t${runs}`, name: ctx.params.name };
			},
		},
		plain: {
			handler() {
				runs++;
				return { runs };
			},
		},
	},
};

function call(params: Record<string, unknown>, meta: Meta = {}) {
	return broker.call("things.create", params, { meta }).then((res) => ({ res, meta }));
}
const keys = () => mw.store(broker)!;

beforeAll(async () => {
	broker = new ServiceBroker({ logger: false, middlewares: [mw] });
	broker.createService(service);
	await broker.start();
});
afterAll(() => broker.stop());
beforeEach(() => {
	runs = 0;
	gate = null;
});

describe("idempotency middleware", () => {
	it("opens its store only on a broker hosting an action that declares it", async () => {
		const other = new ServiceBroker({ logger: false, middlewares: [mw] });
		other.createService({ name: "plain", actions: { x: () => 1 } });
		await other.start();
		expect(mw.store(other)).toBeNull();
		await other.stop();
		expect(keys().name).toBe("idempotency_keys");
	});

	it("without a key, runs every time and stores nothing", async () => {
		await call({ name: "a" });
		await call({ name: "a" });
		expect(runs).toBe(2);
		expect(await keys().count({})).toBe(0);
	});

	it("replays the first response, with its status and Idempotent-Replayed, under the same key and body", async () => {
		const first = await call({ name: "b" }, { idempotencyKey: "k-replay", user: { id: "u1" } });
		const again = await call({ name: "b" }, { idempotencyKey: "k-replay", user: { id: "u1" } });
		expect(runs).toBe(1);
		expect(again.res).toEqual(first.res);
		expect(again.meta.$statusCode).toBe(201);
		expect(again.meta.$responseHeaders).toEqual({ "Idempotent-Replayed": "true" });
		// Stored as donations stored it: `<scope>:<user>:<key>`, done, with the response and status.
		expect(await keys().findById("things.create:u1:k-replay")).toMatchObject({
			state: "done",
			statusCode: 201,
			response: first.res,
			hash: requestHash({ name: "b" }),
		});
		// Another caller's key of the same name is its own.
		await call({ name: "b" }, { idempotencyKey: "k-replay", user: { id: "u2" } });
		expect(runs).toBe(2);
	});

	it("refuses a different body under a used key with 422 IDEMPOTENCY_KEY_REUSED", async () => {
		await call({ name: "c" }, { idempotencyKey: "k-reuse" });
		await expect(call({ name: "other" }, { idempotencyKey: "k-reuse" })).rejects.toMatchObject({ code: 422, type: "IDEMPOTENCY_KEY_REUSED" });
		expect(runs).toBe(1);
	});

	it("answers 409 IDEMPOTENCY_KEY_IN_FLIGHT while the first request runs", async () => {
		let release!: () => void;
		gate = new Promise((r) => (release = r));
		const first = call({ name: "d" }, { idempotencyKey: "k-flight" });
		await waitFor(() => runs === 1, 2000, "first request running");
		await expect(call({ name: "d" }, { idempotencyKey: "k-flight" })).rejects.toMatchObject({ code: 409, type: "IDEMPOTENCY_KEY_IN_FLIGHT" });
		release();
		await first;
		expect((await call({ name: "d" }, { idempotencyKey: "k-flight" })).meta.$responseHeaders).toEqual({ "Idempotent-Replayed": "true" });
		expect(runs).toBe(1);
	});

	it("takes over a key left running longer than the lease (its node died)", async () => {
		const now = Date.now();
		await keys().insert({ _id: "things.create:anon:k-dead", hash: requestHash({ name: "e" }), state: "running", createdAt: now, expiresAt: now + TTL_MS });
		await expect(call({ name: "e" }, { idempotencyKey: "k-dead" })).rejects.toMatchObject({ code: 409 });
		await keys().updateMany({ _id: "things.create:anon:k-dead" }, { $set: { createdAt: now - LEASE_MS - 1 } });
		const { res } = await call({ name: "e" }, { idempotencyKey: "k-dead" });
		expect(res).toMatchObject({ name: "e" });
		expect(runs).toBe(1);
		expect(await keys().findById("things.create:anon:k-dead")).toMatchObject({ state: "done" });
	});

	it("frees the key of a refused request, so a corrected retry runs", async () => {
		await expect(call({ name: "f", fail: true }, { idempotencyKey: "k-fail" })).rejects.toThrow("refused");
		expect(await keys().findById("things.create:anon:k-fail")).toBeNull();
		await call({ name: "f" }, { idempotencyKey: "k-fail" });
		expect(runs).toBe(2);
	});

	it("refuses a key that is not 1-255 characters with 422 INVALID_IDEMPOTENCY_KEY, before running", async () => {
		for (const bad of ["", "x".repeat(256), 42]) {
			await expect(call({ name: "g" }, { idempotencyKey: bad })).rejects.toMatchObject({ code: 422, type: "INVALID_IDEMPOTENCY_KEY" });
		}
		expect(runs).toBe(0);
	});

	it("replaces an expired key, and the sweep removes expired keys", async () => {
		const past = Date.now() - 1000;
		await keys().insert({
			_id: "things.create:anon:k-old",
			hash: "other",
			state: "done",
			createdAt: past,
			expiresAt: past,
			response: { old: true },
			statusCode: 201,
		});
		const { res } = await call({ name: "h" }, { idempotencyKey: "k-old" });
		expect(res).toMatchObject({ name: "h" });
		await keys().insert({ _id: "things.create:anon:k-swept", hash: "x", state: "done", createdAt: past, expiresAt: past });
		await waitFor(async () => (await keys().findById("things.create:anon:k-swept")) === null, 2000, "expired key swept");
		expect(await keys().findById("things.create:anon:k-old")).not.toBeNull();
	});

	it("leaves actions without the declaration alone, key or not", async () => {
		await broker.call("things.plain", {}, { meta: { idempotencyKey: "k-plain" } });
		await broker.call("things.plain", {}, { meta: { idempotencyKey: "k-plain" } });
		expect(runs).toBe(2);
	});

	// Moved from test/unit/lib/domain/donations/rules.test.ts with the function.
	it("hashes requests independent of key order and undefined fields", () => {
		expect(requestHash({ a: 1, b: "x" })).toBe(requestHash({ b: "x", a: 1, c: undefined }));
		expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }));
	});
});
