import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import { Secret, TOTP } from "otpauth";
import users from "../../../../services/accounts/users.service";
import { isSealed, seal, sealKey, unseal } from "../../../../lib/tools/sealed";
import { newId } from "../../../../lib/tools/ids";

/**
 * Two-factor secrets at rest: sealed with ACCOUNT_ENCRYPTION_KEY for the one user they belong to;
 * a secret stored in plain text before sealing still works and is sealed on its next use.
 */
const KEY = "a".repeat(64);
const code = (secret: string, at = Date.now()) => TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: "SHA1", digits: 6, period: 30, timestamp: at });
let broker: ServiceBroker;
let svc: any;

beforeAll(async () => {
	process.env.ACCOUNT_ENCRYPTION_KEY = KEY;
	broker = new ServiceBroker({ logger: false });
	svc = broker.createService(users);
	await broker.start();
});
afterAll(async () => {
	await broker.stop();
	delete process.env.ACCOUNT_ENCRYPTION_KEY;
});

async function addUser(extra: Record<string, unknown> = {}) {
	const now = new Date().toISOString();
	const id = newId();
	await svc.store.insert({
		_id: id,
		username: `u${id.slice(-8).toLowerCase()}`,
		email: `${id}@example.test`,
		passwordHash: "x",
		displayName: "u",
		bio: "",
		avatarUrl: null,
		roles: ["user"],
		settings: {},
		overlayToken: `ot_${id}`,
		createdAt: now,
		updatedAt: now,
		...extra,
	});
	return { id, meta: { meta: { user: { id, username: "u", roles: ["user"] } } } };
}

describe("two-factor secrets at rest", () => {
	it("setup and enable store the secret sealed for its user, never in plain text", async () => {
		const u = await addUser();
		const { secret } = await broker.call<{ secret: string }, object>("users.setupTwoFactor", {}, u.meta);
		const pending = (await svc.store.findById(u.id)).twoFactorPendingSecret as string;
		expect(isSealed(pending)).toBe(true);
		expect(pending).not.toContain(secret);
		expect(unseal(sealKey(KEY), pending, `totp:${u.id}`)).toBe(secret);

		const { recoveryCodes } = await broker.call<{ recoveryCodes: string[] }, object>("users.enableTwoFactor", { code: code(secret) }, u.meta);
		expect(recoveryCodes).toHaveLength(10);
		const stored = (await svc.store.findById(u.id)).twoFactorSecret as string;
		expect(isSealed(stored)).toBe(true);
		expect(JSON.stringify(await svc.store.findById(u.id))).not.toContain(secret);
		// Bound to the user: the same value opens for no other account, nor with another key.
		expect(() => unseal(sealKey(KEY), stored, "totp:someone-else")).toThrow();
		expect(() => unseal(sealKey("b".repeat(64)), stored, `totp:${u.id}`)).toThrow();
		// And it still signs in: a code of the next step is accepted.
		const next = await broker.call<{ ok: boolean }, object>("users.verifySecondFactor", { userId: u.id, code: code(secret, Date.now() + 30_000) });
		expect(next).toEqual({ enabled: true, ok: true });
	});

	it("a secret stored in plain text before sealing still works, and is sealed on that use", async () => {
		const secret = new Secret({ size: 20 }).base32;
		const u = await addUser({ twoFactorSecret: secret, twoFactorEnabledAt: new Date().toISOString(), twoFactorLastStep: null });
		expect(await broker.call("users.verifySecondFactor", { userId: u.id, code: "000000" === code(secret) ? "111111" : "000000" })).toEqual({
			enabled: true,
			ok: false,
		});
		expect((await svc.store.findById(u.id)).twoFactorSecret).toBe(secret);
		expect(await broker.call("users.verifySecondFactor", { userId: u.id, code: code(secret) })).toEqual({ enabled: true, ok: true });
		const stored = (await svc.store.findById(u.id)).twoFactorSecret as string;
		expect(isSealed(stored)).toBe(true);
		expect(unseal(sealKey(KEY), stored, `totp:${u.id}`)).toBe(secret);
		// The same code does not work twice, sealed or not.
		expect(await broker.call("users.verifySecondFactor", { userId: u.id, code: code(secret) })).toEqual({ enabled: true, ok: false });
	});

	it("a pending secret sealed elsewhere for another user does not enable", async () => {
		const other = await addUser();
		const u = await addUser();
		const secret = new Secret({ size: 20 }).base32;
		await svc.store.updateMany({ _id: u.id }, { $set: { twoFactorPendingSecret: seal(sealKey(KEY), secret, `totp:${other.id}`) } });
		await expect(broker.call("users.enableTwoFactor", { code: code(secret) }, u.meta)).rejects.toThrow();
		expect((await svc.store.findById(u.id)).twoFactorEnabledAt ?? null).toBeNull();
	});
});
