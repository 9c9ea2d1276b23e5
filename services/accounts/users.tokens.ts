import { newId } from "../../lib/tools/ids";
import { conflict, invalid, notFound } from "../../lib/tools/errors";
import { NAMESPACE, rooms } from "../../lib/domain/rooms";
import { SCOPE_NAMES, newPersonalToken, tokenLive } from "../../lib/domain/accounts/personal-tokens";
import type { Ctx, PersonalTokenDoc, UsersPart } from "./users.types";

/**
 * The users service's personal access tokens (see users.service.ts): bots and tools use
 * `Authorization: Bearer msp_…` (or `auth: {token}` on Socket.IO) instead of a 15-minute access
 * token. A token is shown once, when created; only its SHA-256 is stored (collection
 * `personal_tokens`). Gateways look a token up by its hash (`resolvePersonalToken`) and keep the
 * answer briefly (lib/tools/personal-tokens.ts); revoking one broadcasts `users.tokenRevoked`, so
 * every gateway drops it at once, and disconnects the sockets opened with it. What a token may
 * call is its scopes against each action's `scopes` metadata (middlewares/permissions.ts): these
 * actions declare none, so no token can mint, list or revoke tokens.
 *
 * Crash safety: each write is one document; a revocation is written before it is broadcast, and a
 * gateway that missed the broadcast refuses the token once its cached answer expires.
 */

/** Live tokens one account may have. */
const MAX_TOKENS = 50;
/** `lastUsedAt` is written at most this often per token (gateways cache their look-ups anyway). */
const LAST_USED_EVERY_MS = 60_000;

function tokenView(t: PersonalTokenDoc) {
	return {
		id: t._id,
		name: t.name,
		scopes: t.scopes,
		createdAt: t.createdAt,
		expiresAt: t.expiresAt === null ? null : new Date(t.expiresAt).toISOString(),
		lastUsedAt: t.lastUsedAt ? new Date(t.lastUsedAt).toISOString() : null,
	};
}

const tokens: UsersPart = {
	actions: {
		/** A new token; the secret is in this answer only. */
		createToken: {
			rest: "POST /me/tokens",
			auth: "required",
			status: 201,
			retryPolicy: { enabled: false },
			params: {
				name: { type: "string", text: "line", min: 1, max: 60 },
				scopes: { type: "array", min: 1, max: SCOPE_NAMES.length, unique: true, items: { type: "enum", values: SCOPE_NAMES } },
				expiresInDays: { type: "number", integer: true, min: 1, max: 3650, optional: true },
			},
			async handler(ctx: Ctx<{ name: string; scopes: string[]; expiresInDays?: number }>) {
				const userId = ctx.meta.user!.id;
				const user = await this.loadUser(userId);
				const now = Date.now();
				const live = (await this.stores.personal_tokens.find({ query: { userId: user._id, revokedAt: null } })).filter((t) => tokenLive(t, now));
				if (live.length >= MAX_TOKENS) throw conflict(`At most ${MAX_TOKENS} tokens; revoke one first`, "TOO_MANY_TOKENS");
				const name = ctx.params.name.trim();
				if (!name) throw invalid("name", "A name is required");
				const { token, hash } = newPersonalToken();
				const doc: PersonalTokenDoc = {
					_id: newId(now),
					userId: user._id,
					name,
					scopes: SCOPE_NAMES.filter((s) => ctx.params.scopes.includes(s)),
					hash,
					createdAt: new Date(now).toISOString(),
					expiresAt: ctx.params.expiresInDays ? now + ctx.params.expiresInDays * 86_400_000 : null,
					lastUsedAt: null,
					revokedAt: null,
				};
				await this.stores.personal_tokens.insert(doc);
				return { ...tokenView(doc), token };
			},
		},

		/** The caller's live tokens, newest first (never the secret). */
		listTokens: {
			rest: "GET /me/tokens",
			auth: "required",
			async handler(ctx: Ctx) {
				const now = Date.now();
				const rows = await this.stores.personal_tokens.find({ query: { userId: ctx.meta.user!.id, revokedAt: null }, sort: ["-_id"] });
				return { items: rows.filter((t) => tokenLive(t, now)).map(tokenView) };
			},
		},

		/** Revoke a token: refused at once on every gateway, its sockets disconnected. */
		revokeToken: {
			rest: "DELETE /me/tokens/:id",
			auth: "required",
			status: 204,
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				// Ownership: only the caller's own tokens are found.
				const doc = await this.stores.personal_tokens.findOne({ _id: ctx.params.id, userId: ctx.meta.user!.id, revokedAt: null });
				if (!doc) throw notFound("Token");
				await this.stores.personal_tokens.updateMany({ _id: doc._id }, { $set: { revokedAt: Date.now() } });
				// Awaited: the answer comes once every gateway has been told.
				await ctx.broadcast("users.tokenRevoked", { tokenId: doc._id, hash: doc.hash });
				for (const namespace of [NAMESPACE.main, NAMESPACE.events])
					await ctx.broadcast("ws.disconnect", { namespace, rooms: [rooms.personalToken(doc._id)] });
				return null;
			},
		},

		/** Gateways: the owner and scopes of a live token (by its SHA-256), or null. */
		resolvePersonalToken: {
			visibility: "public",
			params: { hash: { type: "string", length: 64 } },
			async handler(ctx: Ctx<{ hash: string }>) {
				const now = Date.now();
				const doc = await this.stores.personal_tokens.findOne({ hash: ctx.params.hash });
				if (!doc || !tokenLive(doc, now)) return null;
				const user = await this.store.findById(doc.userId);
				if (!user || user.bannedAt) return null;
				if (!doc.lastUsedAt || doc.lastUsedAt < now - LAST_USED_EVERY_MS)
					await this.stores.personal_tokens.updateMany({ _id: doc._id }, { $set: { lastUsedAt: now } });
				return { user: { ...this.toAuthUser(user), scopes: doc.scopes, tokenId: doc._id }, expiresAt: doc.expiresAt };
			},
		},
	},
};

export default tokens;
