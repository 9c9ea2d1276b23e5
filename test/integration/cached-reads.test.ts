import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, type Harness } from "../support/harness";

/**
 * A cached read is answered from the cache only for a request the action would accept: params are
 * validated (strict: unknown fields refused) before the cache is looked up, so a warm cache never
 * turns a 422 into a 200.
 */
let h: Harness;
let api: ReturnType<typeof client>;
beforeAll(async () => {
	h = await startHarness({ services: ["users", "donations", "ledger", "stats"], env: { SCRYPT_COST: "1024" } });
	api = client(h.url);
});
afterAll(() => h?.stop());

describe("cached reads", () => {
	it("refuses an unknown field even when the profile is in the cache", async () => {
		const u = await registerUser(h.url, "cachedread");
		const first = await api("GET", `/api/users/${u.username}`, undefined, { token: u.token });
		expect(first.status).toBe(200);
		const again = await api("GET", `/api/users/${u.username}`, undefined, { token: u.token });
		expect(again.body).toEqual(first.body);
		const extra = await api("GET", `/api/users/${u.username}?fields=all`, undefined, { token: u.token });
		expect(extra.status).toBe(422);
		expect(extra.body.data).toEqual([expect.objectContaining({ field: "fields", type: "unknownField" })]);
		const bad = await api("GET", `/api/users/${"x".repeat(40)}`);
		expect(bad.status).toBe(422);
	});
});
