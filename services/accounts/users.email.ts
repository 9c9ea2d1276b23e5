import { hashPassword, passwordProblem } from "../../lib/tools/passwords";
import { newId } from "../../lib/tools/ids";
import { checkLimits } from "../../lib/tools/rate-limit";
import { badRequest, invalid, tooMany } from "../../lib/tools/errors";
import { looksLikeOneTimeToken, hashOneTimeToken, newOneTimeToken, oneTimeLink, usable, type OneTimeKind } from "../../lib/domain/accounts/one-time-tokens";
import { MAIL_LANGS, passwordResetMail, verifyEmailMail, type MailLang } from "../../lib/domain/accounts/emails";
import { hashRecoveryCode, normalizeRecoveryCode } from "../../lib/domain/accounts/totp";
import type { AccountTokenDoc, Ctx, UserDoc, UsersPart } from "./users.types";

/**
 * The users service's emailed one-time tokens (see users.service.ts): email verification and
 * password reset. A token is 32 random bytes; only its SHA-256 is stored (`account_tokens`), it
 * works once (a conditional update: of two racing uses one wins) and until it expires
 * (EMAIL_VERIFY_TTL_SEC, PASSWORD_RESET_TTL_SEC). Links start with PUBLIC_URL and carry the
 * token as `token=<token>`; emails go through the mailer's outbox, in the account's language
 * (Indonesian or English). `forgot` answers the same 202 and body whether or not the account
 * exists, and makes a token (random bytes and hash) either way; the row and the email are written
 * after the answer, for the same reason. At most ACCOUNT_MAIL_PER_HOUR account emails go to one
 * account; past that `forgot` still answers 202 and sends nothing. A reset ends every session
 * (users.sessions.ts) and proves the address, so it also verifies it.
 *
 * Crash safety: the token row is written before its email is queued; a crash between the two
 * leaves a token nobody holds (it expires), and the user asks again.
 */

const TOKEN_PARAM = { type: "string", min: 1, max: 200 } as const;
const LANG_PARAM = { type: "enum", values: [...MAIL_LANGS], optional: true } as const;
const HOUR_MS = 3_600_000;
const FORGOT_ANSWER = { accepted: true, message: "If an account matches, a reset link is on its way to its email address." };

function invalidToken() {
	return badRequest("This link is not valid any more; ask for a new one", "INVALID_TOKEN");
}

const email: UsersPart = {
	actions: {
		/** Confirms the address the verification link was sent to. */
		verifyEmail: {
			rest: "POST /auth/email/verify",
			status: 204,
			params: { token: TOKEN_PARAM },
			async handler(ctx: Ctx<{ token: string }>) {
				const rec = await this.takeOneTime("verify", ctx.params.token);
				const user = rec ? await this.store.findById(rec.userId) : null;
				if (!rec || !user || user.email !== rec.email) throw invalidToken();
				if (!user.emailVerifiedAt) {
					await this.store.updateMany({ _id: user._id }, { $set: { emailVerifiedAt: new Date().toISOString() } });
					await this.profileChanged(ctx, user);
				}
				return null;
			},
		},

		/** Sends the verification link again (signed in); nothing is sent once the address is verified. */
		resendVerification: {
			rest: "POST /auth/email/resend",
			auth: "required",
			status: 202,
			params: { lang: LANG_PARAM },
			async handler(ctx: Ctx<{ lang?: MailLang }>) {
				const user = await this.loadUser(ctx.meta.user!.id);
				if (user.emailVerifiedAt) return { accepted: true, emailVerified: true };
				if (!(await this.sendOneTime("verify", user, ctx.params.lang))) {
					throw tooMany("Too many emails to this account; try again later", 3600, "EMAIL_THROTTLED");
				}
				return { accepted: true, emailVerified: false };
			},
		},

		/** Emails a reset link when `login` (username or email) names an account; the answer never says. */
		forgotPassword: {
			rest: "POST /auth/password/forgot",
			status: 202,
			// Never retried by the broker: a second run would send a second email.
			retryPolicy: { enabled: false },
			params: { login: { type: "string", min: 1, max: 254 }, lang: LANG_PARAM },
			async handler(ctx: Ctx<{ login: string; lang?: MailLang }>) {
				const login = ctx.params.login.trim().toLowerCase();
				const user = await this.store.findOne(login.includes("@") ? { email: login } : { username: login });
				if (user && !user.bannedAt) {
					this.sendOneTime("reset", user, ctx.params.lang).catch((err: Error) => this.logger.warn("Could not send a reset email", err.message));
				} else {
					// The same work as for an account (random bytes and their hash), so the time says nothing either.
					newOneTimeToken();
				}
				return FORGOT_ANSWER;
			},
		},

		/** Sets a new password with a reset link's token; every session of the account ends. */
		resetPassword: {
			rest: "POST /auth/password/reset",
			status: 204,
			retryPolicy: { enabled: false },
			params: { token: TOKEN_PARAM, password: { type: "string", min: 8, max: 200 } },
			async handler(ctx: Ctx<{ token: string; password: string }>) {
				// A weak password is refused before the token is used up, so the link still works.
				const weak = passwordProblem(ctx.params.password);
				if (weak) throw invalid("password", weak, "PASSWORD_TOO_WEAK");
				const rec = await this.takeOneTime("reset", ctx.params.token);
				const user = rec ? await this.store.findById(rec.userId) : null;
				if (!rec || !user || user.bannedAt) throw invalidToken();
				const now = new Date().toISOString();
				const set: Partial<UserDoc> = { passwordHash: await hashPassword(ctx.params.password), passwordChangedAt: now, updatedAt: now };
				if (!user.emailVerifiedAt && user.email === rec.email) set.emailVerifiedAt = now;
				await this.store.updateMany({ _id: user._id }, { $set: set });
				// Every other reset link of the account dies with this one.
				await this.stores.account_tokens.updateMany({ userId: user._id, kind: "reset", usedAt: null }, { $set: { usedAt: Date.now() } });
				await this.endSessions(user._id);
				await this.profileChanged(ctx, user);
				return null;
			},
		},
	},

	methods: {
		mailLang(user: UserDoc, lang?: MailLang): MailLang {
			return lang ?? user.lang ?? "en";
		},

		async sendOneTime(kind: OneTimeKind, user: UserDoc, lang?: MailLang) {
			const cfg = this.appConfig.accounts;
			const verdict = await checkLimits(this.accountMails.store, `mail:${user._id}`, [{ limit: cfg.accountMailPerHour, windowMs: HOUR_MS }]);
			if (!verdict.allowed) return false;
			const ttlSec = kind === "reset" ? cfg.passwordResetTtlSec : cfg.emailVerifyTtlSec;
			const { token, hash } = newOneTimeToken();
			const doc: AccountTokenDoc = {
				_id: newId(),
				kind,
				userId: user._id,
				hash,
				email: user.email,
				expiresAt: Date.now() + ttlSec * 1000,
				usedAt: null,
				createdAt: new Date().toISOString(),
			};
			await this.stores.account_tokens.insert(doc);
			const l = this.mailLang(user, lang);
			const page = kind === "reset" ? "/auth/reset" : "/auth/verify";
			const link = oneTimeLink(this.appConfig.publicUrl, page, token, l);
			const mail = (kind === "reset" ? passwordResetMail : verifyEmailMail)(l, { username: user.username, link, ttlSec });
			await this.broker.call("mailer.enqueue", { key: `account:${kind}:${doc._id}`, to: user.email, subject: mail.subject, text: mail.text });
			return true;
		},

		async takeOneTime(kind: OneTimeKind, token: string, userId?: string) {
			const hash =
				kind === "recovery"
					? normalizeRecoveryCode(token)
						? hashRecoveryCode(token)
						: null
					: looksLikeOneTimeToken(token)
						? hashOneTimeToken(token)
						: null;
			if (!hash) return null;
			const rec = await this.stores.account_tokens.findOne(userId ? { hash, userId } : { hash });
			const now = Date.now();
			if (!rec || !usable(rec, kind, now)) return null;
			const won = await this.stores.account_tokens.updateIf({ _id: rec._id, usedAt: null }, { $set: { usedAt: now } });
			return won ? rec : null;
		},
	},
};

export default email;
