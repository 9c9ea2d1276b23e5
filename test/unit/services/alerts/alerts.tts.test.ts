import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServiceBroker, ServiceSchema } from "moleculer";
import alerts from "../../../../services/alerts/alerts.service";
import { waitFor } from "../../../support/harness";
import { channelBroker } from "../../../support/unit-broker";

/**
 * Server-side speech over the service with the real bundled engine (eSpeak NG WASM): the alert
 * never waits for it, the speech follows as `alert:tts` (or rides on an alert still queued), the
 * spoken text is moderated, and a failing media store leaves the alert without `ttsUrl`. The media
 * library is a tiny stand-in with the interface of the `media` service.
 */
const stored: { ownerId: string; contentType: string; data: Buffer }[] = [];
let failStore = false;
const mediaStub = {
	name: "media",
	actions: {
		resolve: () => null,
		storeGenerated(ctx: any) {
			if (failStore) throw new Error("disk full");
			const data = Buffer.from(ctx.params.data);
			stored.push({ ownerId: ctx.params.ownerId, contentType: ctx.params.contentType, data });
			return { id: `m${stored.length}`, kind: "audio", contentType: ctx.params.contentType, url: `/media/tts${stored.length}.wav`, size: data.length };
		},
	},
};
const settings = {
	donations: { currency: "IDR" },
	alerts: { displaySeconds: 30, tts: true, ttsMinAmount: 10_000, ttsLanguage: "en" },
	moderation: { blockedTerms: ["scam"] },
};
const usersStub = { name: "users", actions: { get: (ctx: any) => ({ id: ctx.params.id, settings }) } };
const pushed: { event: string; data: any }[] = [];
const gatewayStub = { name: "api", events: { "ws.emit": (ctx: any) => void pushed.push({ event: ctx.params.event, data: ctx.params.data }) } };

let broker: ServiceBroker & { sendToChannel(name: string, payload: unknown): Promise<void> };
let svc: any;
const spoken: string[] = [];
const me = { meta: { user: { id: "s1", username: "s1", roles: ["user"] } } };

function paid(id: string, amount: number, message: string, donorName = "Budi") {
	return broker.sendToChannel("donations.paid", {
		donation: {
			id,
			recipientId: "s1",
			donorName,
			amount,
			currency: "IDR",
			formattedAmount: `Rp${amount / 100}`,
			message,
			createdAt: new Date().toISOString(),
			paidAt: new Date().toISOString(),
		},
	});
}
const alertOf = (donationId: string) =>
	waitFor(() => pushed.find((p) => p.event === "alert" && p.data.donationId === donationId)?.data, 5000, `alert ${donationId}`);

beforeAll(async () => {
	broker = channelBroker();
	for (const s of [usersStub, gatewayStub, mediaStub]) broker.createService(s as ServiceSchema);
	svc = broker.createService(alerts);
	await broker.start();
	const engine = svc.ttsEngine;
	svc.ttsEngine = { name: engine.name, synthesize: (text: string, lang: string) => (spoken.push(text), engine.synthesize(text, lang)) };
});
afterAll(() => broker.stop());

describe("alert speech", () => {
	it("the alert goes out at once; its speech follows as alert:tts, a WAV of the moderated text", async () => {
		await paid("d1", 20_000, "this is no scam, visit https://x.example/win now!!!!!!!");
		const alert = await alertOf("d1");
		expect(alert).toMatchObject({ tts: true, ttsUrl: null });
		const late = await waitFor(() => pushed.find((p) => p.event === "alert:tts" && p.data.id === alert.id)?.data, 10_000, "alert:tts");
		expect(late.ttsUrl).toMatch(/^\/media\/tts\d+\.wav$/);
		expect(spoken.at(-1)).toBe("Budi says: this is no bleep, visit link now!!");
		const file = stored.at(-1)!;
		expect(file).toMatchObject({ ownerId: "s1", contentType: "audio/wav" });
		expect(file.data.subarray(0, 4).toString()).toBe("RIFF");
		expect(file.data.length).toBeGreaterThan(10_000);
		// The stored alert carries it: an overlay that reconnects gets it with the alert.
		expect((await svc.store.findById(alert.id)).payload).toMatchObject({ ttsUrl: late.ttsUrl });
		expect((await svc.store.findById(alert.id)).ttsDue).toBeUndefined();
		await broker.call("alerts.skip", {}, me);
	});

	it("an alert queued behind another carries its ttsUrl when it goes out; below ttsMinAmount there is no speech", async () => {
		await paid("d2", 20_000, "first");
		const a2 = await alertOf("d2");
		await paid("d3", 30_000, "second in line");
		await waitFor(async () => (await svc.store.findOne({ donationId: "d3" }))?.payload.ttsUrl, 10_000, "d3 speech rendered");
		await broker.call("alerts.done", { id: a2.id }, me);
		expect((await alertOf("d3")).ttsUrl).toMatch(/^\/media\//);
		await broker.call("alerts.skip", {}, me);
		await paid("d4", 5_000, "too small to speak");
		expect(await alertOf("d4")).toMatchObject({ tts: false, ttsUrl: null });
		await broker.call("alerts.skip", {}, me);
	});

	it("the same text is rendered once; a failing store leaves the alert without speech", async () => {
		const renders = spoken.length;
		await paid("d5", 20_000, "first");
		const a5 = await alertOf("d5");
		await waitFor(async () => (await svc.store.findById(a5.id)).ttsDue === undefined, 5000, "d5 speech done");
		expect(spoken.length).toBe(renders);
		await broker.call("alerts.skip", {}, me);
		failStore = true;
		await paid("d6", 20_000, "a new message nobody said before");
		const a6 = await alertOf("d6");
		await waitFor(async () => (await svc.store.findById(a6.id)).ttsDue === undefined, 10_000, "d6 speech given up");
		expect((await svc.store.findById(a6.id)).payload.ttsUrl).toBeNull();
		expect(pushed.some((p) => p.event === "alert:tts" && p.data.id === a6.id)).toBe(false);
		failStore = false;
		await broker.call("alerts.skip", {}, me);
	});
});
