import type { CreatorSource } from "../../lib/domain/discovery/creator-index";
import type { Ctx, UserDoc, UsersPart } from "./users.types";

/**
 * The users service's directory (see users.service.ts): what a node keeping its own copy of the
 * public profiles (the search index, services/discovery/) reads to build and repair it. Never
 * cached (a change event is answered with a read that must see the change); banned and deleted
 * accounts are answered too, marked, so the reader can drop them.
 *
 *  - `users.directoryPage {after?, limit}`: every account, oldest `_id` first, in pages (a rebuild).
 *  - `users.directoryPage {updatedSince, after?, limit}`: the accounts changed at or after
 *    `updatedSince`, by (`updatedAt`, `_id`) (a resync); `after` is the `cursor` answered.
 *  - `users.directoryOf {ids}`: these accounts now (a change event); a missing one is deleted.
 */

/** One account as a search node sees it (the fields its index decides on, and when it last changed). */
export interface DirectoryEntry extends CreatorSource {
	bannedAt: string | null;
	deletedAt: string | null;
	updatedAt: string;
}

const view = (u: UserDoc): DirectoryEntry => ({
	id: u._id,
	username: u.username,
	displayName: u.displayName,
	bio: u.bio ?? "",
	avatarUrl: u.avatarUrl ?? null,
	followerCount: u.followerCount ?? 0,
	bannedAt: u.bannedAt ?? null,
	deletedAt: (u as UserDoc & { deletedAt?: string | null }).deletedAt ?? null,
	updatedAt: u.updatedAt,
});

type PageParams = { after?: string; updatedSince?: string; limit?: number };

const directory: UsersPart = {
	actions: {
		/** A page of accounts for a search node's rebuild (by `_id`) or resync (changed since a time). */
		directoryPage: {
			visibility: "public",
			params: {
				after: { type: "string", max: 200, optional: true },
				updatedSince: { type: "string", max: 40, optional: true },
				limit: { type: "number", integer: true, min: 1, max: 5000, optional: true },
			},
			async handler(ctx: Ctx<PageParams>) {
				const limit = ctx.params.limit ?? 1000;
				const { after, updatedSince } = ctx.params;
				if (updatedSince === undefined) {
					// A range on `_id` (also for the first page), so NeDB reads its index in order and stops at `limit`.
					const rows = await this.store.find({ query: { _id: { $gt: after ?? "" } }, sort: ["_id"], limit });
					return { items: rows.map(view), cursor: rows.length === limit ? rows[rows.length - 1]._id : null };
				}
				// The cursor is "<updatedAt>|<_id>" of the last row answered: rows of the same
				// instant after that id come first, then the later instants.
				const [atTime, atId] = after ? after.split("|") : [updatedSince, ""];
				const same = atId ? await this.store.find({ query: { updatedAt: atTime, _id: { $gt: atId } }, sort: ["_id"], limit }) : [];
				const later =
					same.length < limit
						? await this.store.find({
								query: { updatedAt: atId ? { $gt: atTime } : { $gte: atTime } },
								sort: ["updatedAt", "_id"],
								limit: limit - same.length,
							})
						: [];
				const rows = [...same, ...later];
				const last = rows[rows.length - 1];
				return { items: rows.map(view), cursor: rows.length === limit ? `${last.updatedAt}|${last._id}` : null };
			},
		},

		/** These accounts as they are now; ids with no account are left out (deleted). */
		directoryOf: {
			visibility: "public",
			params: { ids: { type: "array", items: { type: "string", max: 64 }, max: 1000 } },
			async handler(ctx: Ctx<{ ids: string[] }>) {
				return (await this.store.findByIds([...new Set(ctx.params.ids)])).map(view);
			},
		},
	},
};

export default directory;
