import { describe, expect, it } from "vitest";
import { RoleChanges } from "../../../../lib/tools/role-changes";

describe("RoleChanges", () => {
	const user = { id: "u1", username: "staff", roles: ["user", "admin"] };

	it("gives a user the roles of the latest change for one token lifetime, then trusts the token again", () => {
		let now = 1_000_000;
		const changes = new RoleChanges(60_000, () => now);
		expect(changes.apply(user)).toEqual(user);
		changes.set("u1", ["user"], now);
		expect(changes.apply(user).roles).toEqual(["user"]);
		expect(changes.apply({ ...user, id: "u2" }).roles).toEqual(["user", "admin"]);
		// An older change arriving late does not undo a newer one.
		changes.set("u1", ["user", "admin"], now - 5_000);
		expect(changes.apply(user).roles).toEqual(["user"]);
		now += 60_001;
		expect(changes.apply(user).roles).toEqual(["user", "admin"]);
		expect(changes.size).toBe(0);
		// A change older than one lifetime is not recorded at all.
		changes.set("u1", ["user"], now - 120_000);
		expect(changes.size).toBe(0);
	});
});
