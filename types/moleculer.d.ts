import "moleculer";

declare module "moleculer" {
	interface ActionSchema {
		/** moleculer-web alias, e.g. "POST /donations" (auto-aliased under /api). */
		rest?: string | string[] | Record<string, unknown>;
		/**
		 * "required": anonymous callers are refused with 401 (middlewares/permissions.ts, for REST,
		 * Socket.IO and calls on behalf of a user); "optional": user when present.
		 */
		auth?: "required" | "optional";
		/** Roles allowed to call (checked after auth); "admin" always passes. 403 otherwise. */
		roles?: string[];
		/**
		 * Named rules of lib/domain/permissions.ts (`definePermission`); the call is allowed when any
		 * one of them answers true, else 403 (401 for an anonymous caller).
		 */
		permissions?: string[];
		/**
		 * The personal-access-token scopes that open this action (lib/domain/accounts/personal-tokens.ts
		 * `SCOPES`): a call made with a token needs one of them, else 403 INSUFFICIENT_SCOPE; an
		 * action without `scopes` never accepts a token (middlewares/permissions.ts).
		 */
		scopes?: string[];
		/** Socket.IO event that calls this action: "chat:send" (main namespace) or "/overlay alert:done". */
		socket?: string;
		/**
		 * Success status of its REST route (default 200): the gateway answers with it unless the
		 * handler sets `ctx.meta.$statusCode`; several when the handler picks one. The OpenAPI
		 * document lists them.
		 */
		status?: number | number[];
		/** Idempotency-Key replay for this action (middlewares/idempotency.ts); `scope` prefixes its stored keys. */
		idempotency?: { scope: string };
	}
	/** A @moleculer/channels handler: `this` is the service, as in actions and events. */
	// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any: each handler declares its own payload type (a parameter type cannot be narrowed from unknown).
	type ChannelHandler<TThis> = (this: TThis, payload: any, raw?: unknown) => Promise<unknown> | unknown;
	interface ChannelSchema<TThis> {
		group?: string;
		maxInFlight?: number;
		maxRetries?: number;
		deadLettering?: Record<string, unknown>;
		context?: boolean;
		handler: ChannelHandler<TThis>;
		[option: string]: unknown;
	}
	// eslint-disable-next-line @typescript-eslint/no-unused-vars -- an augmentation repeats the interface's type parameters
	interface ServiceSchema<TSettings, TMethods, TVars, TThis> {
		/** @moleculer/channels subscriptions (durable queues; see moleculer.config.ts). */
		channels?: Record<string, ChannelHandler<TThis> | ChannelSchema<TThis>>;
		/** Called with the schema merged from the mixins, before settings are applied (Moleculer runs it; its types omit it). */
		merged?: (this: TThis, schema: ServiceSchema) => void;
	}
	interface ServiceBroker {
		/** @moleculer/channels: queue one message on a durable channel. */
		sendToChannel(channel: string, payload: unknown, opts?: Record<string, unknown>): Promise<void>;
	}
}

export interface AuthUser {
	id: string;
	username: string;
	displayName?: string;
	roles: string[];
	/** The session (refresh-token family) of the access token, when it names one. */
	sid?: string;
	/** Set only for a personal access token: its scopes (and id); a signed-in session has none. */
	scopes?: string[];
	tokenId?: string;
}

/** What the gateway puts in ctx.meta for every call it makes. */
export interface GatewayMeta {
	user?: AuthUser | null;
	requestId?: string;
	ip?: string;
	/** The request's User-Agent header (REST calls), for the session list. */
	userAgent?: string;
	idempotencyKey?: string;
	/**
	 * Which gateway entry made the call (REST or a socket event): such a call is checked by
	 * middlewares/permissions.ts even without a user, and so is every call its handler makes.
	 */
	via?: "rest" | "socket";
	/**
	 * The action that admitted a personal access token by its `scopes` (middlewares/permissions.ts):
	 * the calls its handler makes in turn are the service's own and are not checked for scopes again.
	 */
	scopeGranted?: string;
	/** Set for socket-originated calls. */
	socket?: { id: string; namespace: string; rooms?: string[] };
	/** Actions may ask the gateway to set the HTTP status and headers. */
	$statusCode?: number;
	$responseHeaders?: Record<string, string>;
	/** Actions called from a socket may ask the gateway to join/leave rooms. */
	$join?: string[];
	$leave?: string[];
	/** The gateway's own base URL (used by the sandbox to deliver its webhook). */
	selfUrl?: string;
}
