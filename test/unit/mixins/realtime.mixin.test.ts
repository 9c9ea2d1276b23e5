import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type Context, type Service, type ServiceSchema, type ServiceSettingSchema } from "moleculer";
import { RealtimeMixin, pushToRooms, type RealtimeMethods, type WsEmit } from "../../../mixins/realtime.mixin";
import { NAMESPACE, rooms } from "../../../lib/domain/rooms";
import { waitFor } from "../../support/harness";

const packets: WsEmit[] = [];
let broker: ServiceBroker;
let pusher: Service & RealtimeMethods;

beforeAll(async () => {
	broker = new ServiceBroker({ logger: false });
	// Stands in for a gateway node: receives every ws.emit broadcast.
	broker.createService({
		name: "gatewayProbe",
		events: { "ws.emit": { handler: (ctx: Context<WsEmit>) => void packets.push(ctx.params) } },
	} as ServiceSchema);
	pusher = broker.createService({
		name: "pusher",
		mixins: [RealtimeMixin],
		actions: {
			// A push made inside an action, through its context.
			notify: {
				handler(ctx: Context<{ userId: string }>) {
					this.push([rooms.user(ctx.params.userId)], "notification", { n: 1 }, ctx);
				},
			},
		},
	} satisfies ServiceSchema<ServiceSettingSchema, RealtimeMethods>) as unknown as Service & RealtimeMethods;
	await broker.start();
});
afterAll(() => broker.stop());

describe("RealtimeMixin", () => {
	it("push reaches a ws.emit handler with the main namespace, rooms, event and data", async () => {
		packets.length = 0;
		pusher.push([rooms.chat("alice")], "chat:message", { text: "hi" });
		await waitFor(() => packets.length === 1, 2_000, "the ws.emit packet");
		expect(packets[0]).toEqual({ namespace: NAMESPACE.main, rooms: ["chat:alice"], event: "chat:message", data: { text: "hi" } });
	});

	it("a push through a context arrives the same way", async () => {
		packets.length = 0;
		await broker.call("pusher.notify", { userId: "u1" });
		await waitFor(() => packets.length === 1, 2_000, "the ws.emit packet");
		expect(packets[0]).toEqual({ namespace: "/", rooms: ["user:u1"], event: "notification", data: { n: 1 } });
	});

	it("pushOverlay targets the overlay namespace", async () => {
		packets.length = 0;
		pusher.pushOverlay([rooms.overlay("u1"), rooms.overlayToken("t1")], "alert:show", { id: "a" });
		await waitFor(() => packets.length === 1, 2_000, "the ws.emit packet");
		expect(packets[0]).toEqual({ namespace: "/overlay", rooms: ["overlay:u1", "overlaytoken:t1"], event: "alert:show", data: { id: "a" } });
	});

	it("pushToRooms carries `except`, and sends nothing for no rooms", async () => {
		packets.length = 0;
		pushToRooms(broker, [], "nothing", {});
		pushToRooms(broker, [rooms.chat("bob")], "chat:typing", { u: "x" }, NAMESPACE.main, ["sock1"]);
		await waitFor(() => packets.length >= 1, 2_000, "the ws.emit packet");
		expect(packets).toEqual([{ namespace: "/", rooms: ["chat:bob"], event: "chat:typing", data: { u: "x" }, except: ["sock1"] }]);
	});
});
