import { verifyPassword } from "../../lib/tools/passwords";
import { newId } from "../../lib/tools/ids";
import { checkLimits } from "../../lib/tools/rate-limit";
import { conflict, forbidden, tooMany, unauthorized } from "../../lib/tools/errors";
import { hashOneTimeToken, looksLikeOneTimeToken, newOneTimeToken, usable } from "../../lib/domain/accounts/one-time-tokens";
import { acceptTotp, looksLikeTotp, newRecoveryCodes, newTotpSecret } from "../../lib/domain/accounts/totp";
import { isSealed, seal, unseal } from "../../lib/tools/sealed";
import type { AccountTokenDoc, Ctx, UserDoc, UsersPart } from "./users.types";

/**
 * The users service's two-factor sign-in (see users.service.ts), TOTP per RFC 6238 (SHA-1, 6
 * digits, 30 s; lib/domain/accounts/totp.ts). Setup stores a pending secret; enabling confirms it
 * with a code and answers ten recovery codes, shown only then and kept as SHA-256 rows of
 * `account_tokens` (kind `recovery`), each usable once. With two-factor on, a right password
 * answers a challenge token (32 random bytes, stored hashed, TWO_FACTOR_CHALLENGE_TTL_SEC, used
 * once) that `login/2fa` trades, with a code, for the usual tokens. A TOTP code is accepted ±1
 * step and only for a step later than the last accepted (a conditional update on
 * `twoFactorLastStep`, so a code never works twice, even in two racing requests). Wrong codes
 * count per account (TWO_FACTOR_MAX_FAILURES per 15 min, shared through Redis) and then 429.
 *
 * The secrets (pending and enabled) are stored sealed with ACCOUNT_ENCRYPTION_KEY (AES-256-GCM,
 * lib/tools/sealed.ts, bound to the user's id, so a copied value opens for no other account); a
 * secret stored in plain text before sealing existed is still read, and sealed on its next use.
 *
 * Crash safety: each step is one conditional write; a crash between storing the secret and the
 * recovery codes leaves two-factor on with fewer codes, and enabling again is refused only while on.
 */

const CODE_PARAM = { type: "string", min: 6, max: 32, trim: true } as const;
const FAILURE_WINDOW_MS = 15 * 60_000;

const twofactor: UsersPart = {
	actions: {
		/** A new secret to scan; two-factor is on only once a code confirms it. */
		setupTwoFactor: {
			rest: "POST /me/2fa/setup",
			auth: "required",
			async handler(ctx: Ctx) {
				const user = await this.loadUser(ctx.meta.user!.id);
				if (user.twoFactorEnabledAt) throw conflict("Two-factor is already on; turn it off first", "TWO_FACTOR_ENABLED");
				const { secret, otpauthUrl } = newTotpSecret(user.username);
				await this.store.updateMany({ _id: user._id }, { $set: { twoFactorPendingSecret: this.sealTotpSecret(user._id, secret) } });
				return { secret, otpauthUrl };
			},
		},

		/** Turns two-factor on with a code of the pending secret; answers the recovery codes, once. */
		enableTwoFactor: {
			rest: "POST /me/2fa/enable",
			auth: "required",
			retryPolicy: { enabled: false },
			params: { code: CODE_PARAM },
			async handler(ctx: Ctx<{ code: string }>) {
				const user = await this.loadUser(ctx.meta.user!.id);
				if (user.twoFactorEnabledAt) throw conflict("Two-factor is already on", "TWO_FACTOR_ENABLED");
				const pending = user.twoFactorPendingSecret;
				if (!pending) throw conflict("Set two-factor up first (POST /api/me/2fa/setup)", "TWO_FACTOR_NOT_SET_UP");
				await this.guardSecondFactor(user._id);
				const step = acceptTotp(this.openTotpSecret(user._id, pending), ctx.params.code, null, Date.now());
				if (step === null) {
					await checkLimits(this.loginFailures.store, `2fa:${user._id}`, [
						{ limit: this.appConfig.accounts.twoFactorMaxFailures, windowMs: FAILURE_WINDOW_MS },
					]);
					throw unauthorized("That code is not right", "INVALID_CODE");
				}
				const won = await this.store.updateIf(
					// Conditional on the pending secret read: of two racing enables one wins.
					{ _id: user._id, twoFactorPendingSecret: pending },
					{
						$set: {
							twoFactorSecret: isSealed(pending) ? pending : this.sealTotpSecret(user._id, pending),
							twoFactorEnabledAt: new Date().toISOString(),
							twoFactorLastStep: step,
							twoFactorPendingSecret: null,
						},
					},
				);
				if (!won) throw conflict("Two-factor is already on", "TWO_FACTOR_ENABLED");
				await this.stores.account_tokens.removeMany({ userId: user._id, kind: "recovery" });
				const codes = newRecoveryCodes();
				const createdAt = new Date().toISOString();
				for (const c of codes) {
					const doc: AccountTokenDoc = {
						_id: newId(),
						kind: "recovery",
						userId: user._id,
						hash: c.hash,
						email: user.email,
						expiresAt: Number.MAX_SAFE_INTEGER,
						usedAt: null,
						createdAt,
					};
					await this.stores.account_tokens.insert(doc);
				}
				await this.profileChanged(ctx, user);
				return { recoveryCodes: codes.map((c) => c.code) };
			},
		},

		/** Turns two-factor off: the password and a code (or a recovery code) both required. */
		disableTwoFactor: {
			rest: "POST /me/2fa/disable",
			auth: "required",
			status: 204,
			retryPolicy: { enabled: false },
			params: { password: { type: "string", min: 1, max: 200 }, code: CODE_PARAM },
			async handler(ctx: Ctx<{ password: string; code: string }>) {
				const user = await this.loadUser(ctx.meta.user!.id);
				if (!user.twoFactorEnabledAt) throw conflict("Two-factor is not on", "TWO_FACTOR_NOT_ENABLED");
				await this.guardSecondFactor(user._id);
				if (!(await verifyPassword(ctx.params.password, user.passwordHash))) {
					await checkLimits(this.loginFailures.store, `2fa:${user._id}`, [
						{ limit: this.appConfig.accounts.twoFactorMaxFailures, windowMs: FAILURE_WINDOW_MS },
					]);
					throw forbidden("The password is wrong", "WRONG_PASSWORD");
				}
				if (!(await this.checkSecondFactor(user, ctx.params.code))) throw unauthorized("That code is not right", "INVALID_CODE");
				await this.store.updateMany(
					{ _id: user._id },
					{ $set: { twoFactorSecret: null, twoFactorEnabledAt: null, twoFactorLastStep: null, twoFactorPendingSecret: null } },
				);
				await this.stores.account_tokens.removeMany({ userId: user._id, kind: "recovery" });
				await this.profileChanged(ctx, user);
				return null;
			},
		},

		/** The second step of a sign-in: the challenge token and a code → the usual tokens. */
		loginTwoFactor: {
			rest: "POST /auth/login/2fa",
			// Never retried by the broker: a second run would find the challenge used up.
			retryPolicy: { enabled: false },
			params: { challengeToken: { type: "string", min: 1, max: 2000 }, code: CODE_PARAM },
			async handler(ctx: Ctx<{ challengeToken: string; code: string }>) {
				const invalidChallenge = () => unauthorized("The sign-in expired; sign in again", "INVALID_CHALLENGE");
				const token = ctx.params.challengeToken;
				const challenge = looksLikeOneTimeToken(token) ? await this.stores.account_tokens.findOne({ hash: hashOneTimeToken(token) }) : null;
				if (!usable(challenge, "challenge", Date.now())) throw invalidChallenge();
				const user = challenge ? await this.store.findById(challenge.userId) : null;
				if (!challenge || !user || user.bannedAt || !user.twoFactorEnabledAt) throw invalidChallenge();
				await this.guardSecondFactor(user._id);
				if (!(await this.checkSecondFactor(user, ctx.params.code))) throw unauthorized("That code is not right", "INVALID_CODE");
				// The challenge works once: of two racing second steps, one signs in.
				if (!(await this.takeOneTime("challenge", token, user._id))) throw invalidChallenge();
				return { user: this.toFullUser(user), ...(await this.issueTokens(user, ctx)) };
			},
		},

		/** Other services (payouts): whether `code` is a right second factor of the user now (used up when it is). */
		verifySecondFactor: {
			visibility: "public",
			params: { userId: { type: "string", min: 1, max: 64 }, code: { type: "string", min: 1, max: 32 } },
			async handler(ctx: Ctx<{ userId: string; code: string }>) {
				const user = await this.loadUser(ctx.params.userId);
				if (!user.twoFactorEnabledAt) return { enabled: false, ok: true };
				await this.guardSecondFactor(user._id);
				return { enabled: true, ok: await this.checkSecondFactor(user, ctx.params.code) };
			},
		},
	},

	methods: {
		async startChallenge(user: UserDoc) {
			const { token, hash } = newOneTimeToken();
			const doc: AccountTokenDoc = {
				_id: newId(),
				kind: "challenge",
				userId: user._id,
				hash,
				email: user.email,
				expiresAt: Date.now() + this.appConfig.accounts.twoFactorChallengeTtlSec * 1000,
				usedAt: null,
				createdAt: new Date().toISOString(),
			};
			await this.stores.account_tokens.insert(doc);
			return { twoFactorRequired: true as const, challengeToken: token };
		},

		sealTotpSecret(userId: string, secret: string) {
			return seal(this.sealKey, secret, `totp:${userId}`);
		},

		openTotpSecret(userId: string, stored: string) {
			return isSealed(stored) ? unseal(this.sealKey, stored, `totp:${userId}`) : stored;
		},

		async guardSecondFactor(userId: string) {
			const max = this.appConfig.accounts.twoFactorMaxFailures;
			if ((await this.loginFailures.store.peek(`2fa:${userId}:${max}`, FAILURE_WINDOW_MS)) >= max) {
				throw tooMany("Too many wrong codes; try again later", 15 * 60, "TWO_FACTOR_THROTTLED");
			}
		},

		async checkSecondFactor(user: UserDoc, code: string) {
			let ok = false;
			if (looksLikeTotp(code) && user.twoFactorSecret) {
				const last = user.twoFactorLastStep ?? null;
				const stored = user.twoFactorSecret;
				const step = acceptTotp(this.openTotpSecret(user._id, stored), code, last, Date.now());
				// A secret from before sealing is sealed now, with the step it moves to.
				const $set = isSealed(stored)
					? { twoFactorLastStep: step }
					: { twoFactorLastStep: step, twoFactorSecret: this.sealTotpSecret(user._id, stored) };
				// No replay: the step moves forward only from the value read (two racing uses of one code: one wins).
				ok = step !== null && (await this.store.updateIf({ _id: user._id, twoFactorLastStep: last }, { $set }));
			} else {
				ok = !!(await this.takeOneTime("recovery", code, user._id));
			}
			if (!ok) {
				await checkLimits(this.loginFailures.store, `2fa:${user._id}`, [
					{ limit: this.appConfig.accounts.twoFactorMaxFailures, windowMs: FAILURE_WINDOW_MS },
				]);
			}
			return ok;
		},
	},
};

export default twofactor;
