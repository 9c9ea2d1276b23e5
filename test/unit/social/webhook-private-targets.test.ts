import { afterEach, describe, expect, it } from "vitest";
import { ServiceBroker } from "moleculer";
import integrations from "../../../services/integrations.service";
import { channelBroker } from "../../support/unit-broker";

/** In production, integrator webhooks may not point at loopback, private or metadata addresses. */
const meta = { meta: { user: { id: "owner1", username: "owner", roles: ["user"] } } };
const saved = { NODE_ENV: process.env.NODE_ENV, VITEST: process.env.VITEST, WEBHOOK_BLOCK_PRIVATE: process.env.WEBHOOK_BLOCK_PRIVATE, DB_ADAPTER: process.env.DB_ADAPTER };
let broker: ServiceBroker | undefined;

async function start(env: Record<string, string | undefined>) {
	// Outside NODE_ENV=test the storage would default to files under ./data.
	for (const [k, v] of Object.entries({ DB_ADAPTER: "memory", ...env })) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
	broker = channelBroker();
	broker.createService(integrations);
	await broker.start();
	return broker;
}

afterEach(async () => {
	await broker?.stop();
	broker = undefined;
	for (const [k, v] of Object.entries(saved)) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
});

describe("webhook targets", () => {
	it("production refuses private and loopback targets by default", async () => {
		const b = await start({ NODE_ENV: "production", VITEST: undefined });
		for (const url of ["http://127.0.0.1:9000/hook", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/x", "http://localhost/x"]) {
			await expect(b.call("integrations.setWebhook", { url }, meta)).rejects.toMatchObject({ code: 422, type: "INVALID_WEBHOOK_URL" });
		}
		expect(await b.call<any, any>("integrations.setWebhook", { url: "https://hooks.example.com/mediashar" }, meta)).toMatchObject({ url: "https://hooks.example.com/mediashar" });
	});

	it("an operator can allow them in production; development allows loopback", async () => {
		const allowed = await start({ NODE_ENV: "production", VITEST: undefined, WEBHOOK_BLOCK_PRIVATE: "false" });
		expect(await allowed.call<any, any>("integrations.setWebhook", { url: "http://10.0.0.5/x" }, meta)).toMatchObject({ url: "http://10.0.0.5/x" });
		await allowed.stop();
		const dev = await start({ NODE_ENV: "development", VITEST: undefined, WEBHOOK_BLOCK_PRIVATE: undefined });
		expect(await dev.call<any, any>("integrations.setWebhook", { url: "http://127.0.0.1:9000/hook" }, meta)).toMatchObject({ url: "http://127.0.0.1:9000/hook" });
	});
});
