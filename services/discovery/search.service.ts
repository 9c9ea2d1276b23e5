import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { Errors } from "moleculer";
import { SweeperMixin, type SweeperMethods } from "../../mixins/sweeper.mixin";
import { loadConfig } from "../../lib/config";
import type { DiscoveryConfig } from "../../lib/config/discovery";
import { CreatorIndex, creatorHit, type CreatorSource } from "../../lib/domain/discovery/creator-index";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * Creator search (`GET /search/creators`): every search node keeps its own in-memory index of the
 * public profiles (lib/domain/discovery/creator-index.ts) and answers from it alone.
 *
 * How the index stays true:
 *  - at start it is rebuilt from the users store, page by page (`users.directoryPage` by `_id`);
 *    until then the action answers 503 SEARCH_NOT_READY (with Retry-After);
 *  - every `users.changed` (broadcast: every search node hears it; sent on sign-up, profile
 *    edits, follower counts, bans) queues the account's id; within 20 ms the queued ids are read
 *    back in one `users.directoryOf` call (never cached, so the read sees the change) and put in,
 *    changed or taken out (banned, deleted: a missing account is a deleted one);
 *  - a node that missed events (it was cut off from the transporter, the event was lost) catches
 *    up by the `resync` sweep: every SEARCH_RESYNC_MS it reads the accounts whose `updatedAt` is at
 *    or after its watermark (the newest `updatedAt` it has seen, less a 5 s margin for clocks and
 *    writes in flight), by (`updatedAt`, `_id`) pages. Profile edits, sign-ups and bans move
 *    `updatedAt`; a follower count does not (it is refreshed by the next event of that account).
 *
 * Crash safety: nothing is stored here; a restarted node rebuilds.
 */

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;
type DirectoryRow = CreatorSource & { updatedAt: string };
type DirectoryPage = { items: DirectoryRow[]; cursor: string | null };

/** How long a change event waits for others to share one read. */
const BATCH_MS = 20;
/** How far back of its watermark a resync reads (clock skew between users nodes, writes in flight). */
const RESYNC_MARGIN_MS = 5_000;

interface Local {
	config: DiscoveryConfig;
	index: CreatorIndex;
	ready: boolean;
	/** Newest `updatedAt` seen (ISO); the resync reads from a little before it. */
	watermark: string;
	pending: Set<string>;
	flushTimer: NodeJS.Timeout | null;
	flushing: Promise<void> | null;
	rebuilding: Promise<void> | null;
	/** How long the last rebuild took (ms). */
	rebuildMs: number | null;
	/** Ids changed while a rebuild runs: read again once it is done. */
	changedDuringRebuild: Set<string> | null;
}
interface Methods extends SweeperMethods {
	startRebuild(): void;
	rebuild(): Promise<void>;
	resync(): Promise<void>;
	queue(id: string): void;
	flush(): Promise<void>;
	see(row: DirectoryRow): void;
}
type Settings = ServiceSettingSchema & { rest: string };
type This = Service<Settings> & Local & Methods;

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "search",
	mixins: [SweeperMixin<This>({ name: "resync", everyMs: (svc) => svc.config.resyncMs, run: (svc) => svc.resync() })],
	settings: { rest: "/" },
	dependencies: ["users"],

	actions: {
		/** Creators by username, display name and bio: prefix and typo matches, best first. */
		creators: {
			rest: "GET /search/creators",
			params: {
				q: { type: "string", trim: true, min: 1, max: 100 },
				limit: { type: "number", integer: true, min: 1, max: 50, optional: true, convert: true },
				cursor: { type: "string", pattern: /^\d{1,6}$/, optional: true },
			},
			async handler(ctx: Ctx<{ q: string; limit?: number; cursor?: string }>) {
				if (!this.ready) throw new Errors.MoleculerClientError("Search is starting, retry shortly", 503, "SEARCH_NOT_READY", { retryAfterSec: 5 });
				const page = this.index.search(ctx.params.q, ctx.params.limit ?? 20, Number(ctx.params.cursor ?? 0));
				return {
					items: page.items.map(creatorHit),
					nextCursor: page.next === null ? null : String(page.next),
				};
			},
		},

		/** This node's index: how many creators, whether it is ready, its watermark (REPL, tests). */
		status: {
			visibility: "public",
			handler(this: This) {
				return { ready: this.ready, creators: this.index.size, watermark: this.watermark, rebuildMs: this.rebuildMs };
			},
		},
	},

	events: {
		"users.changed": {
			handler(this: This, ctx: Context<{ id: string }>) {
				if (ctx.params?.id) this.queue(ctx.params.id);
			},
		},
	},

	methods: {
		startRebuild() {
			this.rebuilding = this.rebuild()
				.catch((err: Error) => this.logger.error("Search index rebuild failed; tried again at the next resync tick", err.message))
				.finally(() => {
					this.rebuilding = null;
				});
		},

		async rebuild() {
			const fresh = new CreatorIndex();
			this.changedDuringRebuild = new Set();
			const started = Date.now();
			const rows: DirectoryRow[] = [];
			let after: string | undefined;
			for (;;) {
				const page = await this.broker.call<DirectoryPage, { after?: string; limit: number }>("users.directoryPage", {
					...(after ? { after } : {}),
					limit: this.config.rebuildPage,
				});
				for (const row of page.items) {
					rows.push(row);
					this.see(row);
				}
				if (!page.cursor) break;
				after = page.cursor;
			}
			fresh.load(rows);
			this.index = fresh;
			this.ready = true;
			const again = [...this.changedDuringRebuild];
			this.changedDuringRebuild = null;
			for (const id of again) this.queue(id);
			this.rebuildMs = Date.now() - started;
			this.logger.info(`Search index rebuilt: ${fresh.size} creators in ${this.rebuildMs} ms`);
		},

		async resync() {
			if (!this.ready) {
				if (!this.rebuilding) this.startRebuild();
				return;
			}
			const since = new Date(Math.max(0, Date.parse(this.watermark) - RESYNC_MARGIN_MS)).toISOString();
			let after: string | undefined;
			for (;;) {
				const page = await this.broker.call<DirectoryPage, { updatedSince: string; after?: string; limit: number }>("users.directoryPage", {
					updatedSince: since,
					...(after ? { after } : {}),
					limit: this.config.rebuildPage,
				});
				for (const row of page.items) {
					this.index.apply(row);
					this.see(row);
				}
				if (!page.cursor) break;
				after = page.cursor;
			}
		},

		queue(id: string) {
			this.pending.add(id);
			this.changedDuringRebuild?.add(id);
			if (this.flushTimer) return;
			this.flushTimer = setTimeout(() => {
				this.flushTimer = null;
				void this.flush();
			}, BATCH_MS);
		},

		async flush() {
			// One read at a time (an older answer never lands after a newer one); ids queued meanwhile wait for the next.
			while (this.flushing) await this.flushing;
			const ids = [...this.pending].slice(0, 1000);
			if (ids.length === 0) return;
			for (const id of ids) this.pending.delete(id);
			this.flushing = (async () => {
				try {
					const rows = await this.broker.call<DirectoryRow[], { ids: string[] }>("users.directoryOf", { ids });
					const found = new Set(rows.map((r) => r.id));
					for (const row of rows) {
						this.index.apply(row);
						this.see(row);
					}
					for (const id of ids) if (!found.has(id)) this.index.remove(id);
				} catch (err) {
					// Tried again at the next event or by the resync.
					for (const id of ids) this.pending.add(id);
					this.logger.warn("Could not read changed profiles; the resync catches up", (err as Error).message);
				} finally {
					this.flushing = null;
				}
			})();
			await this.flushing;
			if (this.pending.size > 0) this.queue([...this.pending][0]);
		},

		see(row: DirectoryRow) {
			if (row.updatedAt > this.watermark) this.watermark = row.updatedAt;
		},
	},

	created() {
		this.config = loadConfig().discovery;
		this.index = new CreatorIndex();
		this.ready = false;
		this.watermark = new Date(0).toISOString();
		this.pending = new Set();
		this.flushTimer = null;
		this.flushing = null;
		this.rebuilding = null;
		this.rebuildMs = null;
		this.changedDuringRebuild = null;
	},

	started() {
		// Not awaited: a large store takes a while, and the node answers 503 until it is done.
		this.startRebuild();
	},

	async stopped() {
		if (this.flushTimer) clearTimeout(this.flushTimer);
		this.flushTimer = null;
		await this.rebuilding;
		await this.flushing;
	},
};

export default schema;
