import { freshSession, saveSession, type Session } from "./session";

/** An error answer from the API, in the contract's shape. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly type: string,
		message: string,
		readonly data?: unknown,
		readonly retryAfterSec?: number,
	) {
		super(message);
	}
	/** Field → message, from a 422's data array. */
	fields(): Record<string, string> {
		const out: Record<string, string> = {};
		if (Array.isArray(this.data)) for (const d of this.data) if (d && typeof d.field === "string") out[d.field] ??= String(d.message ?? "");
		return out;
	}
}

export interface RequestOptions {
	/** Send the signed-in user's token ("optional": when there is one). */
	auth?: "required" | "optional" | false;
	headers?: Record<string, string>;
}

/** JSON request to the gateway; refreshes the access token once on 401 TOKEN_EXPIRED. */
export async function api<T = any>(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<T> {
	let session: Session | null = opts.auth ? await freshSession() : null;
	if (opts.auth === "required" && !session) throw new ApiError(401, "UNAUTHORIZED", "Sign in first");
	for (let attempt = 0; ; attempt++) {
		const headers: Record<string, string> = { Accept: "application/json", ...(opts.headers ?? {}) };
		if (body !== undefined) headers["Content-Type"] = "application/json";
		if (session) headers.Authorization = `Bearer ${session.accessToken}`;
		let res: Response;
		try {
			res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
		} catch {
			throw new ApiError(0, "NETWORK", "Network error: check your connection");
		}
		const text = await res.text();
		let parsed: any = null;
		try {
			parsed = text ? JSON.parse(text) : null;
		} catch {
			parsed = null;
		}
		if (res.ok) return parsed as T;
		if (res.status === 401 && session && attempt === 0) {
			session = await freshSession(true);
			if (session) continue;
			saveSession(null);
		}
		const retry = Number(res.headers.get("Retry-After")) || parsed?.data?.retryAfterSec;
		throw new ApiError(res.status, parsed?.type ?? `HTTP_${res.status}`, parsed?.message ?? res.statusText, parsed?.data, retry || undefined);
	}
}
