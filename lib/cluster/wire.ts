/**
 * Values that cross the remote datastore: queries, updates and documents. The broker's JSON
 * serializer would turn a Date into a string and a RegExp into `{}`, which silently changes what
 * a query matches, so both are tagged on the way out and restored on the way in.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const DATE = "$__date";
const REGEXP = "$__regexp";

export function encodeValue(value: unknown): Json {
	if (value === undefined) return null;
	if (value === null || typeof value === "boolean" || typeof value === "string") return value;
	if (typeof value === "number") return Number.isFinite(value) ? value : null;
	if (value instanceof Date) return { [DATE]: value.toISOString() };
	if (value instanceof RegExp) return { [REGEXP]: [value.source, value.flags] };
	if (Array.isArray(value)) return value.map(encodeValue);
	if (typeof value === "object") {
		const out: Record<string, Json> = {};
		for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
			if (v !== undefined) out[k] = encodeValue(v);
		}
		return out;
	}
	throw new TypeError(`Cannot send a ${typeof value} to the datastore.`);
}

export function decodeValue<T = unknown>(value: unknown): T {
	if (value === null || typeof value !== "object") return value as T;
	if (Array.isArray(value)) return value.map((v) => decodeValue(v)) as T;
	const obj = value as Record<string, unknown>;
	const keys = Object.keys(obj);
	if (keys.length === 1 && keys[0] === DATE && typeof obj[DATE] === "string") return new Date(obj[DATE] as string) as T;
	if (keys.length === 1 && keys[0] === REGEXP && Array.isArray(obj[REGEXP])) {
		const [source, flags] = obj[REGEXP] as [string, string];
		return new RegExp(source, flags) as T;
	}
	const out: Record<string, unknown> = {};
	for (const k of keys) out[k] = decodeValue(obj[k]);
	return out as T;
}
