import { newId } from "../../lib/tools/ids";
import { invalid, notFound } from "../../lib/tools/errors";
import { formatMoney } from "../../lib/domain/money";
import { defaultLook, type AlertLook, type PaidDonation } from "../../lib/domain/alerts";
import {
	chooseVariation,
	DEFAULT_TEMPLATE,
	LAYOUTS,
	MAX_VARIATIONS,
	rangeProblem,
	renderTemplate,
	unknownPlaceholders,
	type Variation,
} from "../../lib/domain/alerts/variations";
import type { UserSettings } from "../../lib/domain/user-settings";
import type { AlertsPart, Ctx, MediaFile, VariationDoc } from "./alerts.types";

/**
 * Alert variations (see lib/domain/alerts/variations.ts): the channel owner's looks, chosen by
 * amount. Stored in `alert_variations` (indexed by owner). Media are checked with the media
 * library when a variation is saved (`media.resolve`: the owner's own file of the right kind, else
 * 422 INVALID_MEDIA) and resolved again when an alert uses them, so a file deleted since then is
 * simply left out of the alert. Templates may use only `{name}`, `{amount}` and `{message}`.
 */

type Body = Partial<Omit<Variation, "id">>;

const FIELDS = {
	name: { type: "string", text: "line", min: 1, max: 60 },
	enabled: { type: "boolean" },
	minAmount: { type: "number", integer: true, min: 0, max: 1e12 },
	maxAmount: { type: "number", integer: true, min: 0, max: 1e12, nullable: true },
	template: { type: "string", text: "line", min: 1, max: 200 },
	imageMediaId: { type: "string", min: 1, max: 64, nullable: true },
	soundMediaId: { type: "string", min: 1, max: 64, nullable: true },
	volume: { type: "number", min: 0, max: 1 },
	durationSec: { type: "number", integer: true, min: 1, max: 120 },
	tts: { type: "boolean" },
	layout: { type: "enum", values: [...LAYOUTS] },
} as const;

const optional = Object.fromEntries(Object.entries(FIELDS).map(([k, rule]) => [k, { ...rule, optional: true }]));

export function variationView(v: VariationDoc) {
	return {
		id: v._id,
		name: v.name,
		enabled: v.enabled,
		minAmount: v.minAmount,
		maxAmount: v.maxAmount,
		template: v.template,
		imageMediaId: v.imageMediaId,
		soundMediaId: v.soundMediaId,
		volume: v.volume,
		durationSec: v.durationSec,
		tts: v.tts,
		layout: v.layout,
		imageUrl: v.imageUrl ?? null,
		soundUrl: v.soundUrl ?? null,
		createdAt: v.createdAt,
		updatedAt: v.updatedAt,
	};
}

const variations: AlertsPart = {
	actions: {
		listVariations: {
			rest: "GET /alerts/variations",
			auth: "required",
			async handler(ctx: Ctx) {
				const items = await this.variationsOf(ctx.meta.user!.id);
				return { items: items.map(variationView) };
			},
		},

		createVariation: {
			rest: "POST /alerts/variations",
			status: 201,
			auth: "required",
			params: { ...optional, name: FIELDS.name, minAmount: { ...FIELDS.minAmount, optional: true } },
			async handler(ctx: Ctx<Body>) {
				const ownerId = ctx.meta.user!.id;
				if ((await this.stores.alert_variations.count({ userId: ownerId })) >= MAX_VARIATIONS)
					throw invalid("name", `At most ${MAX_VARIATIONS} variations per channel`, "TOO_MANY_VARIATIONS");
				const now = new Date().toISOString();
				const doc: VariationDoc = {
					_id: newId(),
					userId: ownerId,
					name: ctx.params.name!,
					enabled: ctx.params.enabled ?? true,
					minAmount: ctx.params.minAmount ?? 0,
					maxAmount: ctx.params.maxAmount ?? null,
					template: ctx.params.template ?? DEFAULT_TEMPLATE,
					imageMediaId: ctx.params.imageMediaId ?? null,
					soundMediaId: ctx.params.soundMediaId ?? null,
					volume: ctx.params.volume ?? 1,
					durationSec: ctx.params.durationSec ?? 8,
					tts: ctx.params.tts ?? false,
					layout: ctx.params.layout ?? "image-above",
					imageUrl: null,
					soundUrl: null,
					createdAt: now,
					updatedAt: now,
				};
				await this.checkVariation(ctx, doc);
				await this.stores.alert_variations.insert(doc);
				return variationView(doc);
			},
		},

		updateVariation: {
			rest: "PATCH /alerts/variations/:id",
			auth: "required",
			params: { id: { type: "string", min: 1, max: 64 }, ...optional },
			async handler(ctx: Ctx<Body & { id: string }>) {
				const { id, ...patch } = ctx.params;
				const current = await this.ownVariation(ctx.meta.user!.id, id);
				const next: VariationDoc = { ...current, ...patch, updatedAt: new Date().toISOString() };
				await this.checkVariation(ctx, next);
				// Conditional on the version read, so two edits racing cannot mix their fields.
				const won = await this.stores.alert_variations.updateIf(
					{ _id: id, userId: current.userId, updatedAt: current.updatedAt },
					{ $set: { ...patch, imageUrl: next.imageUrl, soundUrl: next.soundUrl, updatedAt: next.updatedAt } },
				);
				if (!won) throw invalid("id", "The variation changed meanwhile: read it again", "VARIATION_CHANGED");
				return variationView(next);
			},
		},

		removeVariation: {
			rest: "DELETE /alerts/variations/:id",
			status: 204,
			auth: "required",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				const removed = await this.stores.alert_variations.removeMany({ _id: ctx.params.id, userId: ctx.meta.user!.id });
				if (!removed) throw notFound("Variation", "VARIATION_NOT_FOUND");
				return null;
			},
		},
	},

	methods: {
		variationsOf(userId: string) {
			return this.stores.alert_variations.find({ query: { userId }, sort: ["_id"], limit: MAX_VARIATIONS });
		},

		async ownVariation(userId: string, id: string) {
			const v = await this.stores.alert_variations.findById(id);
			if (!v || v.userId !== userId) throw notFound("Variation", "VARIATION_NOT_FOUND");
			return v;
		},

		/** Template, range and media checks (422 naming the field); fills in the media URLs. */
		async checkVariation(ctx: Ctx, v: VariationDoc) {
			const bad = unknownPlaceholders(v.template);
			if (bad.length)
				throw invalid("template", `Unknown placeholder ${bad.map((b) => `{${b}}`).join(", ")}: use {name}, {amount} or {message}`, "INVALID_TEMPLATE");
			const range = rangeProblem(v.minAmount, v.maxAmount);
			if (range) throw invalid("maxAmount", range, "INVALID_RANGE");
			v.imageUrl = v.imageMediaId ? (await this.ownMedia(ctx, "imageMediaId", v.imageMediaId, v.userId, "image")).url : null;
			v.soundUrl = v.soundMediaId ? (await this.ownMedia(ctx, "soundMediaId", v.soundMediaId, v.userId, "audio")).url : null;
		},

		async ownMedia(ctx: Ctx, field: string, id: string, ownerId: string, kind: "image" | "audio") {
			try {
				return await ctx.call<MediaFile, { id: string; ownerId: string; kind: string }>("media.resolve", { id, ownerId, kind });
			} catch (err) {
				const e = err as { code?: number; type?: string; message?: string };
				if (e.code === 422 || e.code === 404) throw invalid(field, `Not one of your ${kind} files`, "INVALID_MEDIA");
				throw err;
			}
		},

		async mediaRemoved(id: string, ownerId: string) {
			const now = new Date().toISOString();
			await this.stores.alert_variations.updateMany(
				{ userId: ownerId, imageMediaId: id },
				{ $set: { imageMediaId: null, imageUrl: null, updatedAt: now } },
			);
			await this.stores.alert_variations.updateMany(
				{ userId: ownerId, soundMediaId: id },
				{ $set: { soundMediaId: null, soundUrl: null, updatedAt: now } },
			);
		},

		/** The look of an alert for `amount`: its variation's (media resolved now), or the default one. */
		async lookFor(userId: string, d: PaidDonation, donorName: string, message: string, s: UserSettings, variationId?: string) {
			const all = await this.variationsOf(userId);
			const chosen = variationId
				? (all.find((v) => v._id === variationId) ?? null)
				: chooseVariation(
						all.map((v) => ({ ...v, id: v._id })),
						d.amount,
					);
			const values = { name: donorName, amount: d.formattedAmount ?? formatMoney(d.amount, d.currency), message };
			if (!chosen) return defaultLook(renderTemplate(DEFAULT_TEMPLATE, values), s);
			const url = async (id: string | null, kind: "image" | "audio") => {
				if (!id) return null;
				try {
					return (await this.broker.call<MediaFile, { id: string; ownerId: string; kind: string }>("media.resolve", { id, ownerId: userId, kind }))
						.url;
				} catch (err) {
					this.logger.warn(`Alert variation ${chosen._id}: ${kind} ${id} left out (${(err as Error).message})`);
					return null;
				}
			};
			const [imageUrl, soundUrl] = await Promise.all([url(chosen.imageMediaId, "image"), url(chosen.soundMediaId, "audio")]);
			const look: AlertLook = {
				variationId: chosen._id,
				title: renderTemplate(chosen.template, values),
				imageUrl,
				soundUrl,
				volume: chosen.volume,
				durationSec: chosen.durationSec,
				layout: chosen.layout,
				tts: chosen.tts,
			};
			return look;
		},
	},
};

export default variations;
