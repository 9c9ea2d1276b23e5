import type { AuthUser } from "../../types/moleculer";

/**
 * A gateway's short memory of personal access tokens (`msp_…`), keyed by their SHA-256: the
 * users service is asked once per token per `ttlMs`, not on every request. Unknown tokens are
 * remembered too (a token's hash never comes back once revoked, and a new token has a hash no one
 * asked for), so a flood of made-up tokens does not reach the users service. A revocation
 * (`users.tokenRevoked`, broadcast to every gateway) drops the entry at once and keeps the hash
 * refused for `ttlMs`, so an answer still in flight cannot put it back. A gateway that missed the
 * broadcast refuses the token once its entry expires.
 */

export interface ResolvedToken {
	user: AuthUser;
	/** ms; null: never expires. */
	expiresAt: number | null;
}

type Load = (hash: string) => Promise<ResolvedToken | null>;

interface Entry {
	value: ResolvedToken | null;
	until: number;
}

export class PersonalTokenCache {
	private readonly entries = new Map<string, Entry>();
	private readonly revoked = new Map<string, number>();
	private readonly inFlight = new Map<string, Promise<ResolvedToken | null>>();

	constructor(
		private readonly ttlMs: number,
		private readonly maxEntries = 10_000,
		private readonly now: () => number = Date.now,
	) {}

	/** The token's user (with its scopes), or null when it is unknown, revoked or expired. */
	async get(hash: string, load: Load): Promise<ResolvedToken | null> {
		const now = this.now();
		if (this.isRevoked(hash, now)) return null;
		const hit = this.entries.get(hash);
		let value: ResolvedToken | null;
		if (hit && hit.until > now) value = hit.value;
		else {
			let pending = this.inFlight.get(hash);
			if (!pending) {
				pending = load(hash).finally(() => this.inFlight.delete(hash));
				this.inFlight.set(hash, pending);
			}
			value = await pending;
			if (this.isRevoked(hash, this.now())) return null;
			this.remember(hash, value);
		}
		if (value && value.expiresAt !== null && value.expiresAt <= this.now()) return null;
		return value;
	}

	/** A revoked token: refused here from now on. */
	revoke(hash: string) {
		this.entries.delete(hash);
		this.revoked.set(hash, this.now() + this.ttlMs);
	}

	/** Drops every entry of a user (a ban: the next request asks again). */
	forgetUser(userId: string) {
		for (const [hash, e] of this.entries) if (e.value?.user.id === userId) this.entries.delete(hash);
	}

	private remember(hash: string, value: ResolvedToken | null) {
		if (this.entries.size >= this.maxEntries) {
			// The oldest entry goes first (Map keeps insertion order).
			const first = this.entries.keys().next().value;
			if (first !== undefined) this.entries.delete(first);
		}
		this.entries.delete(hash);
		this.entries.set(hash, { value, until: this.now() + this.ttlMs });
	}

	private isRevoked(hash: string, now: number): boolean {
		const until = this.revoked.get(hash);
		if (until === undefined) return false;
		if (until > now) return true;
		this.revoked.delete(hash);
		return false;
	}

	get size(): number {
		return this.entries.size;
	}
}
