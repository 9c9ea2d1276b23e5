import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Collection, DbThis } from "../../mixins/db.mixin";
import type { AppConfig } from "../../lib/config";
import type { Counters } from "../../lib/db/counters";
import type { UserSettings } from "../../lib/domain/user-settings";
import type { AuthUser, GatewayMeta } from "../../types/moleculer";

/**
 * The types every part of the `users` service shares (users.service.ts lists the actions and
 * methods of users.auth.ts, users.access.ts and users.profiles.ts): the stored documents, `this`
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
	overlayToken: string;
	overlayUrl: string;
	createdAt: string;
	updatedAt: string;
}

/** What other services get from `users.get` (secrets left out). */
export interface InternalUser {
	id: string;
	username: string;
	displayName: string;
	email: string;
	roles: string[];
	settings: UserSettings;
	bannedAt: string | null;
	avatarUrl: string | null;
	followerCount: number;
}

export type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta & { $location?: string }>;

export interface Local extends DbThis<UserDoc, { refresh_tokens: Collection<RefreshDoc> }> {
	appConfig: AppConfig;
	/** Failed sign-ins per login (shared through Redis when REDIS_URL is set). */
	loginFailures: Counters;
}

export interface Methods {
	// users.service.ts: views and lookups every part uses
	toAuthUser(u: UserDoc): AuthUser;
	toInternal(u: UserDoc): InternalUser;
	toFullUser(u: UserDoc): FullUser;
	toPublicProfile(u: UserDoc, goal: unknown): Record<string, unknown>;
	overlayUrl(token: string): string;
	requireUser(id: string): Promise<UserDoc>;
	/** The user with this username (any case), or 404. */
	byUsername(username: string): Promise<UserDoc>;
	profileChanged(ctx: Ctx, user: UserDoc): Promise<void>;
	// users.auth.ts: sessions
	issueTokens(user: UserDoc, family?: string): Promise<TokenPair>;
	findRefresh(token: string): Promise<RefreshDoc | null>;
	revokeFamily(family: string): Promise<void>;
	// users.access.ts: overlay tokens
	tokenId(token: string): string;
	rotateOverlay(ctx: Ctx, user: UserDoc): Promise<{ overlayToken: string; overlayUrl: string }>;
}

export type Settings = ServiceSettingSchema & { rest: string };
export type This = Service<Settings> & Local & Methods;

/** One part of the users service: its actions and methods, typed like the service's own (users.service.ts spreads them). */
export type UsersPart = Pick<ServiceSchema<Settings, Methods, Local>, "actions" | "methods">;
