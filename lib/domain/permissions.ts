import type { ActionSchema, Context } from "moleculer";
import type { AuthUser } from "../../types/moleculer";

/**
 * Named permissions: the rules an action names in its `permissions: ["…"]` metadata, enforced for
 * every caller by middlewares/permissions.ts (REST, Socket.IO and calls made inside the cluster on
 * behalf of a user alike). Every rule lives in this module, under a dotted `<context>.<rule>` name
 * ("channel.moderator", "donation.party"), so who may do what is read in one place.
 *
 * A context declares a rule once, at module level:
 *
 *     definePermission("post.author", async (ctx) => {
 *         const post = await ctx.call("posts.get", { id: ctx.params.id });
 *         return post?.authorId === ctx.meta.user?.id;
 *     });
 *
 * and an action uses it by name (several names: any one of them grants the call):
 *
 *     remove: { rest: "DELETE /:id", auth: "required", permissions: ["post.author"], handler(ctx) {…} }
 *
 * A rule answers true (allowed) or false (refused: 403 FORBIDDEN, or 401 UNAUTHORIZED when the
 * caller is anonymous). It runs before params validation (refusals keep their order: 401/403 before
 * 422, as the gateway answered them), so it reads `ctx.params` as untrusted input; the helpers
 * below do. A rule that throws refuses with its own error.
 */

/** The context a rule sees: the call's params (not yet validated) and the small user of the caller. */
export type PermissionContext = Context<Record<string, unknown>, { user?: AuthUser | null }>;

export type PermissionRule = (ctx: PermissionContext, action: ActionSchema) => boolean | Promise<boolean>;

const registry = new Map<string, PermissionRule>();

/** Declares a named rule; a name is declared once (a second declaration is a programming error). */
export function definePermission(name: string, rule: PermissionRule): void {
	if (registry.has(name)) throw new Error(`Permission "${name}" is already defined`);
	registry.set(name, rule);
}

/** The rule of a name, or undefined. */
export function permissionRule(name: string): PermissionRule | undefined {
	return registry.get(name);
}

/** Every declared name (the OpenAPI document and the REPL may list them). */
export function permissionNames(): string[] {
	return [...registry.keys()].sort();
}

/** Removes a rule (tests that declare their own). */
export function undefinePermission(name: string): void {
	registry.delete(name);
}

// --- helpers for writing rules -------------------------------------------------------------

/** The caller's user id, or null when anonymous. */
export function userId(ctx: PermissionContext): string | null {
	return ctx.meta.user?.id ?? null;
}

/** Whether the caller has the role ("admin" has every role). */
export function hasRole(ctx: PermissionContext, role: string): boolean {
	const roles = ctx.meta.user?.roles ?? [];
	return roles.includes("admin") || roles.includes(role);
}

/** Whether the caller is an admin. */
export function isAdmin(ctx: PermissionContext): boolean {
	return (ctx.meta.user?.roles ?? []).includes("admin");
}

/** A rule: the param `field` (a string) is the caller's own user id (`owner("userId")`). */
export function owner(field = "userId"): PermissionRule {
	return (ctx) => {
		const id = userId(ctx);
		const value = ctx.params?.[field];
		return id !== null && typeof value === "string" && value === id;
	};
}

/** A rule: the document `load` answers is owned by the caller (`ownerField`, default "userId"). */
export function ownerOf<T extends Record<string, unknown>>(load: (ctx: PermissionContext) => Promise<T | null>, ownerField = "userId"): PermissionRule {
	return async (ctx) => {
		const id = userId(ctx);
		if (id === null) return false;
		const doc = await load(ctx);
		return !!doc && doc[ownerField] === id;
	};
}

/** A rule that passes when any of `rules` does (evaluated in order, stops at the first). */
export function anyOf(...rules: PermissionRule[]): PermissionRule {
	return async (ctx, action) => {
		for (const r of rules) if (await r(ctx, action)) return true;
		return false;
	};
}

/** A rule that passes when every one of `rules` does. */
export function allOf(...rules: PermissionRule[]): PermissionRule {
	return async (ctx, action) => {
		for (const r of rules) if (!(await r(ctx, action))) return false;
		return true;
	};
}
