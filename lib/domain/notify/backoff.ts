/**
 * Retry schedule for outboxes (email, webhooks): exponential from `baseMs`, capped at `maxMs`,
 * with up to 20 % jitter so a recovering receiver is not hit by every node at once.
 */
export interface Backoff {
	baseMs: number;
	maxMs: number;
}

export function nextDelayMs(attempt: number, b: Backoff, random: () => number = Math.random): number {
	const exp = Math.min(b.maxMs, b.baseMs * 2 ** Math.max(0, attempt - 1));
	return Math.max(1, Math.round(exp * (1 - 0.2 * random())));
}
