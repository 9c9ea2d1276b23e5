import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import config from "../../moleculer.config";

/**
 * The broker retries calls that failed with a retryable error (a timeout, no live node), which is
 * safe only for idempotent actions. The actions that create something without a key that makes a
 * second run harmless, or that must not run twice (token rotation), opt out.
 */
const SERVICES = path.resolve(__dirname, "../../services");

async function actionsOf(file: string): Promise<Record<string, any>> {
	const schema = (await import(path.join(SERVICES, file))).default as ServiceSchema;
	return (schema.actions ?? {}) as Record<string, any>;
}

const MUST_NOT_RETRY: Record<string, string[]> = {
	"donations.service.ts": ["create"],
	"users.service.ts": ["register", "login", "refresh"],
	"alerts.service.ts": ["test", "replay"],
	"chat.service.ts": ["send", "sendConversationMessage", "dmSend"],
	"comments.service.ts": ["create"],
	"posts.service.ts": ["create"],
	"payments.service.ts": ["refund"],
	"integrations.service.ts": ["redeliver"],
};

describe("retry policy", () => {
	it("every action that creates without an idempotency key opts out of broker retries", async () => {
		for (const [file, names] of Object.entries(MUST_NOT_RETRY)) {
			expect(fs.existsSync(path.join(SERVICES, file))).toBe(true);
			const actions = await actionsOf(file);
			for (const name of names) expect(actions[name]?.retryPolicy, `${file} ${name}`).toEqual({ enabled: false });
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
