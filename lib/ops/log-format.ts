import util from "node:util";
import { currentRequestId } from "../tools/request-scope";

/**
 * Console logger formatters with the request id of the running call: JSON lines for log
 * shippers (`LOG_FORMAT=json`, the production default) and short readable lines for development.
 */

export type LogFormat = "json" | "short" | "full" | "simple";

interface Bindings {
	nodeID?: string;
	ns?: string;
	mod?: string;
	svc?: string;
}

function printArg(a: unknown): string {
	if (typeof a === "string") return a;
	if (a instanceof Error) return a.stack || a.message;
	return util.inspect(a, { depth: 4, breakLength: Infinity });
}

/** One JSON object per line: {time, level, msg, requestId?, nodeID, ns, mod, svc, err?}. */
export function jsonLine(type: string, args: unknown[], bindings: Bindings, requestId = currentRequestId(), now = new Date()): string {
	const rec: Record<string, unknown> = { time: now.toISOString(), level: type };
	if (requestId) rec.requestId = requestId;
	const err = args.find((a): a is Error => a instanceof Error);
	rec.msg = args
		.filter((a) => a !== err)
		.map(printArg)
		.join(" ");
	Object.assign(rec, { nodeID: bindings.nodeID, ns: bindings.ns || undefined, mod: bindings.mod, svc: bindings.svc });
	if (err)
		rec.err = { name: err.name, message: err.message, code: (err as { code?: unknown }).code, type: (err as { type?: unknown }).type, stack: err.stack };
	return JSON.stringify(rec);
}

/** "[12:00:00.000Z] INFO  USERS [req 01H…]: message". */
export function shortLine(
	type: string,
	args: unknown[],
	bindings: Bindings,
	requestId = currentRequestId(),
	now = new Date(),
	level = type.toUpperCase().padEnd(5),
): string {
	const rid = requestId ? ` [${requestId}]` : "";
	return `[${now.toISOString().substring(11)}] ${level} ${(bindings.mod || "").toUpperCase()}${rid}: ${args.map(printArg).join(" ")}`;
}

/** A formatter for moleculer's Console logger (`options.formatter`). */
export function logFormatter(format: string = "short") {
	return function (this: { levelColorStr?: Record<string, string> }, type: string, args: unknown[], bindings: Bindings): string[] {
		if (format === "json") return [jsonLine(type, args, bindings)];
		const level = this?.levelColorStr?.[type] ?? type.toUpperCase().padEnd(5);
		if (format === "full") {
			const rid = currentRequestId();
			return [
				`[${new Date().toISOString()}] ${level} ${bindings.nodeID}/${(bindings.mod || "").toUpperCase()}${rid ? ` [${rid}]` : ""}: ${args.map(printArg).join(" ")}`,
			];
		}
		return [shortLine(type, args, bindings, currentRequestId(), new Date(), level)];
	};
}
