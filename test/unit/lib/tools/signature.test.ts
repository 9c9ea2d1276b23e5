import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sign, verify } from "../../../../lib/tools/signature";

const SECRET = "whsec_test_secret";
const BODY = JSON.stringify({ id: "evt_1", type: "checkout.session.completed", data: { object: { amount_total: 500 } } });
const T = 1_760_000_000;

// Computed here from the published scheme, not with lib/tools/signature.ts.
const hmac = (t: number, body: string, secret = SECRET) => createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");

describe("t=..,v1=.. signatures", () => {
	it("signs with HMAC-SHA256 over `${t}.${body}`", () => {
		expect(sign(BODY, SECRET, T)).toBe(`t=${T},v1=${hmac(T, BODY)}`);
	});

	it("accepts a valid signature within the tolerance", () => {
		expect(verify(sign(BODY, SECRET, T), BODY, SECRET, { now: T + 299 })).toEqual({ ok: true, timestamp: T });
		expect(verify(sign(BODY, SECRET, T), BODY, SECRET, { now: T - 299 }).ok).toBe(true);
	});

	it("rejects a tampered body", () => {
		expect(verify(sign(BODY, SECRET, T), BODY.replace("500", "50000"), SECRET, { now: T })).toEqual({ ok: false, reason: "signature_mismatch" });
	});

	it("rejects an expired (or far-future) timestamp", () => {
		expect(verify(sign(BODY, SECRET, T), BODY, SECRET, { now: T + 301 })).toEqual({ ok: false, reason: "timestamp_out_of_tolerance" });
		expect(verify(sign(BODY, SECRET, T), BODY, SECRET, { now: T - 301 })).toEqual({ ok: false, reason: "timestamp_out_of_tolerance" });
		expect(verify(sign(BODY, SECRET, T), BODY, SECRET, { now: T + 1000, toleranceSec: 2000 }).ok).toBe(true);
	});

	it("rejects the wrong secret", () => {
		expect(verify(sign(BODY, "another", T), BODY, SECRET, { now: T })).toEqual({ ok: false, reason: "signature_mismatch" });
	});

	it("ignores v0: a header with only v0 fails even when v0 holds the right HMAC", () => {
		expect(verify(`t=${T},v0=${hmac(T, BODY)}`, BODY, SECRET, { now: T })).toEqual({ ok: false, reason: "no_v1_signature" });
	});

	it("accepts any matching v1 among several (secret rotation) and ignores v0 beside them", () => {
		const header = `t=${T},v1=${hmac(T, BODY, "old-secret")},v0=${"0".repeat(64)},v1=${hmac(T, BODY)}`;
		expect(verify(header, BODY, SECRET, { now: T }).ok).toBe(true);
		expect(verify(`t=${T},v1=${hmac(T, BODY, "old")},v1=${hmac(T, BODY, "older")}`, BODY, SECRET, { now: T }).ok).toBe(false);
	});

	it("rejects a missing header", () => {
		for (const h of [undefined, null, "", "   "]) expect(verify(h, BODY, SECRET, { now: T })).toEqual({ ok: false, reason: "missing_header" });
	});

	it("rejects malformed headers", () => {
		for (const h of ["garbage", `v1=${hmac(T, BODY)}`, `t=abc,v1=${hmac(T, BODY)}`, `t=${T};v1=${hmac(T, BODY)}`, "t=,v1=", ",,,"]) {
			expect(verify(h, BODY, SECRET, { now: T }).ok).toBe(false);
		}
		expect(verify(`v1=${hmac(T, BODY)}`, BODY, SECRET, { now: T })).toEqual({ ok: false, reason: "malformed_header" });
		// A v1 that is not 64 hex characters never matches.
		expect(verify(`t=${T},v1=${hmac(T, BODY).slice(0, 63)}`, BODY, SECRET, { now: T })).toEqual({ ok: false, reason: "no_v1_signature" });
	});

	it("uses the clock when no time is given", () => {
		expect(verify(sign(BODY, SECRET), BODY, SECRET).ok).toBe(true);
		expect(verify(sign(BODY, SECRET, Math.floor(Date.now() / 1000) - 600), BODY, SECRET).ok).toBe(false);
	});
});
