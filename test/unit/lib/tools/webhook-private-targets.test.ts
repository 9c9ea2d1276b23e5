import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { waitFor } from "../../../support/harness";
import integrations from "../../../../services/notifications/integrations.service";
import { channelBroker } from "../../../support/unit-broker";

/** In production, integrator webhooks may not point at loopback, private or metadata addresses. */
const meta = { meta: { user: { id: "owner1", username: "owner", roles: ["user"] } } };
const saved = {
	NODE_ENV: process.env.NODE_ENV,
	VITEST: process.env.VITEST,
	WEBHOOK_BLOCK_PRIVATE: process.env.WEBHOOK_BLOCK_PRIVATE,
	DB_ADAPTER: process.env.DB_ADAPTER,
};
let broker: ServiceBroker | undefined;

async function start(env: Record<string, string | undefined>, extend?: Partial<ServiceSchema>) {
	// Outside NODE_ENV=test the storage would default to files under ./data.
	for (const [k, v] of Object.entries({ DB_ADAPTER: "memory", ...env })) {
		if (v === undefined) delete process.env[k];
		else process.env[k] = v;
	}
	broker = channelBroker();
	broker.createService(extend ? { ...extend, name: "integrations", mixins: [integrations] } : integrations);
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
		expect(await b.call<any, any>("integrations.setWebhook", { url: "https://hooks.example.com/mediashar" }, meta)).toMatchObject({
			url: "https://hooks.example.com/mediashar",
		});
	});

	it("an operator can allow them in production; development allows loopback", async () => {
		const allowed = await start({ NODE_ENV: "production", VITEST: undefined, WEBHOOK_BLOCK_PRIVATE: "false" });
		expect(await allowed.call<any, any>("integrations.setWebhook", { url: "http://10.0.0.5/x" }, meta)).toMatchObject({ url: "http://10.0.0.5/x" });
		await allowed.stop();
		const dev = await start({ NODE_ENV: "development", VITEST: undefined, WEBHOOK_BLOCK_PRIVATE: undefined });
		expect(await dev.call<any, any>("integrations.setWebhook", { url: "http://127.0.0.1:9000/hook" }, meta)).toMatchObject({
			url: "http://127.0.0.1:9000/hook",
		});
	});

	it("IPv6 forms that wrap a private IPv4 address are refused on save", async () => {
		const b = await start({ NODE_ENV: "production", VITEST: undefined });
		const forms = [
			"http://[::ffff:127.0.0.1]:9000/hook",
			"http://[::ffff:7f00:1]:9000/hook",
			"http://[::ffff:169.254.169.254]/latest/meta-data",
			"http://[::ffff:10.0.0.1]/x",
			"http://[::127.0.0.1]/x",
			"http://[64:ff9b::127.0.0.1]/x",
			"http://[64:ff9b::a9fe:a9fe]/x",
			"http://[64:ff9b:1::a00:1]/x",
			"http://[::ffff:0:127.0.0.1]/x",
			"http://[2002:7f00:1::1]/x",
			"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",
			"http://[fe80::1]/x",
			"http://[ff02::1]/x",
			"http://[2001:db8::1]/x",
			"http://100.64.0.1/x",
			"http://0.0.0.0/x",
			"http://2130706433/x",
			"http://0x7f.1/x",
			"http://localhost./x",
			"http://api.localhost/x",
		];
		for (const url of forms) {
			await expect(b.call("integrations.setWebhook", { url }, meta), url).rejects.toMatchObject({ code: 422, type: "INVALID_WEBHOOK_URL" });
		}
		// A public address in a wrapped form is still public.
		expect(await b.call<any, any>("integrations.setWebhook", { url: "http://[::ffff:93.184.216.34]/x" }, meta)).toMatchObject({
			url: "http://[::ffff:5db8:d822]/x",
		});
		expect(await b.call<any, any>("integrations.setWebhook", { url: "https://[2606:4700::1111]/x" }, meta)).toMatchObject({
			url: "https://[2606:4700::1111]/x",
		});
	});

	it("a name that resolves to a private address at delivery time is refused; otherwise the checked address is the one connected to", async () => {
		let hits = 0;
		const receiver = http.createServer((req, res) => {
			hits++;
			req.resume();
			req.on("end", () => res.writeHead(204).end());
		});
		await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
		const port = (receiver.address() as AddressInfo).port;
		// The name looked public when it was saved; by delivery time it answers loopback (DNS rebinding).
		const asked: string[] = [];
		const resolveHost = async (host: string) => {
			asked.push(host);
			return [{ address: "127.0.0.1", family: 4 }];
		};
		const owner = meta.meta.user.id;
		const deliveries = async (b: ServiceBroker) => (await b.call<any, any>("integrations.deliveries", {}, meta)).items;
		try {
			const b = await start({ NODE_ENV: "production", VITEST: undefined }, { methods: { resolveHost } });
			await b.call("integrations.setWebhook", { url: `http://hooks.rebind.test:${port}/hook` }, meta);
			await (b.getLocalService("integrations") as any).enqueue("donation.paid", {
				id: "d1",
				recipientId: owner,
				amount: 1,
				currency: "USD",
				status: "paid",
			});
			await waitFor(async () => (await deliveries(b))[0]?.attempts === 1, 5000, "first attempt");
			const [row] = await deliveries(b);
			expect(row).toMatchObject({ status: "pending", lastStatusCode: null });
			expect(row.lastError).toContain("resolves to a private address (127.0.0.1)");
			expect(asked).toEqual(["hooks.rebind.test"]);
			expect(hits).toBe(0);
			await b.stop();

			// Same resolver with the block off: the POST reaches the address the resolver gave.
			const open = await start({ NODE_ENV: "production", VITEST: undefined, WEBHOOK_BLOCK_PRIVATE: "false" }, { methods: { resolveHost } });
			await open.call("integrations.setWebhook", { url: `http://hooks.rebind.test:${port}/hook` }, meta);
			await (open.getLocalService("integrations") as any).enqueue("donation.paid", {
				id: "d2",
				recipientId: owner,
				amount: 1,
				currency: "USD",
				status: "paid",
			});
			await waitFor(async () => (await deliveries(open))[0]?.status === "delivered", 5000, "delivered");
			expect(hits).toBe(1);
		} finally {
			await new Promise<void>((r) => receiver.close(() => r()));
		}
	});
});
