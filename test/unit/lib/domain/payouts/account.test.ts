import { describe, expect, it } from "vitest";
import { accountProblem, mask, splitSecret } from "../../../../../lib/domain/payouts/account";

describe("payout accounts", () => {
	it("masks all but the last four characters", () => {
		expect(mask("1234567890")).toBe("****7890");
		expect(mask("123")).toBe("****");
		expect(splitSecret({ method: "paypal", currency: "USD", holderName: "A", email: "creator@example.test" })).toEqual({
			secret: { email: "creator@example.test" },
			masked: "****test",
		});
	});

	it("asks for what each method needs", () => {
		expect(accountProblem({ method: "bank", currency: "IDR", holderName: "A", accountNumber: "123456789" })?.field).toBe("bankCode");
		expect(accountProblem({ method: "ewallet", currency: "IDR", holderName: "A", bankCode: "gopay" })?.field).toBe("accountNumber");
		expect(accountProblem({ method: "paypal", currency: "USD", holderName: "A" })?.field).toBe("email");
		expect(accountProblem({ method: "bank", currency: "IDR", holderName: "A", bankCode: "bca", accountNumber: "123456789" })).toBeNull();
		expect(accountProblem({ method: "stripe", currency: "EUR", holderName: "A", accountNumber: "acct_1Creator" })).toBeNull();
		expect(accountProblem({ method: "stripe", currency: "EUR", holderName: "A", accountNumber: "123456789" })?.field).toBe("accountNumber");
		expect(accountProblem({ method: "bank", currency: "IDR", holderName: "A", bankCode: "bca", accountNumber: "acct_1Creator" })?.field).toBe(
			"accountNumber",
		);
	});
});
