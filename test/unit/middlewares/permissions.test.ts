import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { PermissionsMiddleware } from "../../../middlewares/permissions";
import { definePermission, owner, undefinePermission } from "../../../lib/domain/permissions";
import type { AuthUser, GatewayMeta } from "../../../types/moleculer";

const alice: AuthUser = { id: "u-alice", username: "alice", roles: ["user"] };
const mod: AuthUser = { id: "u-mod", username: "mod", roles: ["user", "moderator"] };
const admin: AuthUser = { id: "u-admin", username: "root", roles: ["user", "admin"] };

let broker: ServiceBroker;
/** Which handlers ran: a refused call never reaches its handler. */
const ran: string[] = [];

const rules = ["test.self", "test.never", "test.async"];

beforeAll(async () => {
	definePermission("test.self", owner("userId"));
	definePermission("test.never", () => false);
	definePermission("test.async", async (ctx) => ctx.meta.user?.username === "mod");
	broker = new ServiceBroker({ logger: false, middlewares: [PermissionsMiddleware()] });
	const handler = (name: string) =>
		function (ctx: Context<unknown, GatewayMeta>) {
			ran.push(name);
			return { ok: true, user: ctx.meta.user?.id ?? null };
		};
	broker.createService({
		name: "guarded",
		actions: {
			open: { handler: handler("open") },
			signedIn: { auth: "required", handler: handler("signedIn") },
			modOnly: { auth: "required", roles: ["moderator"], handler: handler("modOnly") },
			rolesOnly: { roles: ["moderator"], handler: handler("rolesOnly") },
			self: { auth: "required", permissions: ["test.self"], params: { userId: "string" }, handler: handler("self") },
			never: { auth: "required", permissions: ["test.never"], handler: handler("never") },
			either: { permissions: ["test.never", "test.async"], handler: handler("either") },
			anonRule: { permissions: ["test.never"], handler: handler("anonRule") },
		},
	} as ServiceSchema);
	// A service that calls the guarded one in turn, as handlers do: meta travels with the call.
	broker.createService({
		name: "relay",
		actions: {
			toSignedIn: { handler: (ctx: Context) => ctx.call("guarded.signedIn") },
			toModOnly: { handler: (ctx: Context) => ctx.call("guarded.modOnly") },
		},
	} as ServiceSchema);
	await broker.start();
});
afterAll(async () => {
	await broker.stop();
	for (const r of rules) undefinePermission(r);
});

const call = (action: string, meta: GatewayMeta = {}, params: Record<string, unknown> = {}) => broker.call(`guarded.${action}`, params, { meta });
const refusal = async (p: Promise<unknown>) => {
	const err = (await p.then(
		() => null,
		(e: unknown) => e,
	)) as { code?: number; type?: string; message?: string } | null;
	return err && { code: err.code, type: err.type, message: err.message };
};

const UNAUTHORIZED = { code: 401, type: "UNAUTHORIZED", message: "Sign in to do this" };
const FORBIDDEN = { code: 403, type: "FORBIDDEN", message: "You are not allowed to do this" };

describe("PermissionsMiddleware", () => {
	it("refuses an anonymous gateway caller of an auth: required action with 401, before the handler", async () => {
		ran.length = 0;
		expect(await refusal(call("signedIn", { via: "rest", user: null }))).toEqual(UNAUTHORIZED);
		expect(await refusal(call("signedIn", { via: "socket" }))).toEqual(UNAUTHORIZED);
		expect(ran).toEqual([]);
		expect(await call("signedIn", { via: "rest", user: alice })).toEqual({ ok: true, user: alice.id });
		expect(await call("open", { via: "rest" })).toEqual({ ok: true, user: null });
	});

	it("refuses a user without one of the roles with 403; the role or admin passes", async () => {
		ran.length = 0;
		expect(await refusal(call("modOnly", { via: "rest", user: alice }))).toEqual(FORBIDDEN);
		expect(ran).toEqual([]);
		expect(await call("modOnly", { via: "rest", user: mod })).toEqual({ ok: true, user: mod.id });
		expect(await call("modOnly", { via: "rest", user: admin })).toEqual({ ok: true, user: admin.id });
		// roles without auth: an anonymous caller has no role (403, as the gateway answered).
		expect(await refusal(call("rolesOnly", { via: "rest" }))).toEqual(FORBIDDEN);
	});

	it("a named permission that answers true lets the call through, false refuses it with 403", async () => {
		expect(await call("self", { via: "rest", user: alice }, { userId: alice.id })).toEqual({ ok: true, user: alice.id });
		expect(await refusal(call("self", { via: "rest", user: alice }, { userId: "someone-else" }))).toEqual(FORBIDDEN);
		expect(await refusal(call("never", { via: "socket", user: admin }))).toEqual(FORBIDDEN);
		// Several names: any one of them grants the call (an async rule too).
		expect(await call("either", { via: "rest", user: mod })).toEqual({ ok: true, user: mod.id });
		expect(await refusal(call("either", { via: "rest", user: alice }))).toEqual(FORBIDDEN);
		// A rule refusing an anonymous caller asks them to sign in.
		expect(await refusal(call("anonRule", { via: "rest" }))).toEqual(UNAUTHORIZED);
	});

	it("passes a system call between services (no user, not from the gateway), as before", async () => {
		expect(await call("signedIn")).toEqual({ ok: true, user: null });
		expect(await call("modOnly")).toEqual({ ok: true, user: null });
		expect(await call("never")).toEqual({ ok: true, user: null });
		expect(await broker.call("relay.toModOnly")).toEqual({ ok: true, user: null });
	});

	it("checks a call made inside the cluster on behalf of a user (meta travels with each call)", async () => {
		expect(await refusal(broker.call("relay.toModOnly", {}, { meta: { user: alice } }))).toEqual(FORBIDDEN);
		expect(await broker.call("relay.toModOnly", {}, { meta: { user: mod } })).toEqual({ ok: true, user: mod.id });
		// An anonymous REST request whose handler calls an action that needs a user.
		expect(await refusal(broker.call("relay.toSignedIn", {}, { meta: { via: "rest" } }))).toEqual(UNAUTHORIZED);
		// A direct internal call with a user set is checked too.
		expect(await refusal(call("never", { user: alice }))).toEqual(FORBIDDEN);
	});

	it("refuses to load an action that names an unknown permission", async () => {
		const b = new ServiceBroker({ logger: false, middlewares: [PermissionsMiddleware()] });
		expect(() => b.createService({ name: "typo", actions: { x: { permissions: ["test.nope"], handler: () => 1 } } } as ServiceSchema)).toThrow(
			/test\.nope/,
		);
		await b.stop();
	});
});

describe("PermissionsMiddleware: personal access token scopes", () => {
	let b: ServiceBroker;
	const bot: AuthUser = { id: "u-alice", username: "alice", roles: ["user"], scopes: ["donations:read"], tokenId: "t1" };
	const INSUFFICIENT = { code: 403, type: "INSUFFICIENT_SCOPE" };
	const refusedWith = async (p: Promise<unknown>) => {
		const r = await refusal(p);
		return r && { code: r.code, type: r.type };
	};

	beforeAll(async () => {
		b = new ServiceBroker({ logger: false, middlewares: [PermissionsMiddleware()] });
		const answer = (ctx: Context<unknown, GatewayMeta>) => ({ ok: true, user: ctx.meta.user?.id ?? null });
		b.createService({
			name: "scoped",
			actions: {
				donations: { rest: "GET /d", auth: "required", scopes: ["donations:read", "profile:read"], handler: answer },
				alerts: { rest: "POST /a", auth: "required", scopes: ["alerts:write"], handler: answer },
				password: { rest: "PUT /p", auth: "required", handler: answer },
				publicRead: { rest: "GET /pub", handler: answer },
				chat: { socket: "chat:x", handler: answer },
				internal: { visibility: "public", handler: answer },
				// A scoped action whose handler calls an unscoped one: the service's own call, allowed.
				viaInternal: { rest: "GET /vi", auth: "required", scopes: ["donations:read"], handler: (ctx: Context) => ctx.call("scoped.password") },
			},
		} as ServiceSchema);
		await b.start();
	});
	afterAll(() => b.stop());

	const as = (action: string, user: AuthUser, via: "rest" | "socket" = "rest") => b.call(`scoped.${action}`, {}, { meta: { via, user } });

	it("opens an action that declares one of the token's scopes", async () => {
		expect(await as("donations", bot)).toEqual({ ok: true, user: bot.id });
		expect(await as("viaInternal", bot)).toEqual({ ok: true, user: bot.id });
	});

	it("refuses with 403 INSUFFICIENT_SCOPE outside the token's scopes, and where an action declares none", async () => {
		expect(await refusedWith(as("alerts", bot))).toEqual(INSUFFICIENT);
		expect(await refusedWith(as("password", bot))).toEqual(INSUFFICIENT);
		expect(await refusedWith(as("publicRead", bot))).toEqual(INSUFFICIENT);
		expect(await refusedWith(as("chat", bot, "socket"))).toEqual(INSUFFICIENT);
		// A token without scopes opens nothing.
		expect(await refusedWith(as("donations", { ...bot, scopes: [] }))).toEqual(INSUFFICIENT);
	});

	it("leaves a signed-in session (no scopes) and system calls as they were", async () => {
		for (const action of ["donations", "alerts", "password", "publicRead"]) expect(await as(action, alice)).toEqual({ ok: true, user: alice.id });
		expect(await b.call("scoped.internal")).toEqual({ ok: true, user: null });
	});

	it("refuses to load an action that names an unknown scope", async () => {
		const other = new ServiceBroker({ logger: false, middlewares: [PermissionsMiddleware()] });
		expect(() => other.createService({ name: "typo", actions: { x: { scopes: ["donations:write"], handler: () => 1 } } } as ServiceSchema)).toThrow(
			/donations:write/,
		);
		await other.stop();
	});
});
