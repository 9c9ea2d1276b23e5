import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import { DbMixin, type Collection, type DbThis, type IndexSpec } from "./db.mixin";
import { SweeperMixin, type SweeperMethods } from "./sweeper.mixin";
import { adoptLegacyMark, redriveDue, sendAndClear } from "../lib/db/outbox";
import { loadConfig } from "../lib/config";
import { notFound } from "../lib/tools/errors";
import type { GatewayMeta } from "../types/moleculer";

/**
 * What posts, comments, follows and likes share: their store (the db mixin), the REST base, the
 * user and identity look-ups, soft calls for decoration (counts), and, for the producers of a
 * notification message (comments, follows, likes), the outbox: a row written with
 * `effectsDue: true` is announced on its channel and the mark cleared (lib/db/outbox.ts); what a
 * crash or a down channel adapter left marked is re-driven by the `redrive` sweep after
 * SOCIAL_REDRIVE_MS, and rows stored with the old `pendingNotify` mark are adopted on start.
 */

/** A stored document as the db mixin takes it (plain interfaces, no index signature needed). */
type Doc = NonNullable<Awaited<ReturnType<Collection["findById"]>>>;
type Row = { _id: string } & Doc;
/** Any request context (methods take it whatever its params). */
export type Ctx = Context<unknown, GatewayMeta>;

/** A user as `users.get` answers it (the fields social services read). */
export interface UserRef {
	id: string;
	username: string;
	bannedAt?: string | null;
	followerCount?: number;
}

/** A public identity as `users.identities` answers it. */
export interface Identity {
	id: string;
	username?: string;
	displayName?: string;
	[field: string]: unknown;
}

export interface Announce<R> {
	/** The channel a new row is announced on. */
	channel: string;
	/** The message for one row. */
	message: (row: R) => Record<string, unknown>;
}

export interface SocialSpec<R> {
	collection: string;
	indexes?: IndexSpec[];
	extra?: Record<string, IndexSpec[]>;
	announce?: Announce<R>;
}

export interface SocialMethods<R = Row> extends SweeperMethods {
	/** Announces the row and clears its mark; a message that cannot be queued now is left to the sweep. */
	notify(row: R): Promise<void>;
	/** Announces the rows marked for longer than `redriveMs`. */
	redrive(): Promise<void>;
	/** The user by username (404 when unknown, or suspended unless `allowBanned`). */
	userByName(ctx: Ctx, username: string, allowBanned?: boolean): Promise<UserRef>;
	/** Identities of these users by id, in one call. */
	identities(ctx: Ctx, ids: string[]): Promise<Map<string, Identity>>;
	/** A call whose answer is decoration: null (and a warning) while its service is unavailable. */
	softCall<T>(ctx: Ctx, action: string, params: Record<string, unknown>): Promise<T | null>;
}

export interface SocialLocal {
	redriveMs: number;
}

export type SocialSettings = ServiceSettingSchema & { rest: string };

/**
 * The schema type of a social service storing `R` (with `Extra` collections) and adding methods `M`:
 * `this` in its handlers has the store, the shared methods and its own.
 */
export type SocialSchema<R extends Row, M = object, Extra extends Record<string, Collection<Doc>> = Record<string, never>> = ServiceSchema<
	SocialSettings,
	SocialMethods<R> & M,
	DbThis<R, Extra> & SocialLocal
>;

export function SocialMixin<R extends Row>(spec: SocialSpec<R>): Partial<ServiceSchema> {
	type This = Service<SocialSettings> & DbThis<R, Record<string, Collection>> & SocialLocal & SocialMethods<R>;
	const announce = spec.announce;
	const send = (svc: This, row: R) => svc.broker.sendToChannel(announce!.channel, announce!.message(row));
	const mixin: Partial<ServiceSchema<SocialSettings, SocialMethods<R>, SocialLocal & DbThis<R>>> = {
		mixins: [
			DbMixin(spec.collection, spec.indexes, spec.extra),
			...(announce ? [SweeperMixin<This>({ name: "redrive", everyMs: (svc) => svc.redriveMs, run: (svc) => svc.redrive() })] : []),
		],
		settings: { rest: "/" },
		methods: {
			async notify(this: This, row: R) {
				try {
					await sendAndClear(this.store, row._id, () => send(this, row));
				} catch (err) {
					this.logger.warn(`Could not queue ${announce?.channel}; the sweep will retry`, (err as Error).message);
				}
			},
			async redrive(this: This) {
				try {
					await redriveDue(this.store, this.redriveMs, (row) => send(this, row as R));
				} catch (err) {
					this.logger.warn(`${announce?.channel} re-drive failed`, (err as Error).message);
				}
			},
			async userByName(this: This, ctx: Ctx, username: string, allowBanned = false) {
				const user = await ctx.call<UserRef | null, { username: string }>("users.get", { username });
				if (!user || (user.bannedAt && !allowBanned)) throw notFound("User");
				return user;
			},
			async identities(this: This, ctx: Ctx, ids: string[]) {
				const list = ids.length ? await ctx.call<Identity[], { ids: string[] }>("users.identities", { ids: [...new Set(ids)] }) : [];
				return new Map(list.map((u) => [u.id, u]));
			},
			async softCall<T>(this: This, ctx: Ctx, action: string, params: Record<string, unknown>): Promise<T | null> {
				try {
					return await ctx.call<T, Record<string, unknown>>(action, params);
				} catch (err) {
					this.logger.warn(`${action} failed; serving without it`, (err as Error).message);
					return null;
				}
			},
		},
		created(this: This) {
			this.redriveMs = loadConfig().social.redriveMs;
		},
		async started(this: This) {
			// After the db mixin's started (nested mixins start first): the store is connected.
			if (announce) await adoptLegacyMark(this.store, spec.collection, "pendingNotify");
		},
	};
	return mixin as unknown as Partial<ServiceSchema>;
}
