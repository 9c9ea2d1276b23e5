import { AsyncLocalStorage } from "node:async_hooks";
import type { ServiceBroker } from "moleculer";

/**
 * The request id of whatever is running now, kept in AsyncLocalStorage so that it reaches the
 * places a Context does not: log lines, `broker.call`/`emit` made from channel handlers and
 * timers, and channel messages sent without `{ctx}`. The gateway sets the id (X-Request-Id or a
 * fresh one); moleculer carries it through `ctx.call`; this middleware carries it everywhere else.
 */

export interface RequestScope {
	requestID: string;
}

export const requestScope = new AsyncLocalStorage<RequestScope>();

export function currentRequestId(): string | undefined {
	return requestScope.getStore()?.requestID;
}

/**
 * Runs `fn` with `requestID` as the current request id. No new scope when it is empty or already
 * the current one (a local call made inside the same request).
 */
export function withRequestId<T>(requestID: string | undefined | null, fn: () => T): T {
	if (!requestID || requestScope.getStore()?.requestID === requestID) return fn();
	return requestScope.run({ requestID }, fn);
}

/** Channel message headers → the request id of the call that sent it. */
export function requestIdFromHeaders(headers: unknown): string | undefined {
	if (!headers || typeof headers !== "object") return undefined;
	const h = headers as Record<string, unknown>;
	const v = h.$requestID ?? h["x-request-id"];
	return typeof v === "string" && v ? v : undefined;
}

type Fn = (...args: any[]) => any;

export function RequestContextMiddleware() {
	let broker: ServiceBroker & { channelAdapter?: { parseMessageHeaders(raw: unknown): unknown } };
	const wrapCtxHandler = (next: Fn) =>
		function (this: unknown, ctx: { requestID?: string }) {
			return withRequestId(ctx?.requestID, () => next(ctx));
		};
	const withId = (opts: any) => {
		const id = currentRequestId();
		if (!id || (opts && (opts.parentCtx || opts.requestID || opts.ctx))) return opts;
		return { ...(opts ?? {}), requestID: id };
	};
	return {
		name: "RequestContext",
		created(b: ServiceBroker) {
			broker = b as typeof broker;
		},
		localAction: wrapCtxHandler,
		localEvent: wrapCtxHandler,
		/** @moleculer/channels hook: the handler runs with the sender's request id. */
		localChannel(this: typeof broker | undefined, next: Fn) {
			// Hooks are called with the broker as `this`; the middleware object may be shared by brokers.
			const owner = this?.channelAdapter ? this : broker;
			return function (this: unknown, msg: any, raw: any) {
				let id: string | undefined;
				if (msg && typeof msg === "object" && typeof msg.requestID === "string" && msg.broker)
					id = msg.requestID; // context mode
				else id = requestIdFromHeaders(owner?.channelAdapter?.parseMessageHeaders(raw));
				return withRequestId(id, () => next(msg, raw));
			};
		},
		call(next: Fn) {
			return (actionName: string, params: unknown, opts: unknown) => next(actionName, params, withId(opts));
		},
		emit(next: Fn) {
			return (event: string, payload: unknown, opts: unknown) => next(event, payload, withId(opts));
		},
		broadcast(next: Fn) {
			return (event: string, payload: unknown, opts: unknown) => next(event, payload, withId(opts));
		},
		/** @moleculer/channels hook: messages sent without `{ctx}` still carry the request id. */
		sendToChannel(next: Fn) {
			return (channelName: string, payload: unknown, opts: any) => {
				const id = currentRequestId();
				if (id && !opts?.ctx && !opts?.headers?.$requestID) opts = { ...(opts ?? {}), headers: { ...(opts?.headers ?? {}), $requestID: id } };
				return next(channelName, payload, opts);
			};
		},
	};
}
