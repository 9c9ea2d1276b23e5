import { describe, expect, it } from "vitest";
import { banKey, conversationPair, dmRoom, nonceKey, otherParticipant, slowKey } from "../../../../../lib/domain/chat/keys";

describe("chat keys", () => {
	it("gives one conversation per pair whoever opens it", () => {
		expect(conversationPair("U_B", "U_A")).toEqual({ participants: ["U_A", "U_B"], pairKey: "U_A:U_B" });
		expect(conversationPair("U_A", "U_B")).toEqual(conversationPair("U_B", "U_A"));
	});

	it("keeps the stored key formats (existing rows must keep matching)", () => {
		expect(dmRoom("C1")).toBe("dm:C1");
		expect(nonceKey("chat:owner", "U_A", "n-1")).toBe("chat:owner:U_A:n-1");
		expect(banKey("U_OWNER", "U_A")).toBe("U_OWNER:U_A");
		expect(slowKey("U_OWNER", "U_A")).toBe("U_OWNER:U_A");
	});

	it("names the other participant", () => {
		expect(otherParticipant(["U_A", "U_B"], "U_A")).toBe("U_B");
		expect(otherParticipant(["U_A", "U_B"], "U_B")).toBe("U_A");
		expect(otherParticipant(["U_A", "U_B"], "U_C")).toBe("U_A");
	});
});
