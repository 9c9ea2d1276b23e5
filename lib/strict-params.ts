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
 */

type Handler = (ctx: any) => Promise<unknown>;

export const StrictParamsMiddleware = {
	name: "StrictParams",
	localAction(next: Handler, action: { rest?: unknown; socket?: unknown; params?: Record<string, unknown> }) {
		if (action.rest || action.socket) {
			if (!action.params) action.params = {};
			if (action.params.$$strict === undefined) action.params.$$strict = true;
		}
		return next;
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
		return function (this: unknown, ctx: any) {
			return next(ctx).catch((err: any) => {
				if (err?.name === "ValidationError") err.data = detailUnknownFields(err.data);
				throw err;
			});
		};
	},
};
