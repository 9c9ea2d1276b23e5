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

/** How long a client should wait before retrying a write the storage refused. */
export const STORAGE_RETRY_AFTER_SEC = 5;

/**
 * Operating-system errors that mean the storage cannot take writes right now: disk full, quota
 * exceeded, file system read-only, I/O error. PostgreSQL's equivalents are its SQLSTATEs 53100
 * (disk_full), 58030 (io_error) and 25006 (read_only_sql_transaction).
 */
const STORAGE_FAULT_CODES = new Set(["ENOSPC", "EDQUOT", "EROFS", "EIO", "53100", "58030", "25006"]);

/** True for a storage fault, raw (`ENOSPC`…) or already answered as STORAGE_UNAVAILABLE (also after a remote call). */
export function isStorageFault(err: unknown): boolean {
	const e = err as { code?: unknown; type?: unknown } | undefined;
	if (!e) return false;
	return e.type === "STORAGE_UNAVAILABLE" || (typeof e.code === "string" && STORAGE_FAULT_CODES.has(e.code));
}

/** 503 STORAGE_UNAVAILABLE for a write the storage refused (nothing was stored); `reason` is the system code. */
export function storageUnavailable(cause: unknown) {
	const reason = typeof (cause as { code?: unknown })?.code === "string" ? String((cause as { code: string }).code) : "STORAGE_FAULT";
	return new MoleculerClientError("Storage is not accepting writes right now, retry shortly", 503, "STORAGE_UNAVAILABLE", {
		reason,
		retryAfterSec: STORAGE_RETRY_AFTER_SEC,
	});
}
