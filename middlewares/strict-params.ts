/**
 * Public entry points refuse what they do not know. Every action a client reaches (it declares a
 * REST route or a socket event) validates its params strictly: a field it does not declare is a
 * 422, as Stripe answers "unknown parameter", instead of being silently ignored; an entry point
 * that declares no params accepts none. Internal actions keep fastest-validator's default.
 *
 * Two broker middlewares, listed around Moleculer's Validator in moleculer.config.ts:
 * `StrictParamsMiddleware` before it (it marks the schemas before the Validator compiles them) and
 * `ValidationDetailsMiddleware` after it (it turns fastest-validator's one "forbidden keys" entry
 * into one entry per unknown field, with `field` named as the contract's error shape asks).
 *
 * The same pass hosts user-text hygiene, so no action repeats it: a string param declared
 * `text: "line"` or `text: "block"` is cleaned by lib/domain/text.ts (NFC; control, bidi and format
 * characters removed) before the handler sees it, and its `min`/`max` count graphemes of the
 * cleaned text (a 422 in the Validator's shape: `stringEmpty`/`stringMin`/`stringMax`).
 */

import { Errors, type Context } from "moleculer";
import { cleanText, graphemeCount, type TextMode } from "../lib/domain/text";

type Handler = (ctx: Context) => Promise<unknown>;

/** A string param declared `text: "line" | "block"`: cleaned by lib/domain/text.ts, limits in graphemes. */
interface TextField {
	field: string;
	mode: TextMode;
	min?: number;
	max?: number;
}

/**
 * Finds the `text` rules of a params schema: the Validator keeps checking their type, while
 * `min`/`max` move to `textLimits` and are checked here (the Validator counts UTF-16 units; these
 * count graphemes after cleaning). Rules are copied, never changed in place (one rule object is
 * often shared by several actions), and a rule already moved is recognised: Moleculer wraps each
 * local action twice (service and registry), with the same schema.
 */
function takeTextFields(params: Record<string, unknown>): TextField[] {
	const fields: TextField[] = [];
	for (const [field, rule] of Object.entries(params)) {
		if (field.startsWith("$$") || !rule || typeof rule !== "object") continue;
		const r = rule as { text?: unknown; min?: number; max?: number; textLimits?: { min?: number; max?: number } };
		if (r.text !== "line" && r.text !== "block") continue;
		if (!r.textLimits) {
			const { min, max, ...rest } = r;
			params[field] = { ...rest, textLimits: { min, max } };
		}
		const limits = (params[field] as typeof r).textLimits!;
		fields.push({ field, mode: r.text, min: limits.min, max: limits.max });
	}
	return fields;
}

function lengthProblem(f: TextField, value: string): Record<string, unknown> | null {
	const n = graphemeCount(value);
	if (f.min !== undefined && n < f.min) {
		const message =
			f.min === 1
				? `The '${f.field}' field must not be empty.`
				: `The '${f.field}' field length must be greater than or equal to ${f.min} characters long.`;
		return { type: f.min === 1 ? "stringEmpty" : "stringMin", field: f.field, expected: f.min, actual: n, message };
	}
	if (f.max !== undefined && n > f.max)
		return {
			type: "stringMax",
			field: f.field,
			expected: f.max,
			actual: n,
			message: `The '${f.field}' field length must be less than or equal to ${f.max} characters long.`,
		};
	return null;
}

export const StrictParamsMiddleware = {
	name: "StrictParams",
	localAction(next: Handler, action: { rest?: unknown; socket?: unknown; params?: Record<string, unknown> }) {
		if (action.rest || action.socket) {
			if (!action.params) action.params = {};
			if (action.params.$$strict === undefined) action.params.$$strict = true;
		}
		const textFields = action.params ? takeTextFields(action.params) : [];
		if (textFields.length === 0) return next;
		// User text is cleaned before the Validator sees it, so what is checked is what is stored.
		return function (this: unknown, ctx: Context) {
			const params = ctx.params as Record<string, unknown> | null;
			if (params && typeof params === "object") {
				const problems: Record<string, unknown>[] = [];
				for (const f of textFields) {
					const value = params[f.field];
					if (typeof value !== "string") continue;
					const cleaned = cleanText(value, f.mode);
					params[f.field] = cleaned;
					const problem = lengthProblem(f, cleaned);
					if (problem) problems.push(problem);
				}
				if (problems.length)
					return Promise.reject(new Errors.ValidationError("Parameters validation error!", undefined as unknown as string, problems));
			}
			return next(ctx);
		};
	},
};

interface ValidationEntry {
	type?: string;
	field?: string;
	actual?: unknown;
	message?: string;
	[k: string]: unknown;
}

/** fastest-validator's `objectStrict` entry → one `UNKNOWN_FIELD` entry per key. */
export function detailUnknownFields(data: unknown): unknown {
	if (!Array.isArray(data)) return data;
	return (data as ValidationEntry[]).flatMap((e) => {
		if (e?.type !== "objectStrict" || typeof e.actual !== "string") return [e];
		const prefix = e.field ? `${e.field}.` : "";
		return e.actual
			.split(",")
			.map((k) => k.trim())
			.filter(Boolean)
			.map((key) => ({ field: `${prefix}${key}`, message: `'${prefix}${key}' is not a known field`, type: "unknownField" }));
	});
}

export const ValidationDetailsMiddleware = {
	name: "ValidationDetails",
	localAction(next: Handler, action: { params?: Record<string, unknown> }) {
		if (!action.params?.$$strict) return next;
		return function (this: unknown, ctx: Context) {
			return next(ctx).catch((err: { name?: string; data?: unknown } | null) => {
				if (err?.name === "ValidationError") err.data = detailUnknownFields(err.data);
				throw err;
			});
		};
	},
};
