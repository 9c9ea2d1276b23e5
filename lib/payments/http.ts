import { ProviderError, ProviderRefusedError } from "./types";

/** Every provider call is bounded: 8 s, then the caller sees a retryable 503. */
export const PROVIDER_TIMEOUT_MS = 8_000;

export interface ProviderResponse<T = unknown> {
	status: number;
	body: T;
	text: string;
}

/**
 * fetch with a timeout that turns network failures into ProviderError. The response body is
 * parsed as JSON when it is JSON; the status is returned so callers decide what counts as success.
 */
export async function providerFetch<T = unknown>(provider: string, url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<ProviderResponse<T>> {
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
	let body: unknown = null;
	try {
		body = text ? JSON.parse(text) : null;
	} catch {
		body = text;
	}
	// The caller says what it expects; every field it reads is checked where it matters.
	return { status: res.status, body: body as T, text };
}

/**
 * HTTP statuses by which a provider refuses the request itself (Stripe 400/402 with an error
 * code, PayPal 422 with an issue, Midtrans 4xx in its `status_code`): the same request will never
 * succeed, so they are not "the provider is down". 401/403 (our keys), 404, 409 (Stripe:
 * concurrent idempotent request), 429 and 5xx stay retryable provider errors.
 */
export const REFUSAL_STATUSES = [400, 402, 406, 410, 412, 413, 414, 422];

interface RefusalBody {
	details?: { issue?: unknown; description?: unknown }[];
	error?: { code?: unknown; type?: unknown; message?: unknown };
	name?: unknown;
	message?: unknown;
	status_code?: unknown;
	status_message?: unknown;
	error_description?: unknown;
}

/** The provider's own words for why it refused: error code / issue and message. */
export function refusalReason(body: unknown): { reason: string; detail: string } {
	// Stripe `error`, PayPal `details`/`name`/`message`, Midtrans `status_code`/`status_message`, OAuth `error_description`.
	const b = (typeof body === "object" ? body : null) as RefusalBody | null;
	const issue = b?.details?.[0]?.issue ?? b?.error?.code ?? b?.error?.type ?? b?.name ?? b?.status_code ?? "refused";
	const detail =
		b?.details?.[0]?.description ??
		b?.error?.message ??
		b?.message ??
		b?.status_message ??
		b?.error_description ??
		(typeof body === "string" ? body.slice(0, 200) : "");
	return { reason: String(issue), detail: String(detail) };
}

/** Throws a ProviderRefusedError for a refusal, a ProviderError for anything else but 2xx. */
export function expectOk<T>(provider: string, what: string, res: ProviderResponse<T>): ProviderResponse<T> {
	if (res.status < 200 || res.status >= 300) {
		const { reason, detail } = refusalReason(res.body);
		if (REFUSAL_STATUSES.includes(res.status))
			throw new ProviderRefusedError(provider, `${provider} refused ${what}${detail ? `: ${detail}` : ""} (${reason})`, reason);
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
