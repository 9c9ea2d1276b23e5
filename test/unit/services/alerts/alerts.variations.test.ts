import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Errors, type ServiceBroker, type ServiceSchema } from "moleculer";
import alerts from "../../../../services/alerts/alerts.service";
import { waitFor } from "../../../support/harness";
import { channelBroker } from "../../../support/unit-broker";

/**
 * Variations over the service's actions: validation (templates, ranges, media of the right kind
 * owned by the caller), the look a paid donation gets, and a test alert with a chosen variation.
 * The media library is a tiny stand-in with the interface of the `media` service.
 */
const files: Record<string, { ownerId: string; kind: string; url: string }> = {
	img1: { ownerId: "s1", kind: "image", url: "/media/aaa.png" },
	snd1: { ownerId: "s1", kind: "audio", url: "/media/bbb.mp3" },
	img2: { ownerId: "s2", kind: "image", url: "/media/ccc.png" },
};
const mediaStub = {
	name: "media",
	actions: {
		resolve(ctx: any) {
			const f = files[ctx.params.id];
			if (!f || f.ownerId !== ctx.params.ownerId || (ctx.params.kind && f.kind !== ctx.params.kind))
				throw new Errors.MoleculerClientError("Invalid media", 422, "INVALID_MEDIA");
			return { id: ctx.params.id, kind: f.kind, contentType: "x/y", url: f.url, size: 1 };
		},
		storeGenerated: () => ({ id: "g", kind: "audio", contentType: "audio/wav", url: "/media/ddd.wav", size: 1 }),
	},
};
const settings = { donations: { currency: "IDR" }, alerts: { displaySeconds: 5 } };
const usersStub = { name: "users", actions: { get: (ctx: any) => ({ id: ctx.params.id, settings }) } };
const pushed: { event: string; data: any }[] = [];
const gatewayStub = { name: "api", events: { "ws.emit": (ctx: any) => void pushed.push({ event: ctx.params.event, data: ctx.params.data }) } };

let broker: ServiceBroker & { sendToChannel(name: string, payload: unknown): Promise<void> };
const me = { meta: { user: { id: "s1", username: "s1", roles: ["user"] } } };
const call = (action: string, params: Record<string, unknown> = {}, opts = me) => broker.call<any, any>(`alerts.${action}`, params, opts);

beforeAll(async () => {
	broker = channelBroker();
	for (const s of [usersStub, gatewayStub, mediaStub]) broker.createService(s as ServiceSchema);
	broker.createService(alerts);
	await broker.start();
});
afterAll(() => broker.stop());

describe("alert variations", () => {
	it("creates, lists, updates and deletes the caller's own variations", async () => {
		const created = await call("createVariation", {
			name: "Big",
			minAmount: 50_000_00,
			template: "{name} gave {amount}!",
			imageMediaId: "img1",
			soundMediaId: "snd1",
			volume: 0.5,
		});
		expect(created).toMatchObject({
			name: "Big",
			enabled: true,
			maxAmount: null,
			imageUrl: "/media/aaa.png",
			soundUrl: "/media/bbb.mp3",
			layout: "image-above",
			tts: false,
		});
		expect((await call("listVariations")).items.map((v: any) => v.id)).toEqual([created.id]);
		const other = { meta: { user: { id: "s2", username: "s2", roles: ["user"] } } };
		expect((await call("listVariations", {}, other)).items).toEqual([]);
		await expect(call("updateVariation", { id: created.id, name: "x" }, other)).rejects.toMatchObject({ code: 404 });
		const updated = await call("updateVariation", { id: created.id, layout: "image-left", imageMediaId: null });
		expect(updated).toMatchObject({ layout: "image-left", imageMediaId: null, imageUrl: null, soundUrl: "/media/bbb.mp3", name: "Big" });
		await call("removeVariation", { id: created.id });
		expect((await call("listVariations")).items).toEqual([]);
		await expect(call("removeVariation", { id: created.id })).rejects.toMatchObject({ code: 404 });
	});

	it("refuses unknown placeholders, an upside-down range and media that is not the caller's own of the right kind", async () => {
		await expect(call("createVariation", { name: "x", template: "{name} {email}" })).rejects.toMatchObject({ code: 422, type: "INVALID_TEMPLATE" });
		await expect(call("createVariation", { name: "x", minAmount: 10, maxAmount: 5 })).rejects.toMatchObject({ code: 422, type: "INVALID_RANGE" });
		await expect(call("createVariation", { name: "x", imageMediaId: "snd1" })).rejects.toMatchObject({ code: 422, type: "INVALID_MEDIA" });
		await expect(call("createVariation", { name: "x", imageMediaId: "img2" })).rejects.toMatchObject({ code: 422, type: "INVALID_MEDIA" });
		await expect(call("createVariation", { name: "x", soundMediaId: "nope" })).rejects.toMatchObject({ code: 422, type: "INVALID_MEDIA" });
		await expect(call("createVariation", { name: "x", volume: 1.5 })).rejects.toMatchObject({ code: 422 });
		await expect(call("createVariation", { name: "x", layout: "sideways" })).rejects.toMatchObject({ code: 422 });
		expect((await call("listVariations")).items).toEqual([]);
	});

	it("a paid donation's alert carries the look of the variation its amount chooses", async () => {
		const small = await call("createVariation", { name: "Small", minAmount: 0, maxAmount: 9_999_99, durationSec: 4 });
		const big = await call("createVariation", {
			name: "Big",
			minAmount: 10_000_00,
			template: "{name} sent {amount}: {message}",
			imageMediaId: "img1",
			soundMediaId: "snd1",
			volume: 0.3,
			layout: "text-over-image",
		});
		const paid = (id: string, amount: number) =>
			broker.sendToChannel("donations.paid", {
				donation: {
					id,
					recipientId: "s1",
					donorName: "Budi",
					amount,
					currency: "IDR",
					formattedAmount: `Rp${amount / 100}`,
					message: "halo",
					createdAt: new Date().toISOString(),
					paidAt: new Date().toISOString(),
				},
			});
		await paid("d-big", 25_000_00);
		const first = await waitFor(() => pushed.find((p) => p.event === "alert" && p.data.donationId === "d-big")?.data, 3000, "the big alert");
		expect(first).toMatchObject({
			variationId: big.id,
			title: "Budi sent Rp25000: halo",
			imageUrl: "/media/aaa.png",
			soundUrl: "/media/bbb.mp3",
			volume: 0.3,
			layout: "text-over-image",
			durationSec: 8,
			ttsUrl: null,
		});
		await call("skip");
		await paid("d-small", 5_000_00);
		const second = await waitFor(() => pushed.find((p) => p.event === "alert" && p.data.donationId === "d-small")?.data, 3000, "the small alert");
		expect(second).toMatchObject({ variationId: small.id, title: "Budi donated Rp5000", imageUrl: null, soundUrl: null, durationSec: 4 });
		await call("skip");
	});

	it("a test alert shows exactly the variation asked for", async () => {
		const { items } = await call("listVariations");
		const big = items.find((v: any) => v.name === "Big");
		const res = await call("test", { variationId: big.id });
		const alert = await waitFor(() => pushed.find((p) => p.event === "alert" && p.data.id === res.alert.id)?.data, 3000, "the test alert");
		expect(alert).toMatchObject({ type: "test", variationId: big.id, imageUrl: "/media/aaa.png", amount: 10_000_00 });
		await call("skip");
		await expect(call("test", { variationId: "missing" })).rejects.toMatchObject({ code: 404 });
	});
});
