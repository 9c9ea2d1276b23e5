/**
 * Users whose access tokens stop working before they expire (a ban), and sessions (refresh-token
 * families, the `sid` claim of an access token) ended by a password change or reset or by their
 * owner. Access tokens are verified
 * by signature alone, so each gateway keeps the users banned within the last access-token
 * lifetime: a token issued before the ban cannot be older than that, and one issued after it does
 * not exist (sign-in and refresh refuse banned accounts). Fed by the `users.banned` event and, when
 * a gateway starts, by the users service's list of recent bans. Ended sessions work the same
 * way (`users.sessionsEnded`, `users.sessionsEndedSince`): a session's tokens are refused for one
 * token lifetime from its end, and a session once ended is never refreshed again.
 */
export class RevokedUsers {
	private readonly until = new Map<string, number>();
	private readonly sessionsUntil = new Map<string, number>();

	constructor(
		/** How long a revocation must last: the access-token lifetime. */
		private readonly ttlMs: number,
		private readonly now: () => number = Date.now,
	) {}

	/** `at`: when the ban happened (ms); the entry lasts one token lifetime from then. */
	revoke(userId: string, at: number = this.now()) {
		const until = at + this.ttlMs;
		if (until > this.now()) this.until.set(userId, Math.max(until, this.until.get(userId) ?? 0));
	}

	restore(userId: string) {
		this.until.delete(userId);
	}

	/** `at`: when the sessions ended (ms); their tokens are refused for one token lifetime from then. */
	endSessions(sessionIds: string[], at: number = this.now()) {
		const until = at + this.ttlMs;
		if (until <= this.now()) return;
		for (const sid of sessionIds) this.sessionsUntil.set(sid, Math.max(until, this.sessionsUntil.get(sid) ?? 0));
	}

	/** Whether a token of `userId` (of session `sid`, when the token names one) must be refused. */
	has(userId: string, sid?: string): boolean {
		return this.live(this.until, userId) || (sid !== undefined && this.live(this.sessionsUntil, sid));
	}

	private live(map: Map<string, number>, key: string): boolean {
		const until = map.get(key);
		if (until === undefined) return false;
		if (until > this.now()) return true;
		map.delete(key);
		return false;
	}

	get size(): number {
		return this.until.size + this.sessionsUntil.size;
	}
}
