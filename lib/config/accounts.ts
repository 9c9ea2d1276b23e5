import { intEnv } from "./env";

/** Accounts: sign-in, sessions and profiles (services/accounts). */
export interface AccountsConfig {
	/** Failed sign-ins one login may have in `loginWindowMs` before the next attempt answers 429. */
	loginMaxFailures: number;
	/** The window failed sign-ins are counted in. */
	loginWindowMs: number;
}

export function accountsConfig(env: NodeJS.ProcessEnv): AccountsConfig {
	return { loginMaxFailures: intEnv("LOGIN_MAX_FAILURES", 10, env), loginWindowMs: 15 * 60_000 };
}
