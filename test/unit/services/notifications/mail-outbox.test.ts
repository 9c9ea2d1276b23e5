import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { ServiceBroker } from "moleculer";
import mailer from "../../../../services/notifications/mailer.service";
import { waitFor } from "../../../support/harness";

/** An email to an SMTP server that is down is retried, parked as dead, kept, and can be requeued. */
let broker: ServiceBroker;
const ENV = { MAIL_MAX_ATTEMPTS: "3", MAIL_RETRY_BASE_MS: "10", MAIL_RETRY_MAX_MS: "20", MAIL_SWEEP_MS: "20", SMTP_TIMEOUT_MS: "1000" };

beforeAll(async () => {
	// A port nobody listens on: every connection is refused at once.
	const probe = net.createServer();
	await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
	const port = (probe.address() as net.AddressInfo).port;
	await new Promise<void>((r) => probe.close(() => r()));
	Object.assign(process.env, ENV, { SMTP_URL: `smtp://127.0.0.1:${port}` });
	broker = new ServiceBroker({ logger: false });
	broker.createService(mailer);
	await broker.start();
});
afterAll(async () => {
	await broker.stop();
	for (const k of [...Object.keys(ENV), "SMTP_URL"]) delete process.env[k];
});

describe("mail outbox", () => {
	it("retries with backoff, parks the row as dead after the last attempt, and requeues it on demand", async () => {
		const first = await broker.call<any, any>("mailer.enqueue", { key: "k1", to: "someone@example.test", subject: "Hi", text: "Hello" });
		expect(first.status).toBe("pending");
		const again = await broker.call<any, any>("mailer.enqueue", { key: "k1", to: "someone@example.test", subject: "Hi", text: "Hello" });
		expect(again).toMatchObject({ id: first.id, duplicate: true });

		const list = async () => (await broker.call<any, any>("mailer.list", { to: "someone@example.test" })).items;
		const dead = await waitFor(async () => ((await list())[0]?.status === "dead" ? (await list())[0] : null), 10_000, "dead row");
		expect(dead).toMatchObject({ id: first.id, attempts: 3 });
		expect(dead.lastError).toBeTruthy();
		expect(await list()).toHaveLength(1);

		expect(await broker.call("mailer.retryDead")).toEqual({ requeued: 1 });
		await waitFor(async () => (await list())[0]?.attempts >= 1 && (await list())[0]?.status !== "sent", 10_000, "requeued attempts");
	});
});
