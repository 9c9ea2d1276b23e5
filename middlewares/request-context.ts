import type { ServiceBroker } from "moleculer";

import { currentRequestId, requestIdFromHeaders, withRequestId } from "../lib/tools/request-scope";

/** A handler or broker method being wrapped: the hooks pass their arguments through unchanged. */
type Fn = (...args: unknown[]) => unknown;
type CallOpts = { parentCtx?: unknown; requestID?: string; ctx?: unknown; headers?: Record<string, unknown> } | undefined;

/**
 * Carries the request id (lib/tools/request-scope.ts) where a Context does not: into action,
 * event and channel handlers, and onto calls, emits and channel messages made outside a Context
 * (timers, channel handlers), so every log line and hop of one request shares its id.
 */
export function RequestContextMiddleware() {
	let broker: ServiceBroker & { channelAdapter?: { parseMessageHeaders(raw: unknown): unknown } };
	const wrapCtxHandler = (next: Fn) =>
		function (this: unknown, ctx: { requestID?: string }) {
			return withRequestId(ctx?.requestID, () => next(ctx));
		};
	const withId = (opts: CallOpts) => {
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
			return function (this: unknown, msg: unknown, raw: unknown) {
				let id: string | undefined;
				const asCtx = msg as { requestID?: unknown; broker?: unknown } | null;
				if (asCtx && typeof asCtx === "object" && typeof asCtx.requestID === "string" && asCtx.broker)
					id = asCtx.requestID; // context mode
				else id = requestIdFromHeaders(owner?.channelAdapter?.parseMessageHeaders(raw));
				return withRequestId(id, () => next(msg, raw));
			};
		},
		call(next: Fn) {
			return (actionName: string, params: unknown, opts: CallOpts) => next(actionName, params, withId(opts));
		},
		emit(next: Fn) {
			return (event: string, payload: unknown, opts: CallOpts) => next(event, payload, withId(opts));
		},
		broadcast(next: Fn) {
			return (event: string, payload: unknown, opts: CallOpts) => next(event, payload, withId(opts));
		},
		/** @moleculer/channels hook: messages sent without `{ctx}` still carry the request id. */
		sendToChannel(next: Fn) {
			return (channelName: string, payload: unknown, opts: CallOpts) => {
				const id = currentRequestId();
				if (id && !opts?.ctx && !opts?.headers?.$requestID) opts = { ...(opts ?? {}), headers: { ...(opts?.headers ?? {}), $requestID: id } };
				return next(channelName, payload, opts);
			};
		},
	};
}
