import { createHash } from "node:crypto";
import type { Context, ServiceSchema } from "moleculer";
import { DbMixin } from "../../mixins/db.mixin";
import { loadConfig, type AppConfig } from "../../lib/config";
import { hashPassword, verifyPassword, decoyHash, passwordProblem } from "../../lib/tools/passwords";
import { isReservedUsername } from "../../lib/domain/usernames";
import { signAccessToken } from "../../lib/tools/tokens";
import { newId, randomToken } from "../../lib/tools/ids";
import { CURRENCY_CODES } from "../../lib/domain/money";
import { deepMerge, normalizeTerms, toStored, withDefaults, type UserSettings } from "../../lib/domain/user-settings";
import { MemoryCounterStore, RedisCounterStore, checkLimits } from "../../lib/tools/rate-limit";
import { createRedis, redisUrl } from "../../lib/db/redis";
import { conflict, forbidden, invalid, isDuplicateKey, notFound, tooMany, unauthorized } from "../../lib/tools/errors";
import type { AuthUser, GatewayMeta } from "../../types/moleculer";

/**
 * Accounts and channels: registration, login, refresh-token rotation with reuse detection,
 * profiles, channel settings and overlay tokens. Every user owns the channel named after them.
 */

interface UserDoc {
	_id: string;
	username: string;
	email: string;
	passwordHash: string;
	displayName: string;
	bio: string;
	avatarUrl: string | null;
	roles: string[];
	settings: UserSettings;
	overlayToken: string;
	followerCount?: number;
	bannedAt?: string | null;
	/** When an operator last changed the roles (ISO). */
	rolesChangedAt?: string;
	banReason?: string | null;
	createdAt: string;
	updatedAt: string;
}

interface RefreshDoc {
	_id: string;
	family: string;
	userId: string;
	hash: string;
	expiresAt: number;
	usedAt: number | null;
	revokedAt: number | null;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

const USERNAME = {
	type: "string",
	min: 3,
	max: 25,
	pattern: /^[A-Za-z0-9_]+$/,
	messages: { stringPattern: "username may contain only letters a-z, digits and _" },
};
const HTTP_URL = { type: "url", max: 2048 };

const settingsSchema = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		donations: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				enabled: { type: "boolean", optional: true },
				minAmount: { type: "number", integer: true, min: 0, max: 1e12, optional: true },
				currency: { type: "enum", values: CURRENCY_CODES, optional: true },
			},
		},
		mediaShare: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				enabled: { type: "boolean", optional: true },
				pricePerSecond: { type: "number", integer: true, min: 0, max: 1e10, optional: true },
				maxSeconds: { type: "number", integer: true, min: 1, max: 600, optional: true },
				requireApproval: { type: "boolean", optional: true },
			},
		},
		moderation: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				blockedTerms: { type: "array", items: { type: "string", min: 1, max: 100 }, max: 500, optional: true },
				blockedTermAction: { type: "enum", values: ["mask", "hold"], optional: true },
			},
		},
		alerts: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				displaySeconds: { type: "number", integer: true, min: 2, max: 120, optional: true },
				tts: { type: "boolean", optional: true },
				ttsMinAmount: { type: "number", integer: true, min: 0, max: 1e12, optional: true },
			},
		},
		email: { type: "record", optional: true, key: { type: "string", pattern: /^[a-z]+(\.[a-z]+)*$/, max: 50 }, value: { type: "boolean" } },
	},
};

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

const LOGIN_FAILURES = { limit: Number(process.env.LOGIN_MAX_FAILURES || 10), windowMs: 15 * 60_000 };

const schema: ServiceSchema = {
	name: "users",
	mixins: [
		DbMixin(
			"users",
			[
				{ fields: "username", unique: true },
				{ fields: "email", unique: true },
				{ fields: "overlayToken", unique: true },
			],
			{ refresh_tokens: [{ fields: "family" }, { fields: "userId" }] },
		),
	],
	settings: {
		rest: "/",
		$secureSettings: [],
	},

	actions: {
		/** Create an account; answers with tokens so the client is signed in at once. */
		register: {
			rest: "POST /auth/register",
			status: 201,
			// Never retried by the broker: a second run would answer 409 to the registration the first one made.
			retryPolicy: { enabled: false },
			params: {
				username: USERNAME,
				email: { type: "email", max: 254 },
				password: { type: "string", min: 8, max: 200 },
				displayName: { type: "string", text: "line", min: 1, max: 50, optional: true },
			},
			async handler(this: any, ctx: Ctx<{ username: string; email: string; password: string; displayName?: string }>) {
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
					roles: ["user"],
					settings: withDefaults({}),
					overlayToken: randomToken(24),
					followerCount: 0,
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
				(ctx.meta as any).$location = `/api/users/${username}`;
				ctx.emit("users.created", { user: this.toAuthUser(doc) });
				return { user: this.toFullUser(doc), ...(await this.issueTokens(doc)) };
			},
		},

		/** Sign in with username or email. Repeated failures for one login are slowed down (429). */
		login: {
			rest: "POST /auth/login",
			// Never retried by the broker: a second run would open a second sign-in session.
			retryPolicy: { enabled: false },
			params: { login: { type: "string", min: 1, max: 254 }, password: { type: "string", min: 1, max: 200 } },
			async handler(this: any, ctx: Ctx<{ login: string; password: string }>) {
				const login = ctx.params.login.trim().toLowerCase();
				const throttleKey = `login:${login}`;
				if ((await this.loginFailures.peek(`${throttleKey}:${LOGIN_FAILURES.limit}`, LOGIN_FAILURES.windowMs)) >= LOGIN_FAILURES.limit) {
					throw tooMany("Too many failed sign-in attempts; try again later", 15 * 60, "LOGIN_THROTTLED");
				}
				const user: UserDoc | null = await this.store.findOne(login.includes("@") ? { email: login } : { username: login });
				const ok = user
					? await verifyPassword(ctx.params.password, user.passwordHash)
					: (await verifyPassword(ctx.params.password, await decoyHash()), false);
				if (!user || !ok) {
					await checkLimits(this.loginFailures, throttleKey, [LOGIN_FAILURES]);
					throw unauthorized("Wrong login or password", "INVALID_CREDENTIALS");
				}
				if (user.bannedAt) throw forbidden("This account is suspended", "ACCOUNT_BANNED");
				return { user: this.toFullUser(user), ...(await this.issueTokens(user)) };
			},
		},

		/** Trade a refresh token for a new pair; a reused token revokes its whole family. */
		refresh: {
			rest: "POST /auth/refresh",
			// Never retried by the broker: a second run would present the token the first one rotated, which revokes the whole family.
			retryPolicy: { enabled: false },
			params: { refreshToken: { type: "string", min: 10, max: 200 } },
			async handler(this: any, ctx: Ctx<{ refreshToken: string }>) {
				const token: RefreshDoc | null = await this.findRefresh(ctx.params.refreshToken);
				if (!token || token.revokedAt || token.expiresAt < Date.now()) throw unauthorized("Refresh token is not valid", "INVALID_REFRESH_TOKEN");
				// Conditional update: of two racing refreshes with the same token, only one wins.
				const won = await this.stores.refresh_tokens.updateIf({ _id: token._id, usedAt: null, revokedAt: null }, { $set: { usedAt: Date.now() } });
				if (!won || token.usedAt) {
					await this.revokeFamily(token.family);
					throw unauthorized("Refresh token was already used; every session of this sign-in was signed out", "REFRESH_TOKEN_REUSED");
				}
				const user: UserDoc | null = await this.store.findById(token.userId);
				if (!user || user.bannedAt) throw unauthorized("Account is not active", "INVALID_REFRESH_TOKEN");
				return this.issueTokens(user, token.family);
			},
		},

		/** Sign out: the refresh token's family dies. Always 204. */
		logout: {
			rest: "POST /auth/logout",
			status: 204,
			params: { refreshToken: { type: "string", min: 1, max: 200 } },
			async handler(this: any, ctx: Ctx<{ refreshToken: string }>) {
				const token: RefreshDoc | null = await this.findRefresh(ctx.params.refreshToken);
				if (token) await this.revokeFamily(token.family);
				return null;
			},
		},

		/** The caller's full user, settings and overlay URL included. */
		me: {
			rest: "GET /auth/me",
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				return this.toFullUser(await this.requireUser(ctx.meta.user!.id));
			},
		},

		/** Update profile fields and deep-merge settings. */
		updateMe: {
			rest: "PATCH /users/me",
			auth: "required",
			params: {
				displayName: { type: "string", text: "line", min: 1, max: 50, optional: true },
				bio: { type: "string", text: "block", max: 500, optional: true },
				avatarUrl: { type: "multi", optional: true, rules: [HTTP_URL, { type: "equal", value: null }] },
				settings: settingsSchema,
			},
			async handler(this: any, ctx: Ctx<{ displayName?: string; bio?: string; avatarUrl?: string | null; settings?: Partial<UserSettings> }>) {
				const user: UserDoc = await this.requireUser(ctx.meta.user!.id);
				const p = ctx.params;
				const $set: Record<string, unknown> = { updatedAt: new Date().toISOString() };
				if (p.displayName !== undefined) $set.displayName = p.displayName;
				if (p.bio !== undefined) $set.bio = p.bio;
				if (p.avatarUrl !== undefined) $set.avatarUrl = p.avatarUrl;
				if (p.avatarUrl && !/^https?:\/\//i.test(p.avatarUrl)) throw invalid("avatarUrl", "avatarUrl must be an http(s) URL");
				if (p.settings) {
					const merged = deepMerge(withDefaults(user.settings), p.settings);
					merged.moderation.blockedTerms = normalizeTerms(merged.moderation.blockedTerms);
					$set.settings = toStored(merged);
				}
				await this.store.updateMany({ _id: user._id }, { $set });
				const updated: UserDoc = await this.requireUser(user._id);
				await this.profileChanged(ctx, updated);
				return this.toFullUser(updated);
			},
		},

		/** Public profile of a channel, cached briefly (cleaned on every change). */
		profile: {
			rest: "GET /users/:username",
			params: { username: USERNAME },
			// Keyed by the lower-cased username so a change can clean exactly this entry.
			cache: { ttl: 30, keygen: (action: any, _opts: any, ctx: any): string => `${action.name}:${String(ctx.params.username).toLowerCase()}` },
			async handler(this: any, ctx: Ctx<{ username: string }>) {
				const user: UserDoc | null = await this.store.findOne({ username: ctx.params.username.toLowerCase() });
				if (!user) throw notFound("User");
				const goal = await ctx.call("stats.goalOf", { userId: user._id }).catch((err: Error) => {
					this.logger.warn("Goal lookup failed; profile served without it", err.message);
					return null;
				});
				return this.toPublicProfile(user, goal);
			},
		},

		/** New overlay token; overlays using the old one are disconnected at once. */
		rotateOverlayToken: {
			rest: "POST /users/me/overlay-token",
			auth: "required",
			async handler(this: any, ctx: Ctx) {
				return this.rotateOverlay(ctx, await this.requireUser(ctx.meta.user!.id));
			},
		},

		/** Operators: rotate a user's overlay token (e.g. after it leaked on stream). */
		rotateOverlayTokenFor: {
			visibility: "public",
			params: { username: USERNAME },
			async handler(this: any, ctx: Ctx<{ username: string }>) {
				const user: UserDoc | null = await this.store.findOne({ username: ctx.params.username.toLowerCase() });
				if (!user) throw notFound("User");
				return this.rotateOverlay(ctx, user);
			},
		},

		// ---- internal actions (not routed) ----

		/** Overlay socket handshake: token → owner. */
		resolveOverlayToken: {
			visibility: "public",
			params: { token: { type: "string", min: 1, max: 200 } },
			async handler(this: any, ctx: Ctx<{ token: string }>) {
				const user: UserDoc | null = await this.store.findOne({ overlayToken: ctx.params.token });
				if (!user || user.bannedAt) return null;
				return { user: this.toAuthUser(user), tokenId: this.tokenId(user.overlayToken) };
			},
		},

		/** A user's internal record (settings included, secrets excluded) by id or username. */
		get: {
			visibility: "public",
			params: { id: { type: "string", optional: true, max: 64 }, username: { type: "string", optional: true, max: 64 } },
			cache: { keys: ["id", "username"], ttl: 30 },
			async handler(this: any, ctx: Ctx<{ id?: string; username?: string }>) {
				const { id, username } = ctx.params;
				const user: UserDoc | null = id
					? await this.store.findById(id)
					: username
						? await this.store.findOne({ username: username.toLowerCase() })
						: null;
				return user ? this.toInternal(user) : null;
			},
		},

		/** Several users' public identities at once (chat, comments, leaderboards). */
		identities: {
			visibility: "public",
			params: { ids: { type: "array", items: { type: "string", max: 64 }, max: 500 } },
			async handler(this: any, ctx: Ctx<{ ids: string[] }>) {
				const docs: UserDoc[] = await this.store.findByIds([...new Set(ctx.params.ids)]);
				return docs.map((u) => ({ id: u._id, username: u.username, displayName: u.displayName, avatarUrl: u.avatarUrl }));
			},
		},

		/** Adjust the cached follower count (the follows service owns the truth). */
		adjustFollowerCount: {
			visibility: "public",
			params: { userId: "string", delta: { type: "number", integer: true } },
			async handler(this: any, ctx: Ctx<{ userId: string; delta: number }>) {
				await this.store.updateMany({ _id: ctx.params.userId }, { $inc: { followerCount: ctx.params.delta } });
				const user: UserDoc | null = await this.store.findById(ctx.params.userId);
				if (user) await this.profileChanged(ctx, user);
				return { followerCount: user?.followerCount ?? 0 };
			},
		},

		/** Operators: grant or remove roles. */
		setRoles: {
			visibility: "public",
			params: { username: USERNAME, roles: { type: "array", items: { type: "enum", values: ["user", "admin"] }, min: 1 } },
			async handler(this: any, ctx: Ctx<{ username: string; roles: string[] }>) {
				const user: UserDoc | null = await this.store.findOne({ username: ctx.params.username.toLowerCase() });
				if (!user) throw notFound("User");
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
			async handler(this: any, ctx: Ctx<{ since: number }>) {
				const rows: UserDoc[] = await this.store.find({ query: { rolesChangedAt: { $gte: new Date(ctx.params.since).toISOString() } } });
				return rows.map((u) => ({ userId: u._id, roles: u.roles, at: Date.parse(u.rolesChangedAt!) }));
			},
		},

		/** Operators: suspend or restore an account (sign-in, refresh and overlays stop). */
		setBanned: {
			visibility: "public",
			params: { username: USERNAME, banned: "boolean", reason: { type: "string", max: 300, optional: true } },
			async handler(this: any, ctx: Ctx<{ username: string; banned: boolean; reason?: string }>) {
				const user: UserDoc | null = await this.store.findOne({ username: ctx.params.username.toLowerCase() });
				if (!user) throw notFound("User");
				await this.store.updateMany(
					{ _id: user._id },
					{
						$set: {
							bannedAt: ctx.params.banned ? new Date().toISOString() : null,
							banReason: ctx.params.banned ? (ctx.params.reason ?? null) : null,
						},
					},
				);
				if (ctx.params.banned) {
					await this.stores.refresh_tokens.updateMany({ userId: user._id, revokedAt: null }, { $set: { revokedAt: Date.now() } });
					ctx.broadcast("ws.disconnect", { namespace: "/overlay", rooms: [`overlay:${user._id}`] });
					ctx.broadcast("ws.disconnect", { namespace: "/", rooms: [`user:${user._id}`] });
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
			async handler(this: any, ctx: Ctx<{ since: number }>) {
				const rows: UserDoc[] = await this.store.find({ query: { bannedAt: { $gte: new Date(ctx.params.since).toISOString() } } });
				return rows.map((u) => ({ userId: u._id, at: Date.parse(u.bannedAt!) }));
			},
		},

		/** Operators: find users by username or email prefix. */
		search: {
			visibility: "public",
			params: { q: { type: "string", min: 1, max: 100 }, limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true } },
			async handler(this: any, ctx: Ctx<{ q: string; limit?: number }>) {
				const q = ctx.params.q.trim().toLowerCase();
				const escaped = q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
				const docs: UserDoc[] = await this.store.find({
					query: { $or: [{ username: { $regex: new RegExp(`^${escaped}`) } }, { email: { $regex: new RegExp(`^${escaped}`) } }] },
					limit: ctx.params.limit ?? 20,
				});
				return docs.map((u) => ({ ...this.toFullUser(u), bannedAt: u.bannedAt ?? null }));
			},
		},
	},

	methods: {
		toAuthUser(u: UserDoc): AuthUser {
			return { id: u._id, username: u.username, displayName: u.displayName, roles: u.roles };
		},
		toInternal(u: UserDoc) {
			return {
				id: u._id,
				username: u.username,
				displayName: u.displayName,
				email: u.email,
				roles: u.roles,
				settings: withDefaults(u.settings),
				bannedAt: u.bannedAt ?? null,
				avatarUrl: u.avatarUrl,
				followerCount: u.followerCount ?? 0,
			};
		},
		toFullUser(this: any, u: UserDoc) {
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
				overlayToken: u.overlayToken,
				overlayUrl: this.overlayUrl(u.overlayToken),
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
				createdAt: u.createdAt,
			};
		},
		overlayUrl(this: any, token: string) {
			return `${this.appConfig.publicUrl}/overlay/alerts?token=${encodeURIComponent(token)}`;
		},
		tokenId(token: string) {
			return sha256(token).slice(0, 16);
		},
		async rotateOverlay(this: any, ctx: Ctx, user: UserDoc) {
			const token = randomToken(24);
			await this.store.updateMany({ _id: user._id }, { $set: { overlayToken: token, updatedAt: new Date().toISOString() } });
			ctx.broadcast("ws.disconnect", { namespace: "/overlay", rooms: [`overlaytoken:${this.tokenId(user.overlayToken)}`] });
			return { overlayToken: token, overlayUrl: this.overlayUrl(token) };
		},
		async requireUser(this: any, id: string): Promise<UserDoc> {
			const user = await this.store.findById(id);
			if (!user) throw notFound("User");
			return user;
		},
		async issueTokens(this: any, user: UserDoc, family?: string) {
			const cfg: AppConfig = this.appConfig;
			const id = newId();
			const secretPart = randomToken(32);
			const doc: RefreshDoc = {
				_id: id,
				family: family ?? id,
				userId: user._id,
				hash: sha256(secretPart),
				expiresAt: Date.now() + cfg.refreshTokenTtlSec * 1000,
				usedAt: null,
				revokedAt: null,
			};
			await this.stores.refresh_tokens.insert(doc);
			return {
				accessToken: signAccessToken(this.toAuthUser(user), cfg.jwtSecret, cfg.accessTokenTtlSec),
				refreshToken: `${id}.${secretPart}`,
				expiresIn: cfg.accessTokenTtlSec,
			};
		},
		async findRefresh(this: any, token: string): Promise<RefreshDoc | null> {
			const dot = token.indexOf(".");
			if (dot <= 0) return null;
			const doc: RefreshDoc | null = await this.stores.refresh_tokens.findById(token.slice(0, dot));
			if (!doc || doc.hash !== sha256(token.slice(dot + 1))) return null;
			return doc;
		},
		async revokeFamily(this: any, family: string) {
			await this.stores.refresh_tokens.updateMany({ family, revokedAt: null }, { $set: { revokedAt: Date.now() } });
		},
		async profileChanged(this: any, ctx: Ctx, user: UserDoc) {
			// Every users instance cleans its own cache (memory cacher) — or the shared one (Redis).
			ctx.broadcast("users.changed", { id: user._id, username: user.username });
		},
	},

	events: {
		"users.changed": {
			async handler(this: any, ctx: Context<{ id: string; username: string }>) {
				if (!this.broker.cacher) return;
				await this.broker.cacher.del(`users.profile:${ctx.params.username}`);
				await this.broker.cacher.clean(`users.get:*`);
			},
		},
		/** The goal shows on the profile; drop the cached copy when it moves. */
		"donations.goalChanged": {
			async handler(this: any, ctx: Context<{ username: string }>) {
				if (this.broker.cacher && ctx.params.username) await this.broker.cacher.del(`users.profile:${ctx.params.username}`);
			},
		},
	},

	created(this: any) {
		this.appConfig = loadConfig();
		// With REDIS_URL the failure counts are shared, so several users instances (each login
		// lands on any of them) cannot multiply the attempts an attacker gets.
		const url = redisUrl();
		if (url) {
			this.redis = createRedis(url, "login-throttle");
			this.loginFailures = new RedisCounterStore(this.redis, `${process.env.NAMESPACE || "mediashar"}:login`);
		} else {
			this.loginFailures = new MemoryCounterStore();
		}
	},

	stopped(this: any) {
		this.loginFailures?.close?.();
		if (this.redis) this.redis.disconnect();
	},
};

export default schema;
