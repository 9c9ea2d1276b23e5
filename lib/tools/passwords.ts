import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { scryptCost } from "../config/accounts";

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
	return new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** scrypt cost (SCRYPT_COST, lib/config/accounts.ts). */
const cost = () => scryptCost();

/** Hashes a password as `scrypt$N$r$p$salt$hash` (base64url parts). */
export async function hashPassword(password: string): Promise<string> {
	const N = cost();
	const r = 8;
	const p = 1;
	const salt = randomBytes(16);
	const key = await scrypt(password.normalize("NFKC"), salt, 32, { N, r, p, maxmem: 256 * N * r });
	return ["scrypt", N, r, p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Constant-time check of a password against a stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
	const parts = stored.split("$");
	if (parts.length !== 6 || parts[0] !== "scrypt") return false;
	const [, nStr, rStr, pStr, saltStr, keyStr] = parts;
	const N = Number(nStr);
	const r = Number(rStr);
	const p = Number(pStr);
	const expected = Buffer.from(keyStr, "base64url");
	const key = await scrypt(password.normalize("NFKC"), Buffer.from(saltStr, "base64url"), expected.length, { N, r, p, maxmem: 256 * N * r });
	return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password, so unknown logins cost as much as known ones. */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
	if (!decoy) decoy = hashPassword(randomBytes(12).toString("hex"));
	return decoy;
}

/** Passwords need at least this many characters that are not white space. */
export const MIN_PASSWORD_CHARS = 8;

/**
 * Why a new password is refused, or null. Spaces are allowed (pass phrases), but they do not count:
 * "        " or "a b c d e" would otherwise pass an 8-character rule.
 */
export function passwordProblem(password: string): string | null {
	const visible = Array.from(password.replace(/\s/gu, "")).length;
	if (visible < MIN_PASSWORD_CHARS) return `password must have at least ${MIN_PASSWORD_CHARS} characters that are not spaces`;
	return null;
}
