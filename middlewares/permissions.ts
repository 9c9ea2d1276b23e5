import { Errors, type ActionHandler, type ActionSchema, type Context, type Service } from "moleculer";
import { permissionRule, type PermissionContext, type PermissionRule } from "../lib/domain/permissions";
import { isScope, scopeAllows } from "../lib/domain/accounts/personal-tokens";
import type { GatewayMeta } from "../types/moleculer";

/**
 * Who may call an action, enforced once for every caller (REST, Socket.IO, and calls made inside
 * the cluster on behalf of a user), from the action's own metadata:
 *
 *  - `auth: "required"`: the call needs `ctx.meta.user` (else 401 UNAUTHORIZED);
 *  - `roles: ["moderator"]`: the user has one of the roles, "admin" always passes (else 403 FORBIDDEN);
 *  - `permissions: ["post.author"]`: one of the named rules of lib/domain/permissions.ts answers true
 *    (else 403 FORBIDDEN, or 401 UNAUTHORIZED for an anonymous caller);
 *  - `scopes: ["donations:read"]`: a caller with a personal access token (`ctx.meta.user.scopes`)
 *    needs one of them (else 403 INSUFFICIENT_SCOPE, before anything else); an action a client can
 *    reach (`rest`, `socket`) that declares no scopes never accepts a token. The action that admits
 *    a token marks the call (`ctx.meta.scopeGranted`): the calls its handler makes in turn are the
 *    service's own and are not checked for scopes again.
 *
 * A call is made on behalf of a user when `ctx.meta.user` is set or the gateway made it
 * (`ctx.meta.via` "rest" or "socket"; meta travels with every call the handler makes in turn).
 * Service-to-service system calls (no user, not from the gateway: sweeps, channel handlers, the
 * REPL) are not checked, as before this middleware.
 *
 * Listed in moleculer.config.ts outside the Validator and the Cacher: a refusal comes before a
 * 422 (the order the gateway answered in), and a cached answer is never served to a caller who
 * may not have it. The gateway only authenticates: it puts the small user in `ctx.meta.user`.
 */

type Meta = GatewayMeta;
type Handler = ActionHandler<Service>;

interface Compiled {
	/** The scopes that open the action to a personal access token ([] = none does). */
	scopes: string[];
	authRequired: boolean;
	roles: string[] | null;
	rules: PermissionRule[] | null;
}

function compile(action: ActionSchema): Compiled | null {
	const roles = Array.isArray(action.roles) && action.roles.length > 0 ? action.roles : null;
	const names = Array.isArray(action.permissions) && action.permissions.length > 0 ? action.permissions : null;
	const authRequired = action.auth === "required";
	const scopes = Array.isArray(action.scopes) ? action.scopes : [];
	for (const s of scopes)
		if (!isScope(s)) throw new Error(`Action ${String(action.name)} names the scope "${s}", which lib/domain/accounts/personal-tokens.ts does not define`);
	// Reachable by a client (or opened to tokens): checked, at least for scopes.
	const reachable = action.rest !== undefined || typeof action.socket === "string" || scopes.length > 0;
	if (!authRequired && !roles && !names && !reachable) return null;
	const rules = names?.map((name) => {
		const rule = permissionRule(name);
		// A typo in a permission name must stop the service, not open (or shut) the action.
		if (!rule) throw new Error(`Action ${String(action.name)} names the permission "${name}", which lib/domain/permissions.ts does not define`);
		return rule;
	});
	return { scopes, authRequired, roles, rules: rules ?? null };
}

/** A call on behalf of a user (or from the gateway), as opposed to a system call between services. */
export function onBehalfOfUser(meta: Meta | undefined): boolean {
	return !!meta && (!!meta.user || meta.via === "rest" || meta.via === "socket");
}

export const unauthorized = () => new Errors.MoleculerClientError("Sign in to do this", 401, "UNAUTHORIZED");
export const forbidden = () => new Errors.MoleculerClientError("You are not allowed to do this", 403, "FORBIDDEN");
export const insufficientScope = (scopes: string[]) =>
	new Errors.MoleculerClientError(
		scopes.length > 0 ? `This needs a token with one of the scopes: ${scopes.join(", ")}` : "A personal access token cannot be used here; sign in",
		403,
		"INSUFFICIENT_SCOPE",
		{ scopes },
	);

/** The scope verdict for a personal access token (none for a signed-in session or a call a granted one makes). */
function checkScopes(c: Compiled, meta: Meta, action: ActionSchema): Errors.MoleculerClientError | null {
	const tokenScopes = meta.user?.scopes;
	if (tokenScopes === undefined || meta.scopeGranted) return null;
	if (!scopeAllows(tokenScopes, c.scopes)) return insufficientScope(c.scopes);
	meta.scopeGranted = String(action.name);
	return null;
}

/** The auth and roles verdict: an error to refuse with, or null. */
function checkIdentity(c: Compiled, meta: Meta): Errors.MoleculerClientError | null {
	const user = meta.user;
	if (c.authRequired && !user) return unauthorized();
	if (c.roles) {
		const roles = user?.roles ?? [];
		if (!roles.includes("admin") && !c.roles.some((r) => roles.includes(r))) return forbidden();
	}
	return null;
}

async function checkRules(rules: PermissionRule[], ctx: PermissionContext, action: ActionSchema): Promise<void> {
	for (const rule of rules) if (await rule(ctx, action)) return;
	throw ctx.meta.user ? forbidden() : unauthorized();
}

export function PermissionsMiddleware() {
	return {
		name: "Permissions",
		localAction(next: Handler, action: ActionSchema): Handler {
			const c = compile(action);
			if (!c) return next;
			const rules = c.rules;
			return function checkPermissions(this: Service, ctx: Context<unknown, Meta>) {
				if (!onBehalfOfUser(ctx.meta)) return next.call(this, ctx);
				const refused = checkScopes(c, ctx.meta, action) ?? checkIdentity(c, ctx.meta);
				if (refused) return Promise.reject(refused);
				if (!rules) return next.call(this, ctx);
				return checkRules(rules, ctx as PermissionContext, action).then(() => next.call(this, ctx));
			} as Handler;
		},
	};
}
