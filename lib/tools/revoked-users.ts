/**
 * Users whose access tokens stop working before they expire (a ban). Access tokens are verified
 * by signature alone, so each gateway keeps the users banned within the last access-token
 * lifetime: a token issued before the ban cannot be older than that, and one issued after it does
 * not exist (sign-in and refresh refuse banned accounts). Fed by the `users.banned` event and, when
 * a gateway starts, by the users service's list of recent bans.
 */
export class RevokedUsers {
	private readonly until = new Map<string, number>();

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

	has(userId: string): boolean {
		const until = this.until.get(userId);
		if (until === undefined) return false;
		if (until > this.now()) return true;
		this.until.delete(userId);
		return false;
	}

	get size(): number {
		return this.until.size;
	}
}
