import { intEnv, secret } from "./env";

/** Accounts: sign-in, sessions and profiles (services/accounts). */
export interface AccountsConfig {
	/** Failed sign-ins one login may have in `loginWindowMs` before the next attempt answers 429. */
	loginMaxFailures: number;
	/** The window failed sign-ins are counted in. */
	loginWindowMs: number;
	/** How long a password-reset link works (s). */
	passwordResetTtlSec: number;
	/** How long an email-verification link works (s). */
	emailVerifyTtlSec: number;
	/** Account emails (verification, reset) one account may be sent per hour; more are dropped silently. */
	accountMailPerHour: number;
	/** Wrong two-factor codes one account may send in `loginWindowMs` before the next answers 429. */
	twoFactorMaxFailures: number;
	/** How long the challenge token of a sign-in waiting for its two-factor code works (s). */
	twoFactorChallengeTtlSec: number;
	/** Usernames (lowercase) that hold the role `admin` from sign-up or the next start (ADMIN_USERNAMES). */
	adminUsernames: string[];
}

export function accountsConfig(env: NodeJS.ProcessEnv): AccountsConfig {
	return {
		loginMaxFailures: intEnv("LOGIN_MAX_FAILURES", 10, env),
		loginWindowMs: 15 * 60_000,
		passwordResetTtlSec: intEnv("PASSWORD_RESET_TTL_SEC", 1800, env),
		emailVerifyTtlSec: intEnv("EMAIL_VERIFY_TTL_SEC", 86_400, env),
		accountMailPerHour: intEnv("ACCOUNT_MAIL_PER_HOUR", 5, env),
		twoFactorMaxFailures: intEnv("TWO_FACTOR_MAX_FAILURES", 5, env),
		twoFactorChallengeTtlSec: intEnv("TWO_FACTOR_CHALLENGE_TTL_SEC", 300, env),
		adminUsernames: (env.ADMIN_USERNAMES ?? "")
			.split(",")
			.map((u) => u.trim().toLowerCase())
			.filter(Boolean),
	};
}

/**
 * The key two-factor secrets are sealed with at rest (ACCOUNT_ENCRYPTION_KEY: 64 hex characters,
 * 32 bytes of base64, or any string, which is hashed; lib/tools/sealed.ts). Required in production
 * by the nodes that run the users service (read when it is created), with a development default
 * elsewhere, as every secret.
 */
export function accountEncryptionKey(env: NodeJS.ProcessEnv = process.env): string {
	return secret("ACCOUNT_ENCRYPTION_KEY", env);
}

/**
 * scrypt cost N for password hashes: 2^15 by default (~100 ms on our machines); tests lower it
 * with SCRYPT_COST. Not a power of two ≥ 1024 → the default. Read per hash, so a test may change it.
 */
export function scryptCost(env: NodeJS.ProcessEnv = process.env): number {
	const n = Number(env.SCRYPT_COST || 32768);
	return Number.isInteger(Math.log2(n)) && n >= 1024 ? n : 32768;
}
