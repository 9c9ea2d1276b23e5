import { hashPassword, passwordProblem, verifyPassword } from "../../lib/tools/passwords";
import { checkLimits } from "../../lib/tools/rate-limit";
import { forbidden, invalid, notFound, tooMany } from "../../lib/tools/errors";
import { sessionRows } from "../../lib/domain/accounts/sessions";
import type { Ctx, UsersPart } from "./users.types";

/**
 * The users service's sessions (see users.service.ts): a session is one refresh-token family (a
 * sign-in and its rotations); every access token names its family (`sid`). The owner lists them
 * (client, IP, sign-in and last use) and ends one or all others; a password change ends every
 * session but the caller's, a reset (users.email.ts) every one. Ending a session revokes its
 * refresh tokens and broadcasts `users.sessionsEnded`: every gateway refuses that session's
 * access tokens from then on for one access-token lifetime (the ban revocation path of
 * lib/tools/revoked-users.ts), and a gateway that starts asks `sessionsEndedSince`. Wrong current
 * passwords count against the account like failed sign-ins (429 past LOGIN_MAX_FAILURES).
 *
 * Crash safety: the refresh tokens are revoked before the broadcast; a gateway that missed it
 * learns it on start, and the refresh tokens, the source of truth, stay dead either way.
 */

const LIST_MAX = 100;

const sessions: UsersPart = {
	actions: {
		/** Change the password (the current one required); every other session ends. */
		changePassword: {
			rest: "PUT /me/password",
			auth: "required",
			status: 204,
			retryPolicy: { enabled: false },
			params: { currentPassword: { type: "string", min: 1, max: 200 }, password: { type: "string", min: 8, max: 200 } },
			async handler(ctx: Ctx<{ currentPassword: string; password: string }>) {
				const me = ctx.meta.user!;
				const user = await this.loadUser(me.id);
				const key = `password:${user._id}`;
				const limit = { limit: this.appConfig.accounts.loginMaxFailures, windowMs: this.appConfig.accounts.loginWindowMs };
				if ((await this.loginFailures.store.peek(`${key}:${limit.limit}`, limit.windowMs)) >= limit.limit) {
					throw tooMany("Too many wrong passwords; try again later", 15 * 60, "PASSWORD_THROTTLED");
				}
				if (!(await verifyPassword(ctx.params.currentPassword, user.passwordHash))) {
					await checkLimits(this.loginFailures.store, key, [limit]);
					throw forbidden("The current password is wrong", "WRONG_PASSWORD");
				}
				const weak = passwordProblem(ctx.params.password);
				if (weak) throw invalid("password", weak, "PASSWORD_TOO_WEAK");
				const now = new Date().toISOString();
				await this.store.updateMany(
					{ _id: user._id },
					{ $set: { passwordHash: await hashPassword(ctx.params.password), passwordChangedAt: now, updatedAt: now } },
				);
				// A token without a session (issued before sessions were named) cannot be kept: end them all.
				await this.endSessions(user._id, me.sid);
				return null;
			},
		},

		/** The caller's sessions, most recently used first. */
		listSessions: {
			rest: "GET /me/sessions",
			auth: "required",
			params: {
				limit: { type: "number", integer: true, min: 1, max: LIST_MAX, optional: true, convert: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(ctx: Ctx<{ limit?: number; cursor?: string }>) {
				const me = ctx.meta.user!;
				const tokens = await this.stores.refresh_tokens.find({ query: { userId: me.id, usedAt: null, revokedAt: null } });
				const rows = sessionRows(tokens, me.sid, Date.now());
				const start = ctx.params.cursor ? rows.findIndex((r) => r.id === ctx.params.cursor) + 1 : 0;
				const limit = ctx.params.limit ?? 20;
				const items = rows.slice(start, start + limit);
				return { items, nextCursor: start + limit < rows.length ? items[items.length - 1].id : null };
			},
		},

		/** End one session (its refresh token stops working, and its access tokens on every gateway). */
		endSession: {
			rest: "DELETE /me/sessions/:id",
			auth: "required",
			status: 204,
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				// Ownership: only the caller's own families are found.
				const owned = await this.stores.refresh_tokens.findOne({ family: ctx.params.id, userId: ctx.meta.user!.id, revokedAt: null });
				if (!owned) throw notFound("Session");
				await this.revokeFamily(ctx.params.id);
				return null;
			},
		},

		/** End every session but the caller's. */
		endOtherSessions: {
			rest: "DELETE /me/sessions",
			auth: "required",
			status: 204,
			async handler(ctx: Ctx) {
				const me = ctx.meta.user!;
				await this.endSessions(me.id, me.sid);
				return null;
			},
		},

		/** Sessions ended since `since` (ms): a gateway that starts learns whose access tokens to refuse. */
		sessionsEndedSince: {
			visibility: "public",
			params: { since: { type: "number", integer: true, min: 0 } },
			async handler(ctx: Ctx<{ since: number }>) {
				const rows = await this.stores.refresh_tokens.find({ query: { revokedAt: { $gte: ctx.params.since } } });
				const latest = new Map<string, number>();
				// A ban's revocations are the ban's (bannedSince): lifting it accepts those access tokens again.
				for (const r of rows) if (r.revokedBy !== "ban") latest.set(r.family, Math.max(r.revokedAt ?? 0, latest.get(r.family) ?? 0));
				return [...latest].map(([family, at]) => ({ sessions: [family], at }));
			},
		},
	},

	methods: {
		async endSessions(userId: string, keep?: string) {
			const live = await this.stores.refresh_tokens.find({ query: { userId, revokedAt: null } });
			const families = [...new Set(live.map((t) => t.family))].filter((f) => f !== keep);
			if (families.length === 0) return 0;
			const at = Date.now();
			for (const family of families) await this.stores.refresh_tokens.updateMany({ family, revokedAt: null }, { $set: { revokedAt: at } });
			this.announceEnded(families, at);
			return families.length;
		},

		announceEnded(sessions: string[], at: number) {
			if (sessions.length > 0) this.broker.broadcast("users.sessionsEnded", { sessions, at });
		},
	},
};

export default sessions;
