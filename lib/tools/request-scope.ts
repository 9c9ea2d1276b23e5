import { AsyncLocalStorage } from "node:async_hooks";

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
