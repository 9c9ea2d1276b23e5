import { USERNAME_RULE } from "../../lib/domain/usernames";
import { NAMESPACE, rooms } from "../../lib/domain/rooms";
import { randomToken } from "../../lib/tools/ids";
import { sha256 } from "./users.auth";
import type { Ctx, UserDoc, UsersPart } from "./users.types";

/**
 * The users service's access rules as gateways apply them (see users.service.ts): roles and bans
 * are broadcast to every gateway, which applies them to the access tokens already issued and to
 * open sockets, and asked for again by a gateway that starts (`rolesChangedSince`,
 * `bannedSince`). A ban also revokes every refresh token and disconnects every socket of the
 * user. Overlay tokens open the alert overlay; rotating one disconnects the overlays that use it.
 */

const access: UsersPart = {
	actions: {
		/** New overlay token; overlays using the old one are disconnected at once. */
		rotateOverlayToken: {
			rest: "POST /users/me/overlay-token",
			auth: "required",
			async handler(ctx: Ctx) {
				return this.rotateOverlay(ctx, await this.loadUser(ctx.meta.user!.id));
			},
		},

		/** Operators: rotate a user's overlay token (e.g. after it leaked on stream). */
		rotateOverlayTokenFor: {
			visibility: "public",
			params: { username: USERNAME_RULE },
			async handler(ctx: Ctx<{ username: string }>) {
				return this.rotateOverlay(ctx, await this.byUsername(ctx.params.username));
			},
		},

		/** Overlay socket handshake: token → owner. */
		resolveOverlayToken: {
			visibility: "public",
			params: { token: { type: "string", min: 1, max: 200 } },
			async handler(ctx: Ctx<{ token: string }>) {
				const user = await this.store.findOne({ overlayToken: ctx.params.token });
				if (!user || user.bannedAt) return null;
				return { user: this.toAuthUser(user), tokenId: this.tokenId(user.overlayToken) };
			},
		},

		/** Operators: grant or remove roles. */
		setRoles: {
			visibility: "public",
			params: { username: USERNAME_RULE, roles: { type: "array", items: { type: "enum", values: ["user", "admin"] }, min: 1 } },
			async handler(ctx: Ctx<{ username: string; roles: string[] }>) {
				const user = await this.byUsername(ctx.params.username);
				const at = Date.now();
				await this.store.updateMany({ _id: user._id }, { $set: { roles: ctx.params.roles, rolesChangedAt: new Date(at).toISOString() } });
				// Every gateway applies the new roles to the access tokens already issued and to open sockets.
				ctx.broadcast("users.rolesChanged", { userId: user._id, roles: ctx.params.roles, at });
				return { username: user.username, roles: ctx.params.roles };
			},
		},

		/** Role changes since `since` (ms): a gateway that starts learns which tokens carry old roles. */
		rolesChangedSince: {
			visibility: "public",
			params: { since: { type: "number", integer: true, min: 0 } },
			async handler(ctx: Ctx<{ since: number }>) {
				const rows = await this.store.find({ query: { rolesChangedAt: { $gte: new Date(ctx.params.since).toISOString() } } });
				return rows.map((u) => ({ userId: u._id, roles: u.roles, at: Date.parse(u.rolesChangedAt!) }));
			},
		},

		/** Operators: suspend or restore an account (sign-in, refresh and overlays stop). */
		setBanned: {
			visibility: "public",
			params: { username: USERNAME_RULE, banned: "boolean", reason: { type: "string", max: 300, optional: true } },
			async handler(ctx: Ctx<{ username: string; banned: boolean; reason?: string }>) {
				const user = await this.byUsername(ctx.params.username);
				await this.store.updateMany(
					{ _id: user._id },
					{
						$set: {
							bannedAt: ctx.params.banned ? new Date().toISOString() : null,
							banReason: ctx.params.banned ? (ctx.params.reason ?? null) : null,
							// A search node that missed the event finds the ban by its resync (changed since).
							updatedAt: new Date().toISOString(),
						},
					},
				);
				if (ctx.params.banned) {
					// Marked as the ban's: its access tokens follow the ban (bannedSince), so lifting it restores them.
					await this.stores.refresh_tokens.updateMany({ userId: user._id, revokedAt: null }, { $set: { revokedAt: Date.now(), revokedBy: "ban" } });
					ctx.broadcast("ws.disconnect", { namespace: NAMESPACE.overlay, rooms: [rooms.overlay(user._id)] });
					ctx.broadcast("ws.disconnect", { namespace: NAMESPACE.main, rooms: [rooms.user(user._id), rooms.personalTokensOf(user._id)] });
					ctx.broadcast("ws.disconnect", { namespace: NAMESPACE.events, rooms: [rooms.events(user._id)] });
				}
				// Every gateway stops (or resumes) accepting the access tokens already issued.
				ctx.broadcast("users.banned", { userId: user._id, banned: ctx.params.banned, at: Date.now() });
				await this.profileChanged(ctx, user);
				return { username: user.username, banned: ctx.params.banned };
			},
		},

		/** Users banned since `since` (ms): a gateway that starts learns whose tokens to refuse. */
		bannedSince: {
			visibility: "public",
			params: { since: { type: "number", integer: true, min: 0 } },
			async handler(ctx: Ctx<{ since: number }>) {
				const rows = await this.store.find({ query: { bannedAt: { $gte: new Date(ctx.params.since).toISOString() } } });
				return rows.map((u) => ({ userId: u._id, at: Date.parse(u.bannedAt!) }));
			},
		},
	},

	methods: {
		/** The overlay rooms' name for a token (`overlaytoken:<id>`), never the token itself. */
		tokenId(token: string) {
			return sha256(token).slice(0, 16);
		},
		async rotateOverlay(ctx: Ctx, user: UserDoc) {
			const token = randomToken(24);
			await this.store.updateMany({ _id: user._id }, { $set: { overlayToken: token, updatedAt: new Date().toISOString() } });
			ctx.broadcast("ws.disconnect", { namespace: NAMESPACE.overlay, rooms: [rooms.overlayToken(this.tokenId(user.overlayToken))] });
			return { overlayToken: token, overlayUrl: this.overlayUrl(token) };
		},
		/** ADMIN_USERNAMES: each existing account named there holds `admin` (sign-up grants it to new ones). */
		async grantConfiguredAdmins() {
			for (const username of this.appConfig.accounts.adminUsernames) {
				const user = await this.store.findOne({ username });
				if (!user || user.roles.includes("admin")) continue;
				const roles = [...user.roles, "admin"];
				const at = Date.now();
				// Conditional on the roles read: an operator's change made meanwhile is not overwritten.
				const changed = await this.store.updateIf(
					{ _id: user._id, rolesChangedAt: user.rolesChangedAt ?? { $exists: false } },
					{ $set: { roles, rolesChangedAt: new Date(at).toISOString() } },
				);
				if (!changed) continue;
				this.logger.info(`User ${username} holds the role admin (ADMIN_USERNAMES)`);
				this.broker.broadcast("users.rolesChanged", { userId: user._id, roles, at });
			}
		},
	},
};

export default access;
