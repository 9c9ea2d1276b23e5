import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Collection, DbThis } from "../../mixins/db.mixin";
import type { AppConfig } from "../../lib/config";
import type { Counters } from "../../lib/db/counters";
import type { UserSettings } from "../../lib/domain/user-settings";
import type { OneTimeKind } from "../../lib/domain/accounts/one-time-tokens";
import type { MailLang } from "../../lib/domain/accounts/emails";
import type { PlatformLink, ProfileLink } from "../../lib/domain/accounts/profile-links";
import type { AuthUser, GatewayMeta } from "../../types/moleculer";

/**
 * The types every part of the `users` service shares (users.service.ts lists the actions and
 * methods of users.auth.ts, users.access.ts, users.profiles.ts, users.email.ts and
 * users.sessions.ts): the stored documents, `this`
 * and a part's type.
 */

/** One account and its channel (collection `users`). */
export interface UserDoc {
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
	/** When the current `email` was confirmed through a verification link (ISO); unset: not verified. */
	emailVerifiedAt?: string | null;
	/** The language account emails are written in (chosen at sign-up). */
	lang?: MailLang;
	/** When the password last changed (ISO). */
	passwordChangedAt?: string;
	/** Two-factor: the TOTP secret (base32, sealed with ACCOUNT_ENCRYPTION_KEY) once enabled, when, and the last step accepted (no replay). */
	twoFactorSecret?: string | null;
	twoFactorEnabledAt?: string | null;
	twoFactorLastStep?: number | null;
	/** A secret set up but not yet confirmed with a code. */
	twoFactorPendingSecret?: string | null;
	/** Profile links and linked streaming platforms (checked by lib/domain/accounts/profile-links.ts). */
	links?: ProfileLink[];
	platforms?: PlatformLink[];
	createdAt: string;
	updatedAt: string;
}

/** One refresh token (collection `refresh_tokens`); a sign-in and its rotations share `family`. */
export interface RefreshDoc {
	_id: string;
	family: string;
	userId: string;
	/** sha256 of the secret part (the token is `<_id>.<secret>`). */
	hash: string;
	expiresAt: number;
	usedAt: number | null;
	revokedAt: number | null;
	/** "ban" when a ban revoked it (its access tokens follow the ban, not the session list). */
	revokedBy?: "ban";
	/** When this token was issued (ms): the family's last use. */
	issuedAt?: number;
	/** When the family began, i.e. the sign-in (ms). */
	familyCreatedAt?: number;
	/** The client that signed in or last refreshed (for the session list). */
	userAgent?: string | null;
	ip?: string | null;
}

/** One emailed one-time token (collection `account_tokens`); only its SHA-256 is stored. */
export interface AccountTokenDoc {
	_id: string;
	kind: OneTimeKind;
	userId: string;
	/** hex SHA-256 of the token the email carried (unique). */
	hash: string;
	/** The address the email went to (a verification confirms only that one). */
	email: string;
	expiresAt: number;
	usedAt: number | null;
	createdAt: string;
}

/** One personal access token (collection `personal_tokens`); only its SHA-256 is stored. */
export interface PersonalTokenDoc {
	_id: string;
	userId: string;
	name: string;
	scopes: string[];
	/** hex SHA-256 of the token (unique). */
	hash: string;
	createdAt: string;
	/** ms; null: never expires. */
	expiresAt: number | null;
	/** ms, written at most once a minute. */
	lastUsedAt: number | null;
	revokedAt: number | null;
}

export interface TokenPair {
	accessToken: string;
	refreshToken: string;
	expiresIn: number;
}

/** The signed-in user's own view: profile, settings and overlay URL. */
export interface FullUser {
	id: string;
	username: string;
	email: string;
	displayName: string;
	bio: string;
	avatarUrl: string | null;
	roles: string[];
	settings: UserSettings;
	followerCount: number;
	emailVerified: boolean;
	twoFactorEnabled: boolean;
	overlayToken: string;
	overlayUrl: string;
	links: ProfileLink[];
	platforms: PlatformLink[];
	createdAt: string;
	updatedAt: string;
}

/** What other services get from `users.get` (secrets left out). */
export interface InternalUser {
	id: string;
	username: string;
	displayName: string;
	email: string;
	emailVerified: boolean;
	twoFactorEnabled: boolean;
	roles: string[];
	settings: UserSettings;
	bannedAt: string | null;
	avatarUrl: string | null;
	followerCount: number;
}

export type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta & { $location?: string }>;

export interface Local extends DbThis<
	UserDoc,
	{ refresh_tokens: Collection<RefreshDoc>; account_tokens: Collection<AccountTokenDoc>; personal_tokens: Collection<PersonalTokenDoc> }
> {
	appConfig: AppConfig;
	/** Failed sign-ins per login, and wrong current passwords per account (shared through Redis when REDIS_URL is set). */
	loginFailures: Counters;
	/** Account emails sent per account (verification, reset), so nobody can flood an inbox. */
	accountMails: Counters;
	/** ACCOUNT_ENCRYPTION_KEY as an AES-256 key (two-factor secrets at rest). */
	sealKey: Buffer;
}

export interface Methods {
	// users.service.ts: views and lookups every part uses
	toAuthUser(u: UserDoc): AuthUser;
	toInternal(u: UserDoc): InternalUser;
	toFullUser(u: UserDoc): FullUser;
	toPublicProfile(u: UserDoc, goal: unknown): Record<string, unknown>;
	overlayUrl(token: string): string;
	loadUser(id: string): Promise<UserDoc>;
	/** The user with this username (any case), or 404. */
	byUsername(username: string): Promise<UserDoc>;
	profileChanged(ctx: Ctx, user: UserDoc): Promise<void>;
	// users.auth.ts: sessions
	/** New tokens for `user`: the next of `from`'s family, or a new session (the client from `ctx`). */
	issueTokens(user: UserDoc, ctx: Ctx, from?: RefreshDoc): Promise<TokenPair>;
	findRefresh(token: string): Promise<RefreshDoc | null>;
	revokeFamily(family: string): Promise<void>;
	// users.sessions.ts: ending sessions
	/** Ends every session of the user but `keep`; their access tokens stop on every gateway. */
	endSessions(userId: string, keep?: string): Promise<number>;
	/** Tells every gateway to refuse the access tokens of these sessions. */
	announceEnded(sessions: string[], at: number): void;
	// users.email.ts: one-time email tokens
	mailLang(user: UserDoc, lang?: MailLang): MailLang;
	/** Stores a one-time token and queues its email (at most ACCOUNT_MAIL_PER_HOUR per account); false when throttled. */
	sendOneTime(kind: OneTimeKind, user: UserDoc, lang?: MailLang): Promise<boolean>;
	/** The stored token if `token` is a live one of `kind` (of `userId` when given), used up by this call (of two racing uses one wins). */
	takeOneTime(kind: OneTimeKind, token: string, userId?: string): Promise<AccountTokenDoc | null>;
	// users.twofactor.ts
	/** The answer to a right password when two-factor is on: a short-lived single-use challenge token. */
	startChallenge(user: UserDoc): Promise<{ twoFactorRequired: true; challengeToken: string }>;
	/** A TOTP secret as stored: sealed for this user. */
	sealTotpSecret(userId: string, secret: string): string;
	/** The TOTP secret of a stored value (sealed, or plain from before sealing). */
	openTotpSecret(userId: string, stored: string): string;
	/** 429 when the account sent too many wrong codes lately. */
	guardSecondFactor(userId: string): Promise<void>;
	/** Whether `code` (a current TOTP code, or an unused recovery code) is right; a right one is used up. Wrong ones are counted. */
	checkSecondFactor(user: UserDoc, code: string): Promise<boolean>;
	// users.access.ts: overlay tokens
	tokenId(token: string): string;
	rotateOverlay(ctx: Ctx, user: UserDoc): Promise<{ overlayToken: string; overlayUrl: string }>;
	grantConfiguredAdmins(): Promise<void>;
}

export type Settings = ServiceSettingSchema & { rest: string };
export type This = Service<Settings> & Local & Methods;

/** One part of the users service: its actions and methods, typed like the service's own (users.service.ts spreads them). */
export type UsersPart = Pick<ServiceSchema<Settings, Methods, Local>, "actions" | "methods">;
