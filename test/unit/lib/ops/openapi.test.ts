import { describe, expect, it } from "vitest";
import SwaggerParser from "@apidevtools/swagger-parser";
import { buildOpenApi, collectOperations, parseShorthand, ruleToSchema, toOpenApiPath, type ServiceInfo } from "../../../../lib/ops/openapi";
import { redoclyLint } from "../../../support/redocly";

const services: ServiceInfo[] = [
	{
		name: "users",
		settings: { rest: "/" },
		actions: {
			"users.profile": {
				name: "users.profile",
				rawName: "profile",
				rest: "GET /users/:username",
				params: { username: { type: "string", min: 3, max: 25, pattern: /^[a-z0-9_]+$/ } },
			},
			"users.update": {
				name: "users.update",
				rest: "PATCH /users/me",
				auth: "required",
				params: { displayName: "string|optional|max:50", bio: { type: "string", optional: true } },
			},
			"users.get": { name: "users.get", visibility: "public", rest: "GET /internal", params: {} },
			"users.noRest": { name: "users.noRest", params: {} },
		},
	},
	{
		name: "donations",
		settings: { rest: "/" },
		actions: {
			"donations.create": {
				name: "donations.create",
				rest: ["POST /donations"],
				params: {
					to: "string",
					amount: { type: "number", integer: true, min: 1 },
					currency: { type: "enum", values: ["IDR", "USD"] },
					tags: { type: "array", items: "string", max: 3, optional: true },
					meta: { type: "object", strict: true, optional: true, props: { a: { type: "boolean" } } },
					when: { type: "multi", rules: [{ type: "number" }, { type: "string" }], optional: true },
				},
			},
			"donations.list": {
				name: "donations.list",
				rest: "GET /me/donations/received",
				auth: "required",
				params: { limit: { type: "number", optional: true, convert: true } },
			},
		},
	},
	{
		name: "payments",
		settings: {},
		actions: { "payments.webhook": { name: "payments.webhook", visibility: "public", params: { provider: "string", body: "string" } } },
	},
];

const routes = [
	{ path: "/api/payments/webhooks", aliases: { "POST /:provider": "payments.webhook" }, bodyParsers: { json: false, text: true } },
	{ path: "/api", autoAliases: true },
	{ path: "/health", aliases: { "GET /": "api.health" } },
];

describe("OpenAPI generation", () => {
	it("maps fastest-validator rules to JSON Schema", () => {
		expect(parseShorthand("number|integer|min:1|optional")).toEqual({ type: "number", integer: true, min: 1, optional: true });
		expect(ruleToSchema({ type: "string", min: 3, max: 25, pattern: /^[a-z]+$/ })).toEqual({
			type: "string",
			minLength: 3,
			maxLength: 25,
			pattern: "^[a-z]+$",
		});
		expect(ruleToSchema({ type: "number", integer: true, min: 0, max: 10 })).toEqual({ type: "integer", minimum: 0, maximum: 10 });
		expect(ruleToSchema("email")).toEqual({ type: "string", format: "email" });
		expect(ruleToSchema({ type: "url", max: 100 })).toEqual({ type: "string", format: "uri", maxLength: 100 });
		expect(ruleToSchema({ type: "enum", values: ["a", "b"] })).toEqual({ enum: ["a", "b"] });
		expect(ruleToSchema({ type: "array", items: "string", min: 1 })).toEqual({ type: "array", items: { type: "string" }, minItems: 1 });
		expect(ruleToSchema({ type: "object", strict: true, props: { a: "boolean", b: "string|optional" } })).toEqual({
			type: "object",
			properties: { a: { type: "boolean" }, b: { type: "string" } },
			required: ["a"],
			additionalProperties: false,
		});
		expect(ruleToSchema({ type: "string", nullable: true })).toEqual({ type: ["string", "null"] });
		expect(ruleToSchema({ type: "multi", rules: ["number", "string"] })).toEqual({ anyOf: [{ type: "number" }, { type: "string" }] });
	});

	it("converts express paths to OpenAPI templates", () => {
		expect(toOpenApiPath("/api/users/:username/posts/:id?")).toEqual({ path: "/api/users/{username}/posts/{id}", params: ["username", "id"] });
	});

	it("lists exactly what the gateway routes: aliases plus published actions with rest", () => {
		const ops = collectOperations(routes, services).map((o) => `${o.method} ${o.path} ${o.action}`);
		expect(ops).toEqual([
			"POST /api/payments/webhooks/:provider payments.webhook",
			"GET /api/users/:username users.profile",
			"PATCH /api/users/me users.update",
			"POST /api/donations donations.create",
			"GET /api/me/donations/received donations.list",
			"GET /health api.health",
		]);
	});

	it("builds a valid OpenAPI 3.1 document with params, bodies and bearer security", async () => {
		const doc = buildOpenApi(routes, services, { version: "1.2.3" });
		expect(doc.openapi).toBe("3.1.0");
		const profile = doc.paths["/api/users/{username}"].get;
		expect(profile.parameters).toEqual([
			{ name: "username", in: "path", required: true, schema: { type: "string", minLength: 3, maxLength: 25, pattern: "^[a-z0-9_]+$" } },
		]);
		expect(profile.security).toEqual([]);
		const update = doc.paths["/api/users/me"].patch;
		expect(update.security).toEqual([{ bearerAuth: [] }]);
		expect(update.requestBody.content["application/json"].schema.properties.displayName).toEqual({ type: "string", maxLength: 50 });
		const create = doc.paths["/api/donations"].post;
		expect(create.requestBody.content["application/json"].schema.required).toEqual(["to", "amount", "currency"]);
		const list = doc.paths["/api/me/donations/received"].get;
		expect(list.parameters).toEqual([{ name: "limit", in: "query", required: false, schema: { type: "number" } }]);
		const hook = doc.paths["/api/payments/webhooks/{provider}"].post;
		expect(hook.requestBody.content["*/*"].schema.type).toBe("string");
		expect(hook.parameters[0]).toMatchObject({ name: "provider", in: "path" });
		await expect(SwaggerParser.validate(structuredClone(doc) as any)).resolves.toBeTruthy();
	});

	it("declares how every operation is authenticated, from the actions' auth metadata", () => {
		const withOptional: ServiceInfo[] = [
			...services,
			{
				name: "likes",
				settings: { rest: "/" },
				actions: { "likes.get": { name: "likes.get", rest: "GET /likes/:type/:id", auth: "optional", params: {} } },
			},
		];
		const doc = buildOpenApi(routes, withOptional, { pathValues: { provider: ["sandbox", "stripe"] } });
		expect(doc.components.securitySchemes).toEqual({ bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT" } });
		expect(doc.paths["/api/users/me"].patch.security).toEqual([{ bearerAuth: [] }]);
		expect(doc.paths["/api/likes/{type}/{id}"].get.security).toEqual([{}, { bearerAuth: [] }]);
		expect(doc.paths["/api/users/{username}"].get.security).toEqual([]);
		// Provider webhooks: one path per provider, no bearer token (the provider signs the body).
		expect(Object.keys(doc.paths).filter((p) => p.includes("webhooks"))).toEqual(["/api/payments/webhooks/sandbox", "/api/payments/webhooks/stripe"]);
		expect(doc.paths["/api/payments/webhooks/stripe"].post.security).toEqual([]);
		expect(doc.info.license).toEqual({ name: "MIT", identifier: "MIT" });
		expect(doc.servers).toEqual([{ url: "/" }]);
		// A user-text rule keeps its limits in the document after StrictParams moved them.
		expect(ruleToSchema({ type: "string", text: "line", textLimits: { min: 1, max: 50 } })).toEqual({ type: "string", minLength: 1, maxLength: 50 });
	});

	it("lints clean with Redocly's recommended rules (offline)", async () => {
		const doc = buildOpenApi(routes, services, { pathValues: { provider: ["sandbox", "stripe"] } });
		expect(await redoclyLint(doc)).toEqual([]);
		// The check is real: without per-operation security the same ruleset reports it.
		for (const ops of Object.values<any>(doc.paths)) for (const op of Object.values<any>(ops)) delete op.security;
		const problems = await redoclyLint(doc);
		expect(problems.map((p) => p.ruleId)).toContain("security-defined");
	}, 60_000);
});
