import { createHash, randomBytes } from "node:crypto";
import { Secret, TOTP } from "otpauth";

/**
 * Two-factor codes (RFC 6238 TOTP: SHA-1, 6 digits, 30 s steps, through `otpauth`) and recovery
 * codes. A code is accepted for the step before, at or after now (±1 step of clock drift) and only
 * for a step later than the last one accepted, so a code never works twice. Recovery codes are
 * 64 random bits shown once as `xxxx-xxxx-xxxx-xxxx`; only their SHA-256 is kept. Node-only.
 */

export const TOTP_PERIOD_SEC = 30;
export const TOTP_DIGITS = 6;
export const RECOVERY_CODE_COUNT = 10;
const ISSUER = "MediaShar";

/** A new secret (160 bits, base32) and the otpauth:// URL an authenticator app scans. */
export function newTotpSecret(account: string): { secret: string; otpauthUrl: string } {
	const secret = new Secret({ size: 20 });
	return { secret: secret.base32, otpauthUrl: totpFor(secret.base32, account).toString() };
}

function totpFor(secretBase32: string, account = "") {
	return new TOTP({
		issuer: ISSUER,
		label: account,
		algorithm: "SHA1",
		digits: TOTP_DIGITS,
		period: TOTP_PERIOD_SEC,
		secret: Secret.fromBase32(secretBase32),
	});
}

/** The 30 s step a time falls in. */
export function totpStep(nowMs: number): number {
	return Math.floor(nowMs / 1000 / TOTP_PERIOD_SEC);
}

/** The code for `nowMs` (tests and the first check of a new secret). */
export function totpCode(secretBase32: string, nowMs: number): string {
	return totpFor(secretBase32).generate({ timestamp: nowMs });
}

export function looksLikeTotp(code: string): boolean {
	return /^\d{6}$/.test(code);
}

/**
 * The step `code` belongs to when it is valid now (±1 step) and later than `lastStep`, else null.
 */
export function acceptTotp(secretBase32: string, code: string, lastStep: number | null, nowMs: number): number | null {
	if (!looksLikeTotp(code)) return null;
	const delta = totpFor(secretBase32).validate({ token: code, timestamp: nowMs, window: 1 });
	if (delta === null) return null;
	const step = totpStep(nowMs) + delta;
	return lastStep !== null && step <= lastStep ? null : step;
}

/** Recovery codes to show once, with the hashes to keep. */
export function newRecoveryCodes(n = RECOVERY_CODE_COUNT): Array<{ code: string; hash: string }> {
	return Array.from({ length: n }, () => {
		const hex = randomBytes(8).toString("hex");
		const code = hex.match(/.{4}/g)!.join("-");
		return { code, hash: hashRecoveryCode(code) };
	});
}

/** "ABCD-ef01 2345-6789" → the hash of its 16 hex digits; null when it cannot be a recovery code. */
export function normalizeRecoveryCode(code: string): string | null {
	const hex = code.toLowerCase().replace(/[\s-]/g, "");
	return /^[0-9a-f]{16}$/.test(hex) ? hex : null;
}

export function hashRecoveryCode(code: string): string {
	return createHash("sha256")
		.update(`recovery:${normalizeRecoveryCode(code) ?? code}`)
		.digest("hex");
}
