import { createHash } from "node:crypto";
import { hashPassword, verifyPassword, decoyHash, passwordProblem } from "../../lib/tools/passwords";
import { isReservedUsername, USERNAME_RULE } from "../../lib/domain/usernames";
import { withDefaults } from "../../lib/domain/user-settings";
import { signAccessToken } from "../../lib/tools/tokens";
import { newId, randomToken } from "../../lib/tools/ids";
import { checkLimits } from "../../lib/tools/rate-limit";
import { cleanUserAgent } from "../../lib/domain/accounts/sessions";
import { MAIL_LANGS, type MailLang } from "../../lib/domain/accounts/emails";
import { conflict, forbidden, invalid, isDuplicateKey, tooMany, unauthorized } from "../../lib/tools/errors";
import type { Ctx, RefreshDoc, UserDoc, UsersPart } from "./users.types";

/**
 * The users service's authentication (see users.service.ts): sign-up, sign-in, refresh tokens and
 * sign-out. A sign-in opens a refresh-token family; each refresh uses its token up (a conditional
 * update, so of two racing refreshes one wins) and issues the next of the family; a token
 * presented twice means it leaked, and the whole family is revoked. Failed sign-ins are counted
 * per login (Redis when REDIS_URL is set, so every instance counts the same attempts). Each
 * refresh token records the client (user agent, IP) for the session list, and every access token
 * names its family (`sid`), so ending a session (sign-out, reuse, users.sessions.ts) refuses its
 * access tokens on every gateway too. Sign-up sends the email-verification link (users.email.ts).
 */

export const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

const auth: UsersPart = {
	actions: {
		/** Create an account; answers with tokens so the client is signed in at once. */
		register: {
			rest: "POST /auth/register",
			status: 201,
			// Never retried by the broker: a second run would answer 409 to the registration the first one made.
			retryPolicy: { enabled: false },
			params: {
				username: USERNAME_RULE,
				email: { type: "email", max: 254 },
				password: { type: "string", min: 8, max: 200 },
				displayName: { type: "string", text: "line", min: 1, max: 50, optional: true },
				lang: { type: "enum", values: [...MAIL_LANGS], optional: true },
			},
			async handler(ctx: Ctx<{ username: string; email: string; password: string; displayName?: string; lang?: MailLang }>) {
				const p = ctx.params;
				const username = p.username.toLowerCase();
				if (isReservedUsername(username)) throw invalid("username", "That username is reserved", "USERNAME_RESERVED");
				const weak = passwordProblem(p.password);
				if (weak) throw invalid("password", weak, "PASSWORD_TOO_WEAK");
				const email = p.email.trim().toLowerCase();
				const now = new Date().toISOString();
				const doc: UserDoc = {
					_id: newId(),
					username,
					email,
					passwordHash: await hashPassword(p.password),
					displayName: p.displayName || p.username,
					bio: "",
					avatarUrl: null,
					roles: this.appConfig.accounts.adminUsernames.includes(username) ? ["user", "admin"] : ["user"],
					settings: withDefaults({}),
					overlayToken: randomToken(24),
					followerCount: 0,
					emailVerifiedAt: null,
					...(p.lang ? { lang: p.lang } : {}),
					createdAt: now,
					updatedAt: now,
				};
				if (await this.store.findOne({ username })) throw conflict("That username is taken", "USERNAME_TAKEN", [{ field: "username" }]);
				if (await this.store.findOne({ email })) throw conflict("That email is already registered", "EMAIL_TAKEN", [{ field: "email" }]);
				try {
					await this.store.insert(doc);
				} catch (err) {
					if (isDuplicateKey(err)) throw conflict("That username or email is taken", "ACCOUNT_EXISTS");
					throw err;
				}
				ctx.meta.$location = `/api/users/${username}`;
				ctx.emit("users.created", { user: this.toAuthUser(doc) });
				// Every node keeping a copy of the profiles (each search node) learns of the new one.
				await this.profileChanged(ctx, doc);
				// The link goes out after the answer; a lost one is sent again by POST /auth/email/resend.
				this.sendOneTime("verify", doc).catch((err: Error) => this.logger.warn("Could not send the verification email", err.message));
				return { user: this.toFullUser(doc), ...(await this.issueTokens(doc, ctx)) };
			},
		},

		/** Sign in with username or email. Repeated failures for one login are slowed down (429). */
		login: {
			rest: "POST /auth/login",
			// Never retried by the broker: a second run would open a second sign-in session.
			retryPolicy: { enabled: false },
			params: { login: { type: "string", min: 1, max: 254 }, password: { type: "string", min: 1, max: 200 } },
			async handler(ctx: Ctx<{ login: string; password: string }>) {
				const login = ctx.params.login.trim().toLowerCase();
				const throttleKey = `login:${login}`;
				const limit = { limit: this.appConfig.accounts.loginMaxFailures, windowMs: this.appConfig.accounts.loginWindowMs };
				if ((await this.loginFailures.store.peek(`${throttleKey}:${limit.limit}`, limit.windowMs)) >= limit.limit) {
					throw tooMany("Too many failed sign-in attempts; try again later", 15 * 60, "LOGIN_THROTTLED");
				}
				const user = await this.store.findOne(login.includes("@") ? { email: login } : { username: login });
				const ok = user
					? await verifyPassword(ctx.params.password, user.passwordHash)
					: (await verifyPassword(ctx.params.password, await decoyHash()), false);
				if (!user || !ok) {
					await checkLimits(this.loginFailures.store, throttleKey, [limit]);
					throw unauthorized("Wrong login or password", "INVALID_CREDENTIALS");
				}
				if (user.bannedAt) throw forbidden("This account is suspended", "ACCOUNT_BANNED");
				// With two-factor on, the password opens only the second step (users.twofactor.ts).
				if (user.twoFactorEnabledAt) return this.startChallenge(user);
				return { user: this.toFullUser(user), ...(await this.issueTokens(user, ctx)) };
			},
		},

		/** Trade a refresh token for a new pair; a reused token revokes its whole family. */
		refresh: {
			rest: "POST /auth/refresh",
			// Never retried by the broker: a second run would present the token the first one rotated, which revokes the whole family.
			retryPolicy: { enabled: false },
			params: { refreshToken: { type: "string", min: 10, max: 200 } },
			async handler(ctx: Ctx<{ refreshToken: string }>) {
				const token = await this.findRefresh(ctx.params.refreshToken);
				if (!token || token.revokedAt || token.expiresAt < Date.now()) throw unauthorized("Refresh token is not valid", "INVALID_REFRESH_TOKEN");
				// Conditional update: of two racing refreshes with the same token, only one wins.
				const won = await this.stores.refresh_tokens.updateIf({ _id: token._id, usedAt: null, revokedAt: null }, { $set: { usedAt: Date.now() } });
				if (!won || token.usedAt) {
					await this.revokeFamily(token.family);
					throw unauthorized("Refresh token was already used; every session of this sign-in was signed out", "REFRESH_TOKEN_REUSED");
				}
				const user = await this.store.findById(token.userId);
				if (!user || user.bannedAt) throw unauthorized("Account is not active", "INVALID_REFRESH_TOKEN");
				return this.issueTokens(user, ctx, token);
			},
		},

		/** Sign out: the refresh token's family dies. Always 204. */
		logout: {
			rest: "POST /auth/logout",
			status: 204,
			params: { refreshToken: { type: "string", min: 1, max: 200 } },
			async handler(ctx: Ctx<{ refreshToken: string }>) {
				const token = await this.findRefresh(ctx.params.refreshToken);
				if (token) await this.revokeFamily(token.family);
				return null;
			},
		},

		/** The caller's full user, settings and overlay URL included. */
		me: {
			rest: "GET /auth/me",
			auth: "required",
			scopes: ["profile:read"],
			async handler(ctx: Ctx) {
				const full = this.toFullUser(await this.loadUser(ctx.meta.user!.id));
				if (!ctx.meta.user!.scopes) return full;
				// A personal token reads the profile, not the overlay's secret.
				const { overlayToken: _token, overlayUrl: _url, ...profile } = full;
				return profile;
			},
		},
	},

	methods: {
		/** A new access token and the next refresh token of `from`'s family (a new family without one). */
		async issueTokens(user: UserDoc, ctx: Ctx, from?: RefreshDoc) {
			const cfg = this.appConfig;
			const id = newId();
			const secretPart = randomToken(32);
			const now = Date.now();
			const doc: RefreshDoc = {
				_id: id,
				family: from?.family ?? id,
				userId: user._id,
				hash: sha256(secretPart),
				expiresAt: now + cfg.refreshTokenTtlSec * 1000,
				usedAt: null,
				revokedAt: null,
				issuedAt: now,
				familyCreatedAt: from ? (from.familyCreatedAt ?? from.issuedAt ?? now) : now,
				userAgent: cleanUserAgent(ctx.meta.userAgent) ?? from?.userAgent ?? null,
				ip: ctx.meta.ip ?? from?.ip ?? null,
			};
			await this.stores.refresh_tokens.insert(doc);
			return {
				accessToken: signAccessToken(this.toAuthUser(user), cfg.jwtSecret, cfg.accessTokenTtlSec, doc.family),
				refreshToken: `${id}.${secretPart}`,
				expiresIn: cfg.accessTokenTtlSec,
			};
		},
		async findRefresh(token: string): Promise<RefreshDoc | null> {
			const dot = token.indexOf(".");
			if (dot <= 0) return null;
			const doc = await this.stores.refresh_tokens.findById(token.slice(0, dot));
			if (!doc || doc.hash !== sha256(token.slice(dot + 1))) return null;
			return doc;
		},
		async revokeFamily(family: string) {
			const at = Date.now();
			await this.stores.refresh_tokens.updateMany({ family, revokedAt: null }, { $set: { revokedAt: at } });
			this.announceEnded([family], at);
		},
	},
};

export default auth;
