import type { AuthUser } from "../../types/moleculer";

/**
 * Role changes that access tokens issued earlier do not know about yet. Tokens carry the roles
 * they were issued with and are verified by signature alone, so each gateway keeps the latest
 * roles of every user changed within one access-token lifetime and applies them to REST calls
 * and socket handshakes; sockets already open get theirs updated by the `users.rolesChanged`
 * event. After one lifetime every token in use was issued after the change and carries it.
 */
export class RoleChanges {
	private readonly latest = new Map<string, { roles: string[]; at: number }>();

	constructor(
		private readonly ttlMs: number,
		private readonly now: () => number = Date.now,
	) {}

	/** Records a change made at `at` (ms); an older change than the one known is ignored. */
	set(userId: string, roles: string[], at: number = this.now()) {
		if (at + this.ttlMs <= this.now()) return;
		const known = this.latest.get(userId);
		if (known && known.at > at) return;
		this.latest.set(userId, { roles: [...roles], at });
	}

	/** The user with the roles of the latest change, if one is known. */
	apply<U extends AuthUser | null | undefined>(user: U): U {
		if (!user) return user;
		const change = this.latest.get(user.id);
		if (!change) return user;
		if (change.at + this.ttlMs <= this.now()) {
			this.latest.delete(user.id);
			return user;
		}
		return { ...user, roles: [...change.roles] };
	}

	get size(): number {
		return this.latest.size;
	}
}
