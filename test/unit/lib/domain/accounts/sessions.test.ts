import { describe, expect, it } from "vitest";
import { cleanUserAgent, sessionRows, type SessionToken } from "../../../../../lib/domain/accounts/sessions";

const t = (family: string, issuedAt: number, extra: Partial<SessionToken> = {}): SessionToken => ({
	family,
	issuedAt,
	familyCreatedAt: 100,
	expiresAt: 10_000,
	usedAt: null,
	revokedAt: null,
	...extra,
});

describe("sessions", () => {
	it("one row per live family, most recently used first, the caller's marked current", () => {
		const rows = sessionRows(
			[
				t("a", 200, { usedAt: 300 }),
				t("a", 300, { userAgent: "Firefox", ip: "10.0.0.1" }),
				t("b", 500, { familyCreatedAt: 450 }),
				t("c", 900, { revokedAt: 950 }),
				t("d", 800, { expiresAt: 999 }),
			],
			"a",
			1000,
		);
		expect(rows.map((r) => r.id)).toEqual(["b", "a"]);
		expect(rows[1]).toEqual({
			id: "a",
			userAgent: "Firefox",
			ip: "10.0.0.1",
			createdAt: new Date(100).toISOString(),
			lastUsedAt: new Date(300).toISOString(),
			current: true,
		});
		expect(rows[0].current).toBe(false);
		expect(rows[0].createdAt).toBe(new Date(450).toISOString());
	});

	it("user agents are stored clean and short", () => {
		expect(cleanUserAgent("Mozilla/5.0\u0000\r\n x")).toBe("Mozilla/5.0 x");
		expect(cleanUserAgent("y".repeat(1000))).toHaveLength(300);
		expect(cleanUserAgent("   ")).toBeNull();
		expect(cleanUserAgent(undefined)).toBeNull();
	});
});
