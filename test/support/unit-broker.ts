import { ServiceBroker } from "moleculer";
import { Middleware as ChannelsMiddleware } from "@moleculer/channels";

export type ChannelBroker = ServiceBroker & { sendToChannel(name: string, payload: unknown, opts?: unknown): Promise<void> };

/** A broker for a service's unit tests: no logger, @moleculer/channels on its in-memory Fake adapter. */
export function channelBroker(): ChannelBroker {
	return new ServiceBroker({
		logger: false,
		middlewares: [ChannelsMiddleware({ adapter: { type: "Fake", options: {} }, sendMethodName: "sendToChannel" } as any)],
	}) as ChannelBroker;
}
