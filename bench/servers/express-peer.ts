import express, { type NextFunction, type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";
import jwt from "jsonwebtoken";
import { LRUCache } from "lru-cache";
import { serveChild } from "../lib";

/**
 * The REST peer: the same job as MediaShar's authenticated cached profile read, written the way an
 * Express application does it. A bearer JWT verified with jsonwebtoken (HS256, `typ: access`), a
 * per-user limit with express-rate-limit (its memory store), the username checked, and the JSON
 * answered from an lru-cache of rendered responses (30 s, like the profile action's cache).
 * BASELINE_BODY is the profile document a cache miss "loads"; JWT_SECRET signs MediaShar's tokens.
 */

const secret = process.env.JWT_SECRET;
if (!secret) throw new Error("JWT_SECRET must be set");
const profile = JSON.parse(process.env.BASELINE_BODY || "{}");
const perUserPerMin = Number(process.env.RATE_LIMIT_USER_PER_MIN || 300);

interface AuthedRequest extends Request {
	user?: { sub: string; username: string; roles: string[] };
}

function authenticate(req: AuthedRequest, res: Response, next: NextFunction) {
	const header = req.headers.authorization;
	if (!header?.startsWith("Bearer ")) return res.status(401).json({ name: "Unauthorized", message: "Sign in to do this", code: 401, type: "UNAUTHORIZED" });
	try {
		const claims = jwt.verify(header.slice(7), secret!, { algorithms: ["HS256"] }) as jwt.JwtPayload;
		if (claims.typ !== "access" || typeof claims.sub !== "string") throw new Error("not an access token");
		req.user = { sub: claims.sub, username: claims.username, roles: claims.roles ?? [] };
		next();
	} catch {
		res.status(401).json({ name: "Unauthorized", message: "Invalid access token", code: 401, type: "INVALID_TOKEN" });
	}
}

const perUser = rateLimit({
	windowMs: 60_000,
	limit: perUserPerMin,
	standardHeaders: "draft-7",
	legacyHeaders: false,
	keyGenerator: (req: AuthedRequest) => `user:${req.user!.sub}`,
	handler: (_req, res) => res.status(429).json({ name: "TooManyRequests", message: "Too many requests", code: 429, type: "RATE_LIMITED" }),
});

const cache = new LRUCache<string, string>({ max: 10_000, ttl: 30_000 });

const app = express();
app.get("/api/users/:username", authenticate, perUser, (req: Request<{ username: string }>, res: Response) => {
	const username = req.params.username.toLowerCase();
	if (!/^[a-z0-9_]{3,25}$/.test(username))
		return res.status(422).json({ name: "ValidationError", message: "Invalid username", code: 422, type: "VALIDATION_ERROR" });
	let body = cache.get(username);
	if (body === undefined) {
		body = JSON.stringify(profile);
		cache.set(username, body);
	}
	res.type("application/json").send(body);
});

const server = app.listen(0, "127.0.0.1", () => {
	const addr = server.address() as { port: number };
	serveChild({ port: addr.port, url: `http://127.0.0.1:${addr.port}` }, {});
});
server.keepAliveTimeout = 65_000;
process.once("disconnect", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
