import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import config, { createMiddlewares } from "../../moleculer.config";
import apiSchema from "../../services/gateway/api.service";
import { loadConfig } from "../../lib/config";
import { REST_PIECES as PIECES, serveChild, type RestPiece as Piece } from "../lib";

/**
 * REST reference points: moleculer-web routing to a trivial action that returns the same JSON
 * document, on a default broker (TRIVIAL_BROKER=default) or on MediaShar's broker and gateway
 * options (TRIVIAL_BROKER=mediashar: metrics, request-context, strict-params and channel
 * middlewares, fault tolerance, the gateway's request-id/meta/status hooks and error handler).
 * No authentication, rate limit or cache: what is left is the framework's own cost.
 *
 * TRIVIAL_OFF=<piece> (mediashar only) switches one piece off, for the cost table of the REST
 * scenario: see REST_PIECES in bench/lib.ts.
 */

const body = JSON.parse(process.env.BASELINE_BODY || "{}");
const off = (process.env.TRIVIAL_OFF || "") as Piece | "";
if (off && !(off in PIECES)) throw new Error(`TRIVIAL_OFF must be one of ${Object.keys(PIECES).join(", ")} (got "${off}")`);
const mediashar = process.env.TRIVIAL_BROKER === "mediashar";

function mediasharOptions(): BrokerOptions {
	const drop =
		(...names: string[]) =>
		(mw: any) =>
			!names.includes(typeof mw === "string" ? mw : mw?.name);
	let middlewares = createMiddlewares();
	const opts: BrokerOptions = { ...config, nodeID: `trivial-${process.pid}`, transporter: null, logger: false };
	if (off === "metrics") opts.metrics = { enabled: false };
	if (off === "productMetrics") middlewares = middlewares.filter(drop("ProductMetrics"));
	if (off === "requestContext") middlewares = middlewares.filter(drop("RequestContext"));
	if (off === "strictParams") middlewares = middlewares.filter(drop("StrictParams", "ValidationDetails"));
	if (off === "validator") opts.validator = false;
	if (off === "circuitBreaker") opts.circuitBreaker = { ...config.circuitBreaker, enabled: false };
	if (off === "retry") opts.retryPolicy = { ...config.retryPolicy, enabled: false };
	if (off === "timeout") opts.requestTimeout = 0;
	if (off === "bulkhead") opts.bulkhead = { ...config.bulkhead, enabled: false };
	if (off === "tracking") opts.tracking = { ...config.tracking, enabled: false };
	if (off === "tracing") middlewares = middlewares.filter(drop("Tracing"));
	if (off === "channels") middlewares = middlewares.filter(drop("Channels"));
	opts.middlewares = middlewares;
	return opts;
}

const broker = new ServiceBroker(mediashar ? mediasharOptions() : { nodeID: `trivial-${process.pid}`, logger: false });
// The same route and params as the real profile read (MediaShar's options refuse undeclared params).
broker.createService({
	name: "profile",
	actions: { get: { rest: "GET /users/:username", params: { username: { type: "string", min: 1, max: 25 } }, handler: () => body } },
} as ServiceSchema);

const settings: Record<string, unknown> = { port: 0, ip: "127.0.0.1", log4XXResponses: false, logRequest: null, logResponse: null };
const route: Record<string, unknown> = { path: "/api", aliases: { "GET /users/:username": "profile.get" } };
let gateway: Partial<ServiceSchema> = {};
if (mediashar) {
	// MediaShar's gateway options: no retry, bulkhead or breaker on the HTTP entry action itself.
	gateway = {
		actions: { rest: (apiSchema.actions as any).rest },
		methods: { selfUrl: (apiSchema.methods as any).selfUrl },
		// The /api route's hooks read the gateway's settings (the upload check reads the media limits).
		created(this: any) {
			this.appConfig = loadConfig();
		},
	};
	if (off !== "hooks") {
		const api = (apiSchema.settings as any).routes.find((r: any) => r.path === "/api");
		Object.assign(settings, { rootCallOptions: (apiSchema.settings as any).rootCallOptions, onError: (apiSchema.settings as any).onError });
		Object.assign(route, { onBeforeCall: api.onBeforeCall, onAfterCall: api.onAfterCall });
	}
}
broker.createService({
	name: "api",
	mixins: [ApiGateway as unknown as ServiceSchema],
	settings: { ...settings, routes: [route] },
	...gateway,
} as ServiceSchema);
broker.start().then(() => {
	const port = ((broker.getLocalService("api") as any).server.address() as { port: number }).port;
	serveChild({ port, url: `http://127.0.0.1:${port}` }, {});
});
process.once("disconnect", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
