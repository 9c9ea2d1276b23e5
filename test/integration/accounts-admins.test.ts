import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, type Harness } from "../support/harness";

/**
 * ADMIN_USERNAMES: the operators named there hold the role `admin` from sign-up, and an existing
 * account named there gets it at the next start (its old access token carries it at once).
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-admins-"));
// Files (or the CI's PostgreSQL) so the accounts outlive a restart.
const STORE = { SCRYPT_COST: "1024", DATA_DIR: tmp, DB_ADAPTER: process.env.DATABASE_URL ? undefined : "nedb" };
let h: Harness | undefined;
afterAll(async () => {
	await h?.stop();
	fs.rmSync(tmp, { recursive: true, force: true });
});

const rolesOf = async (base: string, token: string) => (await client(base)("GET", "/api/auth/me", undefined, { token })).body.roles as string[];

describe("ADMIN_USERNAMES", () => {
	it("grants admin at sign-up and, to an account that already exists, at the next start", async () => {
		h = await startHarness({ services: ["users"], env: { ...STORE, ADMIN_USERNAMES: "" } });
		const later = await registerUser(h.url, "later");
		const plain = await registerUser(h.url, "plain");
		expect(await rolesOf(h.url, later.token)).toEqual(["user"]);
		await h.stop();

		h = await startHarness({ services: ["users"], env: { ...STORE, ADMIN_USERNAMES: ` Boss_${process.pid}, ${later.username.toUpperCase()} ` } });
		// The token issued before the restart: the gateway applies the change it learned at start.
		expect(await rolesOf(h.url, later.token)).toEqual(["user", "admin"]);
		expect(await rolesOf(h.url, plain.token)).toEqual(["user"]);
		const boss = await client(h.url)("POST", "/api/auth/register", {
			username: `boss_${process.pid}`,
			email: `boss_${process.pid}@example.test`,
			password: "correct horse battery",
		});
		expect(boss.status).toBe(201);
		expect(boss.body.user.roles).toEqual(["user", "admin"]);
	});
});
