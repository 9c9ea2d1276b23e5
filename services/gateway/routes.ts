import type { IncomingMessage } from "node:http";
import { Errors } from "moleculer";
import type { ApiRouteSchema } from "moleculer-web";
import type { AppConfig } from "../../lib/config";
import type { GatewayConfig } from "../../lib/config/gateway";
import { bearerToken } from "../../lib/tools/tokens";
import { pageRoutes } from "./pages";
import { checkUpload, mediaFileRoutes } from "./media-files";
import { LIMIT_WINDOW_MS, GatewayRateStore, clientIp, sameSecret, type Ctx, type Req, type Res } from "./http";

/**
 * The gateway's routes (services/gateway/api.service.ts builds them from lib/config when it is
 * created): provider webhooks, the REST API, health, metrics, the HTML pages and media files.
 */

/** What the route hooks use of the gateway service. */
interface RouteHost {
	appConfig: AppConfig;
	selfUrl(): string;
}

/** A provider webhook route: the raw body is what gets verified, so no JSON parsing here. */
function webhookRoute(path: string, action: string): ApiRouteSchema {
	return {
		path,
		mappingPolicy: "restrict",
		mergeParams: false,
		authentication: false,
		authorization: false,
		bodyParsers: { json: false, urlencoded: false, text: { type: () => true, limit: "256kb" } },
		aliases: { "POST /:provider": action },
		onBeforeCall(ctx: Ctx, _route: unknown, req: Req) {
			const h = req.headers;
			ctx.meta.webhook = {
				headers: {
					"stripe-signature": h["stripe-signature"],
					"x-sandbox-signature": h["x-sandbox-signature"],
					"paypal-transmission-id": h["paypal-transmission-id"],
					"paypal-transmission-time": h["paypal-transmission-time"],
					"paypal-transmission-sig": h["paypal-transmission-sig"],
					"paypal-cert-url": h["paypal-cert-url"],
					"paypal-auth-algo": h["paypal-auth-algo"],
					"iris-signature": h["iris-signature"],
					"content-type": h["content-type"],
				},
			};
			const p = req.$params;
			if (p && typeof p.body !== "string") p.body = "";
		},
	};
}
/** The routes, with the limits and proxy trust of lib/config/gateway.ts. */
export function gatewayRoutes(cfg: GatewayConfig): ApiRouteSchema[] {
	return [
		webhookRoute("/api/payments/webhooks", "payments.webhook"),
		// Payout providers (services/payouts).
		webhookRoute("/api/payouts/webhooks", "payouts.webhook"),
		{
			path: "/api",
			autoAliases: true,
			mappingPolicy: "restrict",
			authentication: true,
			authorization: true,
			bodyParsers: { json: { strict: true, limit: cfg.maxBody }, urlencoded: false },
			rateLimit: {
				window: LIMIT_WINDOW_MS,
				limit: cfg.ipPerMin,
				headers: true,
				key: (req: IncomingMessage) => clientIp(req, cfg.trustProxy),
				StoreFactory: GatewayRateStore,
			},
			callOptions: {},
			onBeforeCall(this: RouteHost, ctx: Ctx, _route: unknown, req: Req, _res: Res, alias?: { type?: string }) {
				// Uploads: a body that is not a form, or too large to hold any file, is refused before it is read.
				checkUpload(req, alias, this.appConfig.media);
				// Marks the call (and every call its handler makes) as made for a client: middlewares/permissions.ts checks it.
				ctx.meta.via = "rest";
				ctx.meta.ip = clientIp(req, cfg.trustProxy);
				if (typeof req.headers["user-agent"] === "string") ctx.meta.userAgent = req.headers["user-agent"].slice(0, 300);
				const key = req.headers["idempotency-key"];
				if (typeof key === "string") ctx.meta.idempotencyKey = key;
				ctx.meta.selfUrl = this.selfUrl();
			},
			/** The action's declared success status (`status: 201`) unless its handler chose one. */
			onAfterCall(ctx: Ctx, _route: unknown, req: Req, _res: Res, data: unknown) {
				const status = req.$action?.status;
				if (ctx.meta.$statusCode === undefined && typeof status === "number") ctx.meta.$statusCode = status;
				return data;
			},
		},
		{
			path: "/health",
			mappingPolicy: "restrict",
			authentication: false,
			authorization: false,
			aliases: { "GET /": "api.health", "GET /services": "ops.services", "GET /ready": "ops.ready" },
		},
		{
			// Prometheus scrape endpoint (services/ops/ops.service.ts renders every node's registry).
			path: "/metrics",
			mappingPolicy: "restrict",
			authentication: false,
			authorization: false,
			aliases: { "GET /": "ops.metrics" },
			onBeforeCall(this: RouteHost, _ctx: Ctx, _route: unknown, req: Req) {
				const expected = this.appConfig.metricsToken;
				if (expected && !sameSecret(bearerToken(req.headers.authorization), expected)) {
					throw new Errors.MoleculerClientError("/metrics needs 'Authorization: Bearer <METRICS_TOKEN>'", 401, "UNAUTHORIZED");
				}
			},
		},
		// HTML pages: /overlay/*, /u/:username, /pay/sandbox/:id, /chat/:username, /dashboard.
		...pageRoutes(),
		// Media library files: /media/<sha256>.<ext> (services/gateway/media-files.ts).
		...mediaFileRoutes(),
	];
}
