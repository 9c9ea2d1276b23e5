/** The primitives every config section reads env with: the runtime mode, secrets, numbers and flags. */

export type RuntimeMode = "production" | "development" | "test";

/**
 * development: NODE_ENV unset or "development"; test: "test" (or under Vitest); anything else
 * ("production", "staging", …) is treated as production: secrets have no default there, so a
 * misspelt or unusual NODE_ENV can never fall back to a known development secret.
 */
export function runtimeMode(env: NodeJS.ProcessEnv = process.env): RuntimeMode {
	if (env.NODE_ENV === "test" || env.VITEST) return "test";
	if (!env.NODE_ENV || env.NODE_ENV === "development") return "development";
	return "production";
}

const DEV_SECRETS: Record<string, string> = {
	JWT_SECRET: "dev-only-jwt-secret-change-me",
	SANDBOX_WEBHOOK_SECRET: "dev-only-sandbox-webhook-secret",
};

/** A secret: required in production, with a fixed development value elsewhere. */
export function secret(name: keyof typeof DEV_SECRETS | string, env: NodeJS.ProcessEnv = process.env): string {
	const value = env[name];
	if (value && value.length > 0) return value;
	if (runtimeMode(env) === "production") {
		throw new Error(`${name} must be set when NODE_ENV=${env.NODE_ENV} (it has a default only in development and tests).`);
	}
	return DEV_SECRETS[name] ?? `dev-only-${name.toLowerCase()}`;
}

export function intEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	const n = Number(raw);
	if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${raw}".`);
	return Math.trunc(n);
}

export function boolEnv(name: string, fallback: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
	const raw = env[name];
	if (raw === undefined || raw === "") return fallback;
	return ["1", "true", "yes", "on"].includes(raw.toLowerCase());
}
