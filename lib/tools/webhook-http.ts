import http from "node:http";
import https from "node:https";
import { guardedLookup, type Resolver } from "./webhook-url";

export interface PostOptions {
	body: string;
	headers: Record<string, string>;
	timeoutMs: number;
	blockPrivate: boolean;
	resolve: Resolver;
}

/**
 * One POST to an integrator's URL with node:http(s). Redirects are not followed (a 3xx is
 * an answer like any other). Names go through `guardedLookup`, so a private answer refuses the
 * attempt before any byte is sent and the socket connects to the address that was checked
 * (global fetch cannot take a lookup without an extra dispatcher dependency). The whole attempt,
 * response body included, is bounded by `timeoutMs`.
 */
export function postWebhook(url: URL, opts: PostOptions): Promise<number> {
	const mod = url.protocol === "https:" ? https : http;
	return new Promise<number>((resolve, reject) => {
		const req = mod.request(url, {
			method: "POST",
			headers: { ...opts.headers, "Content-Length": String(Buffer.byteLength(opts.body)) },
			lookup: guardedLookup(opts.resolve, opts.blockPrivate),
			agent: false,
		});
		const timer = setTimeout(() => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
		timer.unref?.();
		req.on("response", (res) => {
			res.resume();
			res.on("end", () => {
				clearTimeout(timer);
				resolve(res.statusCode ?? 0);
			});
			res.on("error", (err) => {
				clearTimeout(timer);
				reject(err);
			});
		});
		req.on("error", (err) => {
			clearTimeout(timer);
			reject(err);
		});
		req.end(opts.body);
	});
}
