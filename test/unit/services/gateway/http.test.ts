import { Errors } from "moleculer";
import { describe, expect, it } from "vitest";
import { toClientError } from "../../../../services/gateway/http";

describe("toClientError", () => {
	it("answers 503 SERVICE_UNAVAILABLE when no node of a needed service is up (all killed or starting again), not 404", () => {
		const res = toClientError(new Errors.ServiceNotFoundError({ action: "payouts.request" }));
		expect(res.code).toBe(503);
		expect(res.body).toMatchObject({ code: 503, type: "SERVICE_UNAVAILABLE" });
		expect(JSON.stringify(res.body)).not.toContain("payouts.request");
	});

	it("keeps a refusal of the request as it is", () => {
		const res = toClientError(new Errors.MoleculerClientError("Payout not found", 404, "PAYOUT_NOT_FOUND"));
		expect([res.code, res.body.type]).toEqual([404, "PAYOUT_NOT_FOUND"]);
	});

	it("answers 400 INVALID_FORM for a multipart body the form parser cannot read, and 500 for other plain errors", () => {
		for (const message of [
			"Unexpected end of multipart data",
			"Part terminated early due to unexpected end of multipart data",
			"Multipart: Boundary not found",
		]) {
			const res = toClientError(new Error(message));
			expect([res.code, res.body.type], message).toEqual([400, "INVALID_FORM"]);
		}
		expect(toClientError(new TypeError("Cannot read properties of undefined")).code).toBe(500);
	});
});
