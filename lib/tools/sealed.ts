/**
 * Secrets at rest (payout account numbers, two-factor secrets): AES-256-GCM with a random
 * 12-byte nonce per value and the tag checked on open. A sealed value reads
 * `v1.<nonce>.<tag>.<ciphertext>` (base64url), so a later key or algorithm can be told apart.
 * `context` is bound as associated data: a value sealed for one purpose (say a user id) does not
 * open for another.
 */

import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

const PREFIX = "v1";

/** A 32-byte key from a configured string: 64 hex characters or 44 base64 ones are used as is, anything else is hashed. */
export function sealKey(secret: string): Buffer {
	if (/^[0-9a-fA-F]{64}$/.test(secret)) return Buffer.from(secret, "hex");
	const b64 = Buffer.from(secret, "base64");
	if (b64.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(secret)) return b64;
	return createHash("sha256").update(secret).digest();
}

export function seal(key: Buffer, plaintext: string, context = ""): string {
	const nonce = randomBytes(12);
	const cipher = createCipheriv("aes-256-gcm", key, nonce);
	cipher.setAAD(Buffer.from(context));
	const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
	return [PREFIX, nonce.toString("base64url"), cipher.getAuthTag().toString("base64url"), body.toString("base64url")].join(".");
}

export function isSealed(value: string): boolean {
	return value.startsWith(`${PREFIX}.`) && value.split(".").length === 4;
}

/** The plaintext; throws when the value was changed, sealed with another key or for another context. */
export function unseal(key: Buffer, sealed: string, context = ""): string {
	const [prefix, nonce, tag, body] = sealed.split(".");
	if (prefix !== PREFIX || nonce === undefined || tag === undefined || body === undefined) throw new Error("not a sealed value");
	const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64url"));
	decipher.setAAD(Buffer.from(context));
	decipher.setAuthTag(Buffer.from(tag, "base64url"));
	return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}
