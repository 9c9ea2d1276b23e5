import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, startHarness, type Harness } from "../support/harness";

/** Per-IP rate limits and body-size limits at the gateway, seen from a client. */

const IP_LIMIT = 8;

describe("security: rate and size limits", () => {
	let h: Harness;
	let api: ReturnType<typeof client>;

	beforeAll(async () => {
		h = await startHarness({ services: ["users"], env: { SCRYPT_COST: "1024", RATE_LIMIT_IP_PER_MIN: String(IP_LIMIT), MAX_BODY: "16kb" } });
		api = client(h.url);
	});
	afterAll(async () => {
		await h?.stop();
	});

	it("answers 429 with Retry-After in the contract's error shape once an IP passes RATE_LIMIT_IP_PER_MIN", async () => {
		// the body-size check runs first here: one request of the budget
		const big = await api("POST", "/api/auth/login", { login: "x", password: "y".repeat(20_000) });
		expect(big.status).toBe(413);
		expect(big.body).toMatchObject({ code: 413, type: "PAYLOAD_TOO_LARGE" });

		const statuses: number[] = [];
		let limited: Awaited<ReturnType<typeof api>> | undefined;
		for (let i = 0; i < IP_LIMIT + 3; i++) {
			const res = await api("GET", "/api/users/nobody_here");
			statuses.push(res.status);
			if (res.status === 429) limited ??= res;
		}
		expect(statuses.filter((s) => s === 404).length).toBeGreaterThan(0);
		expect(statuses.filter((s) => s === 404).length).toBeLessThanOrEqual(IP_LIMIT);
		expect(statuses.slice(-3)).toEqual([429, 429, 429]);
		expect(limited).toBeDefined();
		const retry = Number(limited!.headers.get("retry-after"));
		expect(retry).toBeGreaterThan(0);
		expect(retry).toBeLessThanOrEqual(60);
		expect(limited!.body).toMatchObject({ code: 429, name: expect.any(String), message: expect.any(String), type: expect.stringMatching(/^[A-Z_]+$/) });
		// limited before the action runs: a signed-in request from the same IP is refused too
		const login = await api("POST", "/api/auth/login", { login: "someone", password: "whatever-pass" });
		expect(login.status).toBe(429);
	});

	it("answers a request whose headers are too large with a JSON 431, not an empty body", async () => {
		const res = await fetch(`${h.url}/api/users/${"a".repeat(20_000)}`);
		expect(res.status).toBe(431);
		expect(await res.json()).toMatchObject({ code: 431, type: "HEADERS_TOO_LARGE", name: expect.any(String), message: expect.any(String) });
	});

	it("keeps health checks out of the API budget", async () => {
		const res = await fetch(`${h.url}/health`);
		expect(res.status).toBe(200);
	});
});

/** X-Forwarded-For picks the rate-limit bucket only when TRUST_PROXY says a proxy sets it. */
describe.each([
	{ trust: undefined, spoofable: false },
	{ trust: "true", spoofable: true },
])("security: client address with TRUST_PROXY=$trust", ({ trust, spoofable }) => {
	let h: Harness;
	let api: ReturnType<typeof client>;

	beforeAll(async () => {
		h = await startHarness({ services: ["users"], env: { SCRYPT_COST: "1024", RATE_LIMIT_IP_PER_MIN: String(IP_LIMIT), TRUST_PROXY: trust } });
		api = client(h.url);
	});
	afterAll(async () => {
		await h?.stop();
	});

	it(spoofable ? "gives each forwarded client its own budget" : "ignores X-Forwarded-For: claiming another address does not escape the limit", async () => {
		const statuses: number[] = [];
		for (let i = 0; i < IP_LIMIT + 2; i++) {
			const res = await api("GET", "/api/users/nobody_here", undefined, { headers: { "X-Forwarded-For": "203.0.113.7, 10.0.0.1" } });
			statuses.push(res.status);
		}
		expect(statuses.slice(0, IP_LIMIT).every((s) => s === 404)).toBe(true);
		expect(statuses.slice(IP_LIMIT)).toEqual([429, 429]);

		const other = await api("GET", "/api/users/nobody_here", undefined, { headers: { "X-Forwarded-For": "198.51.100.9" } });
		expect(other.status).toBe(spoofable ? 404 : 429);
	});
});
