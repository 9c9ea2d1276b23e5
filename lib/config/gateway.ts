import { intEnv } from "./env";

/** The HTTP and Socket.IO gateway (services/gateway). */
export interface GatewayConfig {
	/** HTTP port (`PORT`, default 3000; 0 picks a free one). */
	port: number;
	/** Listen address (`HOST`, default 0.0.0.0). */
	host: string;
	/**
	 * Trust the first `X-Forwarded-For` hop as the client (`TRUST_PROXY=true`, behind the compose
	 * load balancer). Off by default: anyone could otherwise spoof their way past rate limits.
	 */
	trustProxy: boolean;
	/** JSON body limit (`MAX_BODY`, default 64kb; 413 above it). */
	maxBody: string;
	/** REST requests per client IP per minute (`RATE_LIMIT_IP_PER_MIN`, default 600). */
	ipPerMin: number;
	/** REST requests per signed-in user per minute (`RATE_LIMIT_USER_PER_MIN`, default 300). */
	userPerMin: number;
}

export function gatewayConfig(env: NodeJS.ProcessEnv): GatewayConfig {
	return {
		port: intEnv("PORT", 3000, env),
		host: env.HOST || "0.0.0.0",
		trustProxy: env.TRUST_PROXY === "true",
		maxBody: env.MAX_BODY || "64kb",
		ipPerMin: intEnv("RATE_LIMIT_IP_PER_MIN", 600, env),
		userPerMin: intEnv("RATE_LIMIT_USER_PER_MIN", 300, env),
	};
}
