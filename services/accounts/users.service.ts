import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { loadConfig } from "../../lib/config";
import { accountEncryptionKey } from "../../lib/config/accounts";
import { createCounters } from "../../lib/db/counters";
import { sealKey } from "../../lib/tools/sealed";
import { withDefaults } from "../../lib/domain/user-settings";
import { notFound } from "../../lib/tools/errors";
import auth from "./users.auth";
import access from "./users.access";
import profiles from "./users.profiles";
import email from "./users.email";
import sessions from "./users.sessions";
import twofactor from "./users.twofactor";
import tokens from "./users.tokens";
import directory from "./users.directory";
import type { Ctx, Local, Methods, Settings, UserDoc } from "./users.types";

/**
 * Accounts and channels: every user owns the channel named after them. One service (`users`)
 * owns the `users`, `refresh_tokens`, `account_tokens` and `personal_tokens` collections; its actions are in one part
 * per concern:
 *
 *  - users.auth.ts      sign-up, sign-in (failures throttled per login), refresh-token rotation
 *                       with reuse detection (a reused token revokes its whole family), sign-out
 *                       and `me`;
 *  - users.access.ts    what gateways check on every token and socket: roles, bans (a ban
 *                       revokes every refresh token and disconnects every socket), overlay tokens;
 *  - users.profiles.ts  profiles, channel settings, the internal user record and operator search;
 *  - users.email.ts     emailed one-time tokens (stored hashed, used once): email verification and
 *                       password reset (`forgot` never says whether the account exists);
 *  - users.sessions.ts  password change and sessions (one per refresh family): list, end one or
 *                       all others; an ended session's access tokens are refused on every gateway;
 *  - users.twofactor.ts TOTP two-factor (setup, enable with recovery codes, disable), the sign-in
 *                       challenge and its second step, codes throttled per account;
 *  - users.tokens.ts    personal access tokens for bots (`msp_…`, stored hashed, scoped), what
 *                       gateways resolve them to, revocation on every gateway at once;
 *  - users.directory.ts the pages and look-ups a search node builds and repairs its index from.
 *
 * The parts are one service because they read and write the same user document (a ban and a
 * profile read are one row, and one collection has one owner); this file holds the collections,
 * the list of actions by part, the views of a user and the lifecycle. A next accounts feature
 * goes in a part of its own here (email verification, 2FA, a session list: users.<concern>.ts,
 * its actions and methods spread below, its types in users.types.ts), or in a NAME.service.ts of
 * this folder when it owns its own state and needs the user only through `users.get`.
 *
 * Crash safety: every write is one document (or a conditional update: of two refreshes racing
 * with one token, one wins); nothing is left half done for a restart to finish.
 */

const schema: ServiceSchema<Settings, Methods, Local> = {
	name: "users",
	mixins: [
		DbMixin(
			"users",
			[
				{ fields: "username", unique: true },
				{ fields: "email", unique: true },
				{ fields: "overlayToken", unique: true },
				// A search node's resync reads the accounts changed since a time (users.directory.ts).
				{ fields: "updatedAt" },
			],
			{
				refresh_tokens: [{ fields: "family" }, { fields: "userId" }, { fields: "revokedAt" }],
				account_tokens: [{ fields: "hash", unique: true }, { fields: "userId" }],
				personal_tokens: [{ fields: "hash", unique: true }, { fields: "userId" }],
			},
		),
	],
	settings: {
		rest: "/",
		$secureSettings: [],
	},

	actions: {
		...auth.actions,
		...access.actions,
		...profiles.actions,
		...email.actions,
		...sessions.actions,
		...twofactor.actions,
		...tokens.actions,
		...directory.actions,
	},

	methods: {
		...auth.methods,
		...access.methods,
		...email.methods,
		...sessions.methods,
		...twofactor.methods,
		toAuthUser(u: UserDoc) {
			return { id: u._id, username: u.username, displayName: u.displayName, roles: u.roles };
		},
		toInternal(u: UserDoc) {
			return {
				id: u._id,
				username: u.username,
				displayName: u.displayName,
				email: u.email,
				emailVerified: !!u.emailVerifiedAt,
				twoFactorEnabled: !!u.twoFactorEnabledAt,
				/** The account's email language (receipts and other mails). */
				lang: u.lang ?? null,
				roles: u.roles,
				settings: withDefaults(u.settings),
				bannedAt: u.bannedAt ?? null,
				avatarUrl: u.avatarUrl,
				followerCount: u.followerCount ?? 0,
			};
		},
		toFullUser(u: UserDoc) {
			return {
				id: u._id,
				username: u.username,
				email: u.email,
				displayName: u.displayName,
				bio: u.bio,
				avatarUrl: u.avatarUrl,
				roles: u.roles,
				settings: withDefaults(u.settings),
				followerCount: u.followerCount ?? 0,
				emailVerified: !!u.emailVerifiedAt,
				twoFactorEnabled: !!u.twoFactorEnabledAt,
				overlayToken: u.overlayToken,
				overlayUrl: this.overlayUrl(u.overlayToken),
				links: u.links ?? [],
				platforms: u.platforms ?? [],
				createdAt: u.createdAt,
				updatedAt: u.updatedAt,
			};
		},
		toPublicProfile(u: UserDoc, goal: unknown) {
			const s = withDefaults(u.settings);
			return {
				id: u._id,
				username: u.username,
				displayName: u.displayName,
				bio: u.bio,
				avatarUrl: u.avatarUrl,
				donations: { enabled: s.donations.enabled && !u.bannedAt, minAmount: s.donations.minAmount, currency: s.donations.currency },
				mediaShare: { enabled: s.mediaShare.enabled, pricePerSecond: s.mediaShare.pricePerSecond, maxSeconds: s.mediaShare.maxSeconds },
				goal: goal ?? null,
				followerCount: u.followerCount ?? 0,
				links: u.links ?? [],
				platforms: u.platforms ?? [],
				createdAt: u.createdAt,
			};
		},
		overlayUrl(token: string) {
			return `${this.appConfig.publicUrl}/overlay/alerts?token=${encodeURIComponent(token)}`;
		},
		async loadUser(id: string): Promise<UserDoc> {
			const user = await this.store.findById(id);
			if (!user) throw notFound("User");
			return user;
		},
		async byUsername(username: string): Promise<UserDoc> {
			const user = await this.store.findOne({ username: username.toLowerCase() });
			if (!user) throw notFound("User");
			return user;
		},
		async profileChanged(ctx: Ctx, user: UserDoc) {
			// Every users instance cleans its own cache (memory cacher) — or the shared one (Redis).
			ctx.broadcast("users.changed", { id: user._id, username: user.username });
		},
	},

	events: {
		"users.changed": {
			async handler(ctx: Context<{ id: string; username: string }>) {
				if (!this.broker.cacher) return;
				await this.broker.cacher.del(`users.profile:${ctx.params.username}`);
				await this.broker.cacher.clean(`users.get:*`);
			},
		},
		/** An avatar from the media library was deleted: the profile goes back to none (the initials). */
		"media.removed": {
			async handler(ctx: Context<{ ownerId: string; url: string; ownerStillHas: boolean }>) {
				if (ctx.params.ownerStillHas) return;
				const cleared = await this.store.updateMany(
					{ _id: ctx.params.ownerId, avatarUrl: ctx.params.url },
					{ $set: { avatarUrl: null, updatedAt: new Date().toISOString() } },
				);
				const user = cleared > 0 ? await this.store.findById(ctx.params.ownerId) : null;
				if (user) await this.profileChanged(ctx, user);
			},
		},
		/** The goal shows on the profile; drop the cached copy when it moves. */
		"donations.goalChanged": {
			async handler(ctx: Context<{ username: string }>) {
				if (this.broker.cacher && ctx.params.username) await this.broker.cacher.del(`users.profile:${ctx.params.username}`);
			},
		},
	},

	created() {
		this.appConfig = loadConfig();
		this.sealKey = sealKey(accountEncryptionKey());
		// With REDIS_URL the failure counts are shared, so several users instances (each login
		// lands on any of them) cannot multiply the attempts an attacker gets.
		this.loginFailures = createCounters("login-throttle", "login");
		this.accountMails = createCounters("account-mail-throttle", "accountmail");
	},

	async started() {
		await this.grantConfiguredAdmins();
	},

	stopped() {
		this.loginFailures?.close();
		this.accountMails?.close();
	},
};

export default schema;
