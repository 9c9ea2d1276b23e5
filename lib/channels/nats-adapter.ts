import { Adapters } from "@moleculer/channels";

/**
 * @moleculer/channels' NATS JetStream adapter, with one fix: when two instances of a consumer
 * group start at the same moment (`docker compose up` with two replicas), both try to create the
 * group's durable consumer and the second gets "consumer name already in use", which stopped its
 * whole broker. Here the loser waits a moment and subscribes again, now to the consumer the other
 * one created.
 */
const NatsAdapter = Adapters.NATS as unknown as new (opts?: unknown) => any;

const RACE = /consumer name already in use|consumer already exists/i;
const ATTEMPTS = 6;

export class NatsChannelsAdapter extends NatsAdapter {
	async subscribe(chan: { id: string; name: string; group: string }, svc: unknown) {
		for (let attempt = 1; ; attempt++) {
			try {
				return await super.subscribe(chan, svc);
			} catch (err) {
				if (attempt >= ATTEMPTS || !RACE.test((err as Error).message)) throw err;
				// The failed attempt registered the channel's active-message tracking; start clean.
				this.activeMessages.delete(chan.id);
				this.logger.info(`Another instance was creating the consumer of '${chan.name}' (${chan.group}); subscribing again`);
				await new Promise((r) => setTimeout(r, 50 * attempt + Math.random() * 150));
			}
		}
	}
}
