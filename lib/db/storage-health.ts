import { isStorageFault, storageUnavailable } from "../tools/errors";

/**
 * Whether this process's storage takes writes, as its writes found out: the last write that
 * failed on storage (disk full, quota, read-only, I/O error) marks it failing, the next one that
 * succeeds clears the mark. Readiness (services/ops/ops.service.ts) answers 503 while it is marked
 * and, for the NeDB files, writes a probe to DATA_DIR to notice that space came back.
 */

export interface StorageFailure {
	/** The system code (ENOSPC, EDQUOT, EROFS, EIO…). */
	reason: string;
	/** Where it happened (a collection or the channel journal). */
	where: string;
	since: number;
	last: number;
}

let failure: StorageFailure | null = null;

export function storageFailure(): StorageFailure | null {
	return failure;
}

/** A write reached the storage. */
export function storageWorked(): void {
	failure = null;
}

/**
 * A write failed: a storage fault is recorded and answered as 503 STORAGE_UNAVAILABLE (the
 * original error as its `cause`); any other error is returned unchanged.
 */
export function storageError(err: unknown, where: string): unknown {
	if (!isStorageFault(err)) return err;
	const now = Date.now();
	const reason =
		typeof (err as { code?: unknown }).code === "string"
			? String((err as { code: string }).code)
			: ((err as { data?: { reason?: string } }).data?.reason ?? "STORAGE_FAULT");
	failure = { reason, where, since: failure?.since ?? now, last: now };
	if ((err as { type?: unknown }).type === "STORAGE_UNAVAILABLE") return err;
	const mapped = storageUnavailable(err);
	(mapped as { cause?: unknown }).cause = err;
	return mapped;
}
