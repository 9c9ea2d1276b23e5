import { ProviderError } from "./types";

/** Every provider call is bounded: 8 s, then the caller sees a retryable 503. */
export const PROVIDER_TIMEOUT_MS = 8_000;

export interface ProviderResponse<T = any> {
	status: number;
	body: T;
	text: string;
}

/**
 * fetch with a timeout that turns network failures into ProviderError. The response body is
 * parsed as JSON when it is JSON; the status is returned so callers decide what counts as success.
 */
export async function providerFetch<T = any>(provider: string, url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<ProviderResponse<T>> {
	const { timeoutMs = PROVIDER_TIMEOUT_MS, ...rest } = init;
	let res: Response;
	try {
		res = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
	} catch (err) {
		const e = err as Error;
		const why = e.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : e.message;
		throw new ProviderError(provider, `${provider} API unreachable: ${why}`);
	}
	let text = "";
	try {
		text = await res.text();
	} catch (err) {
		throw new ProviderError(provider, `${provider} API response unreadable: ${(err as Error).message}`, res.status);
	}
	let body: any = null;
	try {
		body = text ? JSON.parse(text) : null;
	} catch {
		body = text;
	}
	return { status: res.status, body, text };
}

/** Throws a ProviderError unless the status is 2xx. */
export function expectOk<T>(provider: string, what: string, res: ProviderResponse<T>): ProviderResponse<T> {
	if (res.status < 200 || res.status >= 300) {
		const b = res.body as any;
		const detail = b?.error?.message ?? b?.message ?? b?.status_message ?? b?.error_description ?? (typeof b === "string" ? b.slice(0, 200) : "");
		throw new ProviderError(provider, `${provider} ${what} failed with HTTP ${res.status}${detail ? `: ${detail}` : ""}`, res.status, res.body);
	}
	return res;
}

/** application/x-www-form-urlencoded with Stripe's bracket notation for nested objects. */
export function formEncode(data: Record<string, unknown>, prefix = ""): string {
	const parts: string[] = [];
	const add = (key: string, value: unknown) => {
		if (value === undefined || value === null) return;
		if (Array.isArray(value)) value.forEach((v, i) => add(`${key}[${i}]`, v));
		else if (typeof value === "object") for (const [k, v] of Object.entries(value as Record<string, unknown>)) add(`${key}[${k}]`, v);
		else parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
	};
	for (const [k, v] of Object.entries(data)) add(prefix ? `${prefix}[${k}]` : k, v);
	return parts.join("&");
}
