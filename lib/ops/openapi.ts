/**
 * OpenAPI 3.1 from the service registry: the gateway's routes (explicit aliases and auto-aliases)
 * and every published action's `rest` and fastest-validator `params`. Generated at request time,
 * so the document cannot drift from what the gateway actually routes.
 */

export type JsonSchema = Record<string, unknown>;

export interface ActionInfo {
	name: string;
	rawName?: string;
	rest?: unknown;
	params?: Record<string, unknown>;
	auth?: string;
	roles?: string[];
	/** Personal-access-token scopes that open the action (none: tokens are refused). */
	scopes?: string[];
	visibility?: string;
	description?: string;
	/** Declared success status(es) of the REST route. */
	status?: number | number[];
}

export interface ServiceInfo {
	name: string;
	fullName?: string;
	settings?: Record<string, any>;
	actions?: Record<string, ActionInfo>;
}

export interface RouteInfo {
	path?: string;
	aliases?: Record<string, unknown>;
	autoAliases?: boolean;
	authentication?: boolean;
	bodyParsers?: Record<string, unknown> | false;
}

export interface Operation {
	method: string;
	/** Express-style path as the gateway matches it: "/api/users/:username". */
	path: string;
	action: string;
	/** True when the route takes the raw body (webhooks) instead of JSON. */
	rawBody: boolean;
	/** True for a `type: "multipart"` alias (uploads): the body is multipart/form-data with one file. */
	multipart?: boolean;
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

function addSlashes(s: string): string {
	return (s.startsWith("/") ? "" : "/") + s + (s.endsWith("/") ? "" : "/");
}
function normalize(p: string): string {
	const out = p.replace(/\/{2,}/g, "/");
	return out.length > 1 && out.endsWith("/") ? out.slice(0, -1) : out;
}

/** The same alias list moleculer-web builds for a route with `autoAliases` (published actions only). */
export function autoAliasOperations(routePath: string, services: ServiceInfo[], rawBody = false): Operation[] {
	const ops: Operation[] = [];
	const seen = new Set<string>();
	for (const svc of services) {
		const fullName = svc.fullName ?? svc.name;
		if (!svc.settings || seen.has(fullName)) continue;
		seen.add(fullName);
		const rest = svc.settings.rest;
		const bases: unknown[] = typeof rest === "string" ? [rest] : Array.isArray(rest) ? rest : [fullName.replace(/\./g, "/")];
		for (const b of bases) {
			const basePath = addSlashes(typeof b === "string" ? b : fullName.replace(/\./g, "/"));
			for (const action of Object.values(svc.actions ?? {})) {
				if (!action.rest) continue;
				if (action.visibility != null && action.visibility !== "published") continue;
				const defs = Array.isArray(action.rest) ? action.rest : [action.rest];
				for (const def of defs) {
					let method: string;
					let p: string;
					if (typeof def === "string") {
						if (def.includes(" ")) [method, p] = def.split(/\s+/, 2);
						else [method, p] = ["*", def];
						p = basePath + p;
					} else if (def && typeof def === "object") {
						const o = def as { method?: string; path?: string; basePath?: string };
						method = o.method || "*";
						p = (o.basePath != null ? addSlashes(o.basePath) : basePath) + (o.path ?? action.rawName ?? action.name.split(".").pop());
					} else continue;
					const multipart = typeof def === "object" && (def as { type?: string }).type === "multipart";
					for (const m of method === "*" ? METHODS : [method.toUpperCase()]) {
						ops.push({
							method: m,
							path: normalize(`${routePath}/${normalize(p)}`),
							action: action.name,
							rawBody,
							...(multipart ? { multipart } : {}),
						});
					}
				}
			}
		}
	}
	return ops;
}

/** Every operation the gateway routes: each route's explicit aliases plus its auto-aliases. */
export function collectOperations(routes: RouteInfo[], services: ServiceInfo[]): Operation[] {
	const ops: Operation[] = [];
	for (const route of routes) {
		const routePath = route.path || "";
		const bp = route.bodyParsers;
		const rawBody = !!bp && typeof bp === "object" && bp.json === false;
		for (const [key, target] of Object.entries(route.aliases ?? {})) {
			const action = typeof target === "string" ? target : (target as { action?: string })?.action;
			if (typeof action !== "string") continue;
			const parts = key.trim().split(/\s+/);
			const [method, p] = parts.length > 1 ? parts : ["*", parts[0]];
			if (method.toUpperCase() === "REST") continue;
			for (const m of method === "*" ? METHODS : [method.toUpperCase()]) {
				ops.push({ method: m, path: normalize(`${routePath}/${p}`), action, rawBody });
			}
		}
		if (route.autoAliases) ops.push(...autoAliasOperations(routePath, services, rawBody));
	}
	// Keep the first mapping of a method+path, as the gateway does.
	const seen = new Set<string>();
	return ops.filter((o) => {
		const key = `${o.method} ${o.path}`;
		if (seen.has(key) || o.path.includes("*")) return false;
		seen.add(key);
		return true;
	});
}

/** Operations whose path has a parameter listed in `values` become one operation per value. */
function expandPathValues(ops: Operation[], values: Record<string, readonly string[]>): Operation[] {
	return ops.flatMap((op) => {
		const name = Object.keys(values).find((n) => new RegExp(`:${n}\\??(?=/|$)`).test(op.path));
		if (!name) return [op];
		return values[name].map((v) => ({ ...op, path: op.path.replace(new RegExp(`:${name}\\??(?=/|$)`), v) }));
	});
}

/** "/users/:username/posts/:id?" → "/users/{username}/posts/{id}" and the names in order. */
export function toOpenApiPath(p: string): { path: string; params: string[] } {
	const params: string[] = [];
	const out = p.replace(/:([A-Za-z0-9_]+)\??/g, (_m, name: string) => {
		params.push(name);
		return `{${name}}`;
	});
	return { path: out, params };
}

type Rule = string | Record<string, any> | Array<string | Record<string, any>>;

/** "number|integer|min:1|optional" → {type: "number", integer: true, min: 1, optional: true}. */
export function parseShorthand(rule: string): Record<string, any> {
	const [type, ...flags] = rule.split("|");
	const out: Record<string, any> = { type: type.trim() };
	for (const f of flags) {
		const [k, v] = f.split(":");
		if (v === undefined) out[k.trim()] = true;
		else {
			const n = Number(v);
			out[k.trim()] = v === "true" ? true : v === "false" ? false : Number.isFinite(n) ? n : v;
		}
	}
	if (out.type.endsWith("[]")) return { type: "array", items: out.type.slice(0, -2), optional: out.optional };
	return out;
}

function normalizeRule(rule: Rule): Record<string, any> | Array<Record<string, any>> {
	if (typeof rule === "string") return parseShorthand(rule);
	if (Array.isArray(rule)) return rule.map((r) => normalizeRule(r) as Record<string, any>);
	return rule;
}

function patternSource(p: unknown): string | undefined {
	if (p instanceof RegExp) return p.source;
	if (typeof p === "string") return p;
	return undefined;
}

function isOptional(rule: Rule): boolean {
	const r = normalizeRule(rule);
	if (Array.isArray(r)) return r.every((x) => x.optional === true || x.default !== undefined);
	return r.optional === true || r.default !== undefined;
}

/** One fastest-validator rule → JSON Schema (draft 2020-12, as OpenAPI 3.1 uses). */
export function ruleToSchema(rule: Rule): JsonSchema {
	const r = normalizeRule(rule);
	if (Array.isArray(r)) return { anyOf: r.map((x) => ruleToSchema(x)) };
	const s: JsonSchema = {};
	const desc = r.description ?? r.label;
	if (typeof desc === "string") s.description = desc;
	if (r.default !== undefined && typeof r.default !== "function") s.default = r.default;
	switch (r.type) {
		case "string": {
			s.type = "string";
			// A user-text rule's limits count characters after cleaning (middlewares/strict-params.ts moves them to textLimits).
			const min = r.min ?? r.textLimits?.min;
			const max = r.max ?? r.textLimits?.max;
			if (typeof min === "number") s.minLength = min;
			if (typeof max === "number") s.maxLength = max;
			if (typeof r.length === "number") s.minLength = s.maxLength = r.length;
			const pat = patternSource(r.pattern);
			if (pat) s.pattern = pat;
			if (Array.isArray(r.enum)) s.enum = r.enum;
			if (r.numeric) s.pattern ??= "^-?[0-9]+(\\.[0-9]+)?$";
			if (r.alpha) s.pattern ??= "^[a-zA-Z]+$";
			if (r.hex) s.pattern ??= "^[0-9a-fA-F]+$";
			break;
		}
		case "number": {
			s.type = r.integer ? "integer" : "number";
			if (typeof r.min === "number") s.minimum = r.min;
			if (typeof r.max === "number") s.maximum = r.max;
			if (typeof r.equal === "number") s.const = r.equal;
			if (r.positive) s.exclusiveMinimum = 0;
			if (r.negative) s.exclusiveMaximum = 0;
			break;
		}
		case "boolean":
			s.type = "boolean";
			break;
		case "email":
			Object.assign(s, { type: "string", format: "email" });
			if (typeof r.max === "number") s.maxLength = r.max;
			break;
		case "url":
			Object.assign(s, { type: "string", format: "uri" });
			if (typeof r.max === "number") s.maxLength = r.max;
			break;
		case "uuid":
			Object.assign(s, { type: "string", format: "uuid" });
			break;
		case "date":
			Object.assign(s, { type: "string", format: "date-time" });
			break;
		case "objectID":
		case "currency":
		case "luhn":
		case "mac":
			s.type = "string";
			break;
		case "enum":
			if (Array.isArray(r.values)) s.enum = r.values;
			break;
		case "equal":
			s.const = r.value;
			break;
		case "array": {
			s.type = "array";
			if (r.items !== undefined) s.items = ruleToSchema(r.items);
			if (typeof r.min === "number") s.minItems = r.min;
			if (typeof r.max === "number") s.maxItems = r.max;
			if (typeof r.length === "number") s.minItems = s.maxItems = r.length;
			if (r.unique) s.uniqueItems = true;
			if (r.enum && Array.isArray(r.enum)) s.items = { enum: r.enum };
			break;
		}
		case "tuple": {
			s.type = "array";
			if (Array.isArray(r.items)) {
				s.prefixItems = r.items.map((x: Rule) => ruleToSchema(x));
				s.minItems = s.maxItems = r.items.length;
			}
			break;
		}
		case "object": {
			Object.assign(s, paramsToObjectSchema(r.props ?? r.properties ?? {}));
			if (r.strict === true || r.strict === "remove") s.additionalProperties = false;
			if (typeof r.minProps === "number") s.minProperties = r.minProps;
			if (typeof r.maxProps === "number") s.maxProperties = r.maxProps;
			break;
		}
		case "record": {
			s.type = "object";
			if (r.value !== undefined) s.additionalProperties = ruleToSchema(r.value);
			break;
		}
		case "multi":
			if (Array.isArray(r.rules)) s.anyOf = r.rules.map((x: Rule) => ruleToSchema(x));
			break;
		default:
			// any, custom, class, function: no constraint JSON Schema can state.
			break;
	}
	if (r.nullable === true && typeof s.type === "string") s.type = [s.type, "null"];
	return s;
}

/** A params object → {type: object, properties, required}. `$$` keys are validator options. */
export function paramsToObjectSchema(params: Record<string, unknown>): JsonSchema {
	const properties: Record<string, JsonSchema> = {};
	const required: string[] = [];
	for (const [key, rule] of Object.entries(params)) {
		if (key.startsWith("$$")) continue;
		if (rule === undefined || rule === null) continue;
		if (typeof rule === "object" && !Array.isArray(rule) && (rule as any).type === "forbidden") continue;
		properties[key] = ruleToSchema(rule as Rule);
		if (!isOptional(rule as Rule)) required.push(key);
	}
	const s: JsonSchema = { type: "object", properties };
	if (required.length) s.required = required;
	if ((params as any).$$strict === true) s.additionalProperties = false;
	return s;
}

const ERROR_SCHEMA: JsonSchema = {
	type: "object",
	properties: {
		name: { type: "string" },
		message: { type: "string" },
		code: { type: "integer" },
		type: { type: "string", description: "Stable UPPER_CASE error type" },
		data: {},
	},
	required: ["name", "message", "code"],
};

export interface OpenApiOptions {
	title?: string;
	version?: string;
	description?: string;
	/** Defaults to "/" (the document is served by the API it describes). */
	serverUrl?: string;
	license?: { name: string; identifier?: string; url?: string };
	/**
	 * Path parameters with a closed set of values, documented as one path per value. The webhook
	 * route's `{provider}` needs it: `/api/payments/webhooks/{provider}` and
	 * `/api/payments/{id}/refund` would otherwise be ambiguous templates (the gateway matches the
	 * webhooks route first).
	 */
	pathValues?: Record<string, readonly string[]>;
}

const SUCCESS_TEXT: Record<number, string> = {
	200: "Success",
	201: "Created",
	202: "Accepted: done in the background",
	204: "Done, no content",
	302: "Redirect to the Location header",
};

/** The responses of the statuses an action declares (`status`, default 200). */
function successResponses(status: unknown): Record<string, unknown> {
	const list = (Array.isArray(status) ? status : [status ?? 200]).filter((s): s is number => typeof s === "number");
	return Object.fromEntries(
		list.map((code) => [
			String(code),
			code === 204 || code === 302
				? { description: SUCCESS_TEXT[code] }
				: { description: SUCCESS_TEXT[code] ?? "Success", content: { "application/json": { schema: {} } } },
		]),
	);
}

/** Builds the OpenAPI 3.1 document from the gateway routes and the services in the registry. */
export function buildOpenApi(routes: RouteInfo[], services: ServiceInfo[], opts: OpenApiOptions = {}): Record<string, any> {
	const actions = new Map<string, ActionInfo>();
	for (const svc of services) for (const a of Object.values(svc.actions ?? {})) actions.set(a.name, a);
	const operations = expandPathValues(collectOperations(routes, services), opts.pathValues ?? {});
	const paths: Record<string, Record<string, any>> = {};
	const usedIds = new Set<string>();

	for (const op of operations) {
		const action = actions.get(op.action);
		const { path, params: pathParams } = toOpenApiPath(op.path);
		const params = { ...(action?.params ?? {}) } as Record<string, unknown>;
		const method = op.method.toLowerCase();
		let opId = op.action.replace(/[^A-Za-z0-9_.]/g, "_");
		if (usedIds.has(opId)) opId = `${opId}_${method}_${usedIds.size}`;
		usedIds.add(opId);

		const operation: Record<string, any> = {
			operationId: opId,
			tags: [op.action.split(".").slice(0, -1).join(".") || op.action],
			summary: action?.description ?? op.action,
			parameters: [] as any[],
			responses: {
				...successResponses(action?.status),
				"4XX": { description: "Client error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
				"503": {
					description: "Service unavailable, retry shortly",
					content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
				},
				default: {
					description: "Any other error, in the same shape",
					content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
				},
			},
		};
		if (!action) operation.description = "The action behind this route is not running on any node right now.";
		for (const name of pathParams) {
			const rule = params[name];
			delete params[name];
			const schema = rule !== undefined ? ruleToSchema(rule as Rule) : { type: "string" };
			operation.parameters.push({ name, in: "path", required: true, schema });
		}
		if (op.multipart) {
			// busboy's part details ($filename…) are filled in by the gateway, not sent as fields.
			for (const name of Object.keys(params)) if (name.startsWith("$")) delete params[name];
			const fields = paramsToObjectSchema(params);
			const properties = {
				file: { type: "string", contentMediaType: "application/octet-stream", description: "The file" },
				...(fields.properties as object),
			};
			operation.requestBody = { required: true, content: { "multipart/form-data": { schema: { type: "object", properties, required: ["file"] } } } };
		} else if (op.rawBody) {
			delete params.body;
			operation.requestBody = { required: true, content: { "*/*": { schema: { type: "string", description: "Raw body, verified as sent" } } } };
		} else if (BODY_METHODS.has(op.method)) {
			const body = paramsToObjectSchema(params);
			if (Object.keys(body.properties as object).length > 0) {
				operation.requestBody = {
					required: Array.isArray(body.required) && body.required.length > 0,
					content: { "application/json": { schema: body } },
				};
			}
		} else {
			for (const [name, rule] of Object.entries(params)) {
				if (name.startsWith("$$")) continue;
				operation.parameters.push({ name, in: "query", required: !isOptional(rule as Rule), schema: ruleToSchema(rule as Rule) });
			}
		}
		if (operation.parameters.length === 0) delete operation.parameters;
		// Every operation says how it is authenticated: a bearer token, optionally one, or none
		// (public reads, sign-in, and provider webhooks, which carry the provider's signature instead).
		if (action?.auth === "required") {
			operation.security = [{ bearerAuth: [] }];
		} else if (action?.auth === "optional") {
			operation.security = [{}, { bearerAuth: [] }];
		} else {
			operation.security = [];
		}
		if (Array.isArray(action?.roles) && action.roles.length) operation.description = `Roles: ${action.roles.join(", ")}`;
		if (Array.isArray(action?.scopes) && action.scopes.length) {
			const note = `Personal access tokens with the scope ${action.scopes.join(" or ")}.`;
			operation.description = operation.description ? `${operation.description}. ${note}` : note;
		}
		paths[path] ??= {};
		paths[path][method] = operation;
	}

	const doc: Record<string, any> = {
		openapi: "3.1.0",
		info: {
			title: opts.title ?? "MediaShar API",
			version: opts.version ?? "0.0.0",
			description: opts.description ?? "Generated from the running services' actions.",
			license: opts.license ?? { name: "MIT", identifier: "MIT" },
		},
		servers: [{ url: opts.serverUrl ?? "/" }],
		paths,
		components: {
			schemas: { Error: ERROR_SCHEMA },
			securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
		},
	};
	return doc;
}
