import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import config from "../../../moleculer.config";
import { serviceFiles } from "../../../lib/ops/service-files";

/**
 * The broker retries calls that failed with a retryable error (a timeout, no live node), which is
 * safe only for idempotent actions. The actions that create something without a key that makes a
 * second run harmless, or that must not run twice (token rotation), opt out.
 */
const SERVICES = path.resolve(__dirname, "../../../services");

/** Every action of every service file, by full name (`service.action`). */
async function allActions(): Promise<Map<string, any>> {
	const out = new Map<string, any>();
	for (const file of serviceFiles(SERVICES).values()) {
		const schema = (await import(file)).default as ServiceSchema;
		for (const [name, def] of Object.entries(schema.actions ?? {})) out.set(`${schema.name}.${name}`, def);
	}
	return out;
}

const MUST_NOT_RETRY = [
	"donations.create",
	"users.register",
	"users.login",
	"users.refresh",
	"alerts.test",
	"alerts.replay",
	"chat.send",
	"dm.sendConversationMessage",
	"dm.dmSend",
	"comments.create",
	"posts.create",
	"payments.refund",
	"integrations.redeliver",
];

describe("retry policy", () => {
	it("every action that creates without an idempotency key opts out of broker retries", async () => {
		const actions = await allActions();
		for (const name of MUST_NOT_RETRY) {
			expect(actions.has(name), `${name} exists`).toBe(true);
			expect(actions.get(name)?.retryPolicy, name).toEqual({ enabled: false });
		}
	});

	describe("on MediaShar's broker options", () => {
		let broker: ServiceBroker;
		const runs = { idempotent: 0, creating: 0 };
		beforeAll(async () => {
			broker = new ServiceBroker({
				...config,
				nodeID: "retry-test",
				logger: false,
				transporter: null,
				requestTimeout: 50,
				retryPolicy: { ...config.retryPolicy, delay: 10 },
			} as any);
			broker.createService({
				name: "slow",
				actions: {
					idempotent: { handler: () => (runs.idempotent++ === 0 ? new Promise((r) => setTimeout(r, 200)) : "ok") },
					creating: { retryPolicy: { enabled: false }, handler: () => (runs.creating++ === 0 ? new Promise((r) => setTimeout(r, 200)) : "ok") },
				},
			} as ServiceSchema);
			await broker.start();
		});
		afterAll(() => broker.stop());

		it("retries a timed-out call, but not one of an action that opted out", async () => {
			expect(await broker.call("slow.idempotent")).toBe("ok");
			expect(runs.idempotent).toBe(2);
			await expect(broker.call("slow.creating")).rejects.toMatchObject({ name: "RequestTimeoutError" });
			expect(runs.creating).toBe(1);
		});
	});
});
