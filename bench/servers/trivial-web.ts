import { ServiceBroker, type ServiceSchema } from "moleculer";
import ApiGateway from "moleculer-web";
import config from "../../moleculer.config";
import { serveChild } from "../lib";

/**
 * REST reference points: moleculer-web routing to a trivial action that returns the same JSON
 * document, on a default broker (TRIVIAL_BROKER=default) or on MediaShar's broker options
 * (TRIVIAL_BROKER=mediashar: metrics, request-context and channel middlewares, fault tolerance).
 * No authentication, rate limit or cache: what is left is the framework's own cost.
 */

const body = JSON.parse(process.env.BASELINE_BODY || "{}");
const broker = new ServiceBroker(process.env.TRIVIAL_BROKER === "mediashar" ? { ...config, nodeID: `trivial-${process.pid}`, transporter: null, logger: false } : { nodeID: `trivial-${process.pid}`, logger: false });
// The same route and params as the real profile read (MediaShar's options refuse undeclared params).
broker.createService({ name: "profile", actions: { get: { rest: "GET /users/:username", params: { username: { type: "string", min: 1, max: 25 } }, handler: () => body } } } as ServiceSchema);
broker.createService({
	name: "api",
	mixins: [ApiGateway as unknown as ServiceSchema],
	settings: { port: 0, ip: "127.0.0.1", routes: [{ path: "/api", aliases: { "GET /users/:username": "profile.get" } }], log4XXResponses: false, logRequest: null, logResponse: null },
} as ServiceSchema);
broker.start().then(() => {
	const port = ((broker.getLocalService("api") as any).server.address() as { port: number }).port;
	serveChild({ port, url: `http://127.0.0.1:${port}` }, {});
});
process.once("disconnect", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
