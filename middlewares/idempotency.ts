/**
 * Idempotency-Key for the actions that declare it (`idempotency: { scope: "donations.create" }`):
 * a client that retries a create with the same `Idempotency-Key` header (the gateway puts it in
 * `ctx.meta.idempotencyKey`) gets the first request's response again, never a second creation.
 *
 *  - The first request under a key inserts a "running" row (`<scope>:<user id or anon>:<key>`,
 *    unique by `_id`) with the hash of its params, runs the handler, and stores the response and
 *    its status code on the row ("done"). A handler that throws frees the key (nothing was created
 *    for a refused request, so a corrected retry works).
 *  - A later request under the key: the same body replays the stored response with its status and
 *    `Idempotent-Replayed: true`; a different body is a 422 IDEMPOTENCY_KEY_REUSED; while the first
 *    is still running, a 409 IDEMPOTENCY_KEY_IN_FLIGHT. A "running" row older than the lease
 *    (IDEMPOTENCY_LEASE_MS) belongs to a node that died mid-request: one retry takes it over.
 *  - A key that is not 1-255 characters is a 422 INVALID_IDEMPOTENCY_KEY; no key, no bookkeeping.
 *  - Keys last 24 h; expired rows are swept every REDRIVE_INTERVAL_MS (and an expired row met by a
 *    request is replaced).
 *
 * The rows live in the `idempotency_keys` collection (the same one donations used, so stored keys
 * keep working), opened by this middleware on a node that hosts an action declaring `idempotency`
 * and closed when the last such service stops. It wraps the handler itself (innermost), so it runs
 * after validation, inside the timeout, as the code it replaces did.
 */

import type { ActionSchema, Context, Service, ServiceBroker } from "moleculer";
import { Errors } from "moleculer";
import { createHash } from "node:crypto";
import { Collection } from "../mixins/db.mixin";
import { dbConfig } from "../lib/db/config";
import { loadConfig } from "../lib/config";
import { conflict, invalid } from "../lib/tools/errors";
import type { GatewayMeta } from "../types/moleculer";

export const IDEMPOTENCY_COLLECTION = "idempotency_keys";

/** A stored key. */
export interface IdempotencyKeyDoc {
	_id: string;
	hash: string;
	state: "running" | "done";
	createdAt: number;
	expiresAt: number;
	response?: unknown;
	statusCode?: number;
}

export interface IdempotencyOptions {
	/** Defaults from loadConfig().donations.idempotency and .redriveMs. */
	leaseMs?: number;
	ttlMs?: number;
	sweepMs?: number;
}

interface Store {
	keys: Collection<IdempotencyKeyDoc>;
	ready: Promise<void>;
	hosts: number;
	leaseMs: number;
	ttlMs: number;
	timer: NodeJS.Timeout | null;
	sweeping: Promise<void> | null;
}

type Ctx = Context<Record<string, unknown>, GatewayMeta>;

/** Stable hash of a request's params (undefined fields left out, key order ignored). */
export function requestHash(body: Record<string, unknown>): string {
	const keys = Object.keys(body)
		.filter((k) => body[k] !== undefined)
		.sort();
	return createHash("sha256")
		.update(JSON.stringify(keys.map((k) => [k, body[k]])))
		.digest("hex");
}

function declaresIdempotency(service: Service): boolean {
	const actions = (service.schema?.actions ?? {}) as Record<string, unknown>;
	return Object.values(actions).some((a) => !!a && typeof a === "object" && !!(a as ActionSchema).idempotency);
}

export function IdempotencyMiddleware(opts: IdempotencyOptions = {}) {
	// One store per broker (moleculer.config's middleware list may be shared by several brokers).
	const stores = new WeakMap<ServiceBroker, Store>();

	function open(broker: ServiceBroker, service: Service): Store {
		let s = stores.get(broker);
		if (s) return s;
		const cfg = opts.leaseMs !== undefined && opts.ttlMs !== undefined && opts.sweepMs !== undefined ? null : loadConfig().donations;
		const keys = new Collection<IdempotencyKeyDoc>(IDEMPOTENCY_COLLECTION, dbConfig().kind, [{ fields: "expiresAt" }]);
		const store: Store = {
			keys,
			hosts: 0,
			leaseMs: opts.leaseMs ?? cfg!.idempotency.leaseMs,
			ttlMs: opts.ttlMs ?? cfg!.idempotency.ttlMs,
			timer: null,
			sweeping: null,
			// A stand-in for the service: the adapter is initialised on it without touching the real one.
			ready: keys.connect(broker, Object.create(service) as Service),
		};
		const sweepMs = Math.max(10, opts.sweepMs ?? cfg!.redriveMs);
		void store.ready.then(
			() => {
				if (stores.get(broker) !== store) return;
				store.timer = setInterval(() => void sweep(broker, store), sweepMs);
				store.timer.unref();
			},
			() => undefined,
		);
		stores.set(broker, store);
		s = store;
		return s;
	}

	/** Removes expired keys; never two sweeps at once, a failure logged and tried at the next tick. */
	function sweep(broker: ServiceBroker, store: Store): Promise<void> {
		if (store.sweeping) return store.sweeping;
		store.sweeping = (async () => {
			try {
				await store.keys.removeMany({ expiresAt: { $lt: Date.now() } });
			} catch (err) {
				broker.logger.warn("Idempotency-Key expiry sweep failed; it runs again at the next tick", (err as Error).message);
			} finally {
				store.sweeping = null;
			}
		})();
		return store.sweeping;
	}

	async function close(broker: ServiceBroker, store: Store) {
		stores.delete(broker);
		if (store.timer) clearInterval(store.timer);
		await store.sweeping;
		await store.ready.catch(() => undefined);
		await store.keys.disconnect();
	}

	async function withKey(store: Store, ctx: Ctx, id: string, hash: string, defaultStatus: number, run: () => Promise<unknown>): Promise<unknown> {
		const now = Date.now();
		const { doc: existing, created } = await store.keys.insertOrGet(
			{ _id: id, hash, state: "running", createdAt: now, expiresAt: now + store.ttlMs },
			{ _id: id },
		);
		if (created) return runHolding(store, ctx, id, defaultStatus, run);
		if (existing.expiresAt < now) {
			await store.keys.removeMany({ _id: id, expiresAt: existing.expiresAt });
			return withKey(store, ctx, id, hash, defaultStatus, run);
		}
		if (existing.hash !== hash) {
			throw new Errors.MoleculerClientError("This Idempotency-Key was used with a different request body", 422, "IDEMPOTENCY_KEY_REUSED", [
				{ field: "Idempotency-Key", message: "reused with a different body" },
			]);
		}
		if (existing.state !== "done") {
			// A "running" key older than the lease belongs to a request whose node died (SIGKILL,
			// OOM) before it finished: one retry takes it over, or the key would be stuck for 24 h.
			const abandoned = now - existing.createdAt > store.leaseMs;
			if (!abandoned || !(await store.keys.updateIf({ _id: id, state: "running", createdAt: existing.createdAt }, { $set: { createdAt: now } }))) {
				throw conflict("A request with this Idempotency-Key is still in progress", "IDEMPOTENCY_KEY_IN_FLIGHT");
			}
			return runHolding(store, ctx, id, defaultStatus, run);
		}
		ctx.meta.$statusCode = existing.statusCode ?? defaultStatus;
		ctx.meta.$responseHeaders = { "Idempotent-Replayed": "true" };
		return existing.response;
	}

	/** Runs the request that holds the key and stores its response for replays. */
	async function runHolding(store: Store, ctx: Ctx, id: string, defaultStatus: number, run: () => Promise<unknown>): Promise<unknown> {
		try {
			const response = await run();
			await store.keys.updateMany({ _id: id }, { $set: { state: "done", response, statusCode: ctx.meta.$statusCode ?? defaultStatus } });
			return response;
		} catch (err) {
			// Nothing was created for a refused request: free the key so a corrected retry works.
			await store.keys.removeMany({ _id: id, state: "running" });
			throw err;
		}
	}

	return {
		name: "Idempotency",

		/** The broker's key store (tests, operators); null until a local action declaring idempotency starts. */
		store(broker: ServiceBroker): Collection<IdempotencyKeyDoc> | null {
			return stores.get(broker)?.keys ?? null;
		},

		localAction(this: ServiceBroker, next: (ctx: Ctx) => Promise<unknown>, action: ActionSchema) {
			const scope = action.idempotency?.scope;
			if (!scope) return next;
			const service = (action as ActionSchema & { service?: Service }).service;
			const status = action.status;
			const defaultStatus = typeof status === "number" ? status : 200;
			// An arrow function: `this` stays the broker the middleware hook was called with.
			return async (ctx: Ctx) => {
				const key: unknown = ctx.meta.idempotencyKey;
				if (key === undefined) return next(ctx);
				if (typeof key !== "string" || key.length < 1 || key.length > 255)
					throw invalid("Idempotency-Key", "Idempotency-Key must be 1-255 characters", "INVALID_IDEMPOTENCY_KEY");
				const store = open(this, service ?? (ctx.service as Service));
				await store.ready;
				const id = `${scope}:${ctx.meta.user?.id ?? "anon"}:${key}`;
				return withKey(store, ctx, id, requestHash(ctx.params), defaultStatus, () => next(ctx));
			};
		},

		async serviceStarting(this: ServiceBroker, service: Service) {
			if (!declaresIdempotency(service)) return;
			const store = open(this, service);
			store.hosts++;
			await store.ready;
		},

		async serviceStopped(this: ServiceBroker, service: Service) {
			if (!declaresIdempotency(service)) return;
			const store = stores.get(this);
			if (store && --store.hosts <= 0) await close(this, store);
		},
	};
}
