import type { ServiceBroker, Service } from "moleculer";
import { decodeValue, encodeValue } from "./wire";

/** What a remote collection may ask the datastore to do (every Collection operation). */
export const REMOTE_OPS = ["find", "findOne", "count", "insert", "updateMany", "removeMany", "clear", "upsert", "ensureIndexes"] as const;
export type RemoteOp = (typeof REMOTE_OPS)[number];

/** Operations that change data: sent once, never retried by the broker (a retry after a lost reply could apply them twice). */
const WRITES = new Set<RemoteOp>(["insert", "updateMany", "removeMany", "clear", "upsert"]);

/**
 * A moleculer-db adapter whose collection lives in the `datastore` service on another node
 * (DB_ADAPTER=remote). Each operation is one Moleculer call; the datastore runs them on NeDB,
 * which executes the operations of a collection one at a time, so a conditional update stays
 * atomic across every node that shares it. For small multi-process deployments without MongoDB
 * and for the cluster tests; MongoDB is the production choice.
 */
export class RemoteAdapter {
	broker!: ServiceBroker;
	service!: Service;

	constructor(
		readonly collection: string,
		readonly opts: { waitTimeoutMs?: number } = {},
	) {}

	init(broker: ServiceBroker, service: Service) {
		this.broker = broker;
		this.service = service;
	}

	/** Waits until some node serves `datastore.exec` (moleculer-db retries connect on failure). */
	async connect() {
		const deadline = Date.now() + (this.opts.waitTimeoutMs ?? 60_000);
		while (!this.broker.registry.actions.isAvailable("datastore.exec")) {
			if (Date.now() > deadline) throw new Error(`No node serves datastore.exec for collection "${this.collection}" (run one node with SERVICES=datastore and DB_ADAPTER=nedb).`);
			await new Promise((r) => setTimeout(r, 100));
		}
	}

	async disconnect() {
		/* nothing is held open on this side */
	}

	async exec<T = unknown>(op: RemoteOp, ...args: unknown[]): Promise<T> {
		try {
			const res = await this.broker.call("datastore.exec", { collection: this.collection, op, args: encodeValue(args) }, WRITES.has(op) ? { retries: 0 } : {});
			return decodeValue<T>(res);
		} catch (err) {
			// Same shape as NeDB's own unique-key error, so callers' duplicate checks work unchanged.
			const e = err as { type?: string; errorType?: string };
			if (e.type === "DUPLICATE_KEY") e.errorType = "uniqueViolated";
			throw err;
		}
	}

	find(params: Record<string, unknown>) {
		return this.exec<Record<string, unknown>[]>("find", params);
	}
	findOne(query: Record<string, unknown>) {
		return this.exec<Record<string, unknown> | null>("findOne", query).then((d) => d ?? undefined);
	}
	findById(id: unknown) {
		return this.findOne({ _id: id });
	}
	findByIds(ids: unknown[]) {
		return this.find({ query: { _id: { $in: ids } } });
	}
	count(params: { query?: Record<string, unknown> } = {}) {
		return this.exec<number>("count", params.query ?? {});
	}
	insert(doc: Record<string, unknown>) {
		return this.exec<Record<string, unknown>>("insert", doc);
	}
	updateMany(query: Record<string, unknown>, update: Record<string, unknown>) {
		return this.exec<number>("updateMany", query, update);
	}
	removeMany(query: Record<string, unknown>) {
		return this.exec<number>("removeMany", query);
	}
	clear() {
		return this.exec<number>("clear");
	}
	upsert(query: Record<string, unknown>, update: Record<string, unknown>) {
		return this.exec<void>("upsert", query, update);
	}
	ensureIndexes(indexes: unknown[]) {
		return this.exec<void>("ensureIndexes", indexes);
	}

	/** moleculer-db entity helpers (used by its generated actions, which MediaShar switches off). */
	entityToObject(entity: unknown) {
		return entity;
	}
	beforeSaveTransformID(entity: unknown) {
		return entity;
	}
	afterRetrieveTransformID(entity: unknown) {
		return entity;
	}
}
