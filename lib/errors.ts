import { Errors } from "moleculer";

const { MoleculerClientError } = Errors;

/** Client errors with a stable UPPER_CASE type, in moleculer-web's error shape. */
export function badRequest(message: string, type = "BAD_REQUEST", data?: unknown) {
	return new MoleculerClientError(message, 400, type, data);
}
export function unauthorized(message = "Authentication required", type = "UNAUTHORIZED") {
	return new MoleculerClientError(message, 401, type);
}
export function forbidden(message = "You are not allowed to do this", type = "FORBIDDEN") {
	return new MoleculerClientError(message, 403, type);
}
export function notFound(what: string, type = "NOT_FOUND") {
	return new MoleculerClientError(`${what} not found`, 404, type);
}
export function conflict(message: string, type = "CONFLICT", data?: unknown) {
	return new MoleculerClientError(message, 409, type, data);
}
/** 422 with the offending fields listed the way fastest-validator does. */
export function invalid(field: string, message: string, type = "VALIDATION_ERROR", extra?: Record<string, unknown>) {
	return new MoleculerClientError(message, 422, type, [{ field, message, type: "invalid", ...extra }]);
}
export function tooMany(message: string, retryAfterSec: number, type = "RATE_LIMITED") {
	return new MoleculerClientError(message, 429, type, { retryAfterSec });
}

/** True when an error came from a duplicate key in NeDB or MongoDB. */
export function isDuplicateKey(err: unknown): boolean {
	const e = err as { errorType?: string; code?: number | string; message?: string } | undefined;
	if (!e) return false;
	return e.errorType === "uniqueViolated" || e.code === 11000 || e.code === "11000" || /duplicate key|unique constraint/i.test(e.message ?? "");
}
