import { api, ApiError } from "../../lib/api";
import { freshSession } from "../../lib/session";
import { h, mount } from "../../lib/dom";
import { t } from "../../lib/i18n";
import { formatMoney } from "../../lib/money";
import { busy, field, showFieldErrors, toast } from "../../lib/ui";
import { DEFAULT_TEMPLATE, LAYOUTS, renderTemplate, unknownPlaceholders, type Variation as DomainVariation } from "../../../lib/domain/alerts/variations";
import type { Key } from "../../lib/strings";
import "../../styles/alertbox.css";

/**
 * The dashboard's alert variations editor (mounted by dashboard.ts in the Alerts tab): one card
 * per variation with its form, a live preview (the image per layout and the rendered title, the
 * sound playable) and a test button that sends exactly that look to the overlay; a "new
 * variation" form; the speech and moderation settings of the alert box; the events widget's URL.
 * Media come from the caller's own library (`GET /api/media`). Amounts are typed in major units
 * of the channel's currency and sent in minor units.
 */

/** A variation as the API lists it: the domain's shape with the media URLs resolved. */
type Variation = DomainVariation & { imageUrl: string | null; soundUrl: string | null };
interface MediaItem {
	id: string;
	kind: string;
	name?: string;
	url: string;
}
interface Settings {
	donations: { currency: string };
	alerts: { tts: boolean; ttsMinAmount: number; ttsLanguage: "id" | "en"; ttsMaxChars: number };
	moderation: { useDefaultList: boolean; linkAction: "allow" | "strip" | "hold" };
}

/** Minor units per major unit (IDR and most: 100). */
const SCALE = 100;

async function mediaOf(kind: "image" | "audio"): Promise<MediaItem[]> {
	try {
		const res = await api<{ items: MediaItem[] }>("GET", `/api/media?kind=${kind}&limit=100`, undefined, { auth: "required" });
		return res.items ?? [];
	} catch {
		return []; // no media library on this server yet: the pickers offer "none"
	}
}

function select(name: string, options: [string, string][], value: string): HTMLSelectElement {
	return h(
		"select",
		{ name },
		options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)),
	);
}

/** Uploads one file to the media library (`POST /api/media`, multipart) and answers it. */
async function uploadMedia(file: File): Promise<MediaItem> {
	const session = await freshSession();
	if (!session) throw new ApiError(401, "UNAUTHORIZED", "Sign in first");
	const form = new FormData();
	form.append("file", file, file.name);
	const res = await fetch("/api/media", { method: "POST", body: form, headers: { Authorization: `Bearer ${session.accessToken}` } });
	const body = await res.json().catch(() => null);
	if (!res.ok) throw new ApiError(res.status, body?.type ?? "UPLOAD_FAILED", body?.message ?? `Upload failed (${res.status})`, body?.data);
	return body as MediaItem;
}

/** "Upload…" beside a media picker: the new file joins the list and is picked. */
function uploader(accept: string, picker: HTMLSelectElement, list: MediaItem[], error: HTMLElement, onPicked: () => void): HTMLElement {
	const input = h("input", { type: "file", accept, name: `upload-${picker.name}`, class: "small" });
	input.addEventListener("change", () => {
		const file = input.files?.[0];
		if (!file) return;
		void busy(null, error, async () => {
			const item = await uploadMedia(file);
			list.push(item);
			picker.append(h("option", { value: item.id }, item.name ?? file.name));
			picker.value = item.id;
			input.value = "";
			onPicked();
			toast(t("alertbox.uploaded"));
		});
	});
	return h("span", { class: "upload" }, t("alertbox.upload"), " ", input);
}

function variationCard(v: Variation | null, ctx: { currency: string; images: MediaItem[]; sounds: MediaItem[]; reload: () => void }): HTMLElement {
	const error = h("p", { class: "form-error", role: "alert" });
	const name = h("input", { name: "name", value: v?.name ?? "", maxlength: "60", required: true });
	const enabled = h("input", { type: "checkbox", name: "enabled", checked: v?.enabled ?? true });
	const min = h("input", { type: "number", name: "minAmount", min: "0", step: "1", value: String((v?.minAmount ?? 0) / SCALE) });
	const max = h("input", { type: "number", name: "maxAmount", min: "0", step: "1", value: v?.maxAmount == null ? "" : String(v.maxAmount / SCALE) });
	const template = h("input", { name: "template", value: v?.template ?? DEFAULT_TEMPLATE, maxlength: "200" });
	const none: [string, string] = ["", t("alertbox.none")];
	const image = select("imageMediaId", [none, ...ctx.images.map((m): [string, string] => [m.id, m.name ?? m.id])], v?.imageMediaId ?? "");
	const sound = select("soundMediaId", [none, ...ctx.sounds.map((m): [string, string] => [m.id, m.name ?? m.id])], v?.soundMediaId ?? "");
	const volume = h("input", { type: "range", name: "volume", min: "0", max: "1", step: "0.05", value: String(v?.volume ?? 1) });
	const duration = h("input", { type: "number", name: "durationSec", min: "1", max: "120", value: String(v?.durationSec ?? 8) });
	const tts = h("input", { type: "checkbox", name: "tts", checked: v?.tts ?? false });
	const layout = select(
		"layout",
		LAYOUTS.map((l): [string, string] => [l, t(`alertbox.layout.${l}` as Key)]),
		v?.layout ?? "image-above",
	);

	// Live preview: the overlay's card markup, redrawn on every change.
	const preview = h("div", { class: "alert-preview", dataset: { preview: v?.id ?? "new" } });
	const urlOf = (list: MediaItem[], id: string) => list.find((m) => m.id === id)?.url ?? null;
	const draw = () => {
		const amount = Math.max(Number(min.value) || 0, 10_000) * SCALE;
		const bad = unknownPlaceholders(template.value);
		const title = renderTemplate(template.value, {
			name: t("alertbox.previewName"),
			amount: formatMoney(amount, ctx.currency),
			message: t("alertbox.previewMessage"),
		});
		const img = urlOf(ctx.images, image.value) ?? (image.value === v?.imageMediaId ? v?.imageUrl : null);
		const snd = urlOf(ctx.sounds, sound.value) ?? (sound.value === v?.soundMediaId ? v?.soundUrl : null);
		mount(
			preview,
			h("div", { class: "small muted" }, t("alertbox.preview")),
			h(
				"div",
				{ class: `preview-card layout-${layout.value}` },
				h(
					"div",
					{ class: "alert-body" },
					img ? h("div", { class: "alert-visual" }, h("img", { class: "alert-image", src: img, alt: "" })) : null,
					h("div", { class: "alert-text" }, h("h1", { class: "alert-title" }, title)),
				),
			),
			snd ? h("audio", { controls: true, src: snd, preload: "none" }) : null,
			bad.length ? h("p", { class: "form-error" }, `{${bad.join("}, {")}}: ${t("alertbox.templateHint")}`) : null,
		);
	};
	for (const el of [template, image, sound, layout, min]) el.addEventListener("input", draw);
	draw();

	const body = () => ({
		name: name.value.trim(),
		enabled: enabled.checked,
		minAmount: Math.round((Number(min.value) || 0) * SCALE),
		maxAmount: max.value === "" ? null : Math.round(Number(max.value) * SCALE),
		template: template.value,
		imageMediaId: image.value || null,
		soundMediaId: sound.value || null,
		volume: Number(volume.value),
		durationSec: Number(duration.value) || 8,
		tts: tts.checked,
		layout: layout.value,
	});
	const form = h(
		"form",
		{ class: "variation-form", dataset: { variation: v?.id ?? "new" } },
		field(t("alertbox.name"), name, null, "name"),
		h("label", { class: "check" }, enabled, " ", t("alertbox.enabled")),
		h("div", { class: "grid-2" }, field(t("alertbox.minAmount"), min, null, "minAmount"), field(t("alertbox.maxAmount"), max, null, "maxAmount")),
		field(t("alertbox.template"), template, t("alertbox.templateHint"), "template"),
		h(
			"div",
			{ class: "grid-2" },
			field(t("alertbox.image"), image, uploader("image/*", image, ctx.images, error, draw), "imageMediaId"),
			field(t("alertbox.sound"), sound, uploader("audio/*", sound, ctx.sounds, error, draw), "soundMediaId"),
		),
		h("div", { class: "grid-2" }, field(t("alertbox.volume"), volume, null, "volume"), field(t("alertbox.duration"), duration, null, "durationSec")),
		field(t("alertbox.layout"), layout, null, "layout"),
		h("label", { class: "check" }, tts, " ", t("alertbox.tts")),
		error,
		h(
			"div",
			{ class: "row" },
			h("button", { type: "submit", dataset: { act: "save-variation" } }, v ? t("alertbox.save") : t("alertbox.new")),
			v
				? h(
						"button",
						{
							type: "button",
							class: "secondary",
							dataset: { act: "test-variation" },
							onclick: (e: Event) =>
								void busy(e.currentTarget as HTMLButtonElement, error, async () => {
									await api("POST", "/api/alerts/test", { variationId: v.id }, { auth: "required" });
									toast(t("alertbox.tested"));
								}),
						},
						t("alertbox.test"),
					)
				: null,
			v
				? h(
						"button",
						{
							type: "button",
							class: "ghost danger",
							dataset: { act: "delete-variation" },
							onclick: (e: Event) =>
								void busy(e.currentTarget as HTMLButtonElement, error, async () => {
									await api("DELETE", `/api/alerts/variations/${v.id}`, undefined, { auth: "required" });
									ctx.reload();
								}),
						},
						t("alertbox.delete"),
					)
				: null,
		),
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		const button = form.querySelector<HTMLButtonElement>("button[type=submit]");
		void busy(button, null, async () => {
			try {
				if (v) await api("PATCH", `/api/alerts/variations/${v.id}`, body(), { auth: "required" });
				else await api("POST", "/api/alerts/variations", body(), { auth: "required" });
				toast(t("alertbox.saved"));
				ctx.reload();
			} catch (err) {
				if (!showFieldErrors(form, err)) throw err;
			}
		});
	});
	return h("article", { class: "card variation", dataset: { variationId: v?.id ?? "new" } }, h("div", { class: "grid-2" }, form, preview));
}

function speechSettings(s: Settings): HTMLElement {
	const error = h("p", { class: "form-error", role: "alert" });
	const tts = h("input", { type: "checkbox", name: "tts", checked: s.alerts.tts });
	const minAmount = h("input", { type: "number", name: "ttsMinAmount", min: "0", value: String(s.alerts.ttsMinAmount / SCALE) });
	const language = select(
		"ttsLanguage",
		[
			["id", "Bahasa Indonesia"],
			["en", "English"],
		],
		s.alerts.ttsLanguage,
	);
	const maxChars = h("input", { type: "number", name: "ttsMaxChars", min: "10", max: "500", value: String(s.alerts.ttsMaxChars) });
	const defaults = h("input", { type: "checkbox", name: "useDefaultList", checked: s.moderation.useDefaultList });
	const links = select(
		"linkAction",
		(["allow", "strip", "hold"] as const).map((a): [string, string] => [a, t(`alertbox.links.${a}`)]),
		s.moderation.linkAction,
	);
	const form = h(
		"form",
		{ class: "card alertbox-settings" },
		h("h3", null, t("alertbox.settings")),
		h("label", { class: "check" }, tts, " ", t("alertbox.ttsAll")),
		h(
			"div",
			{ class: "grid-2" },
			field(t("alertbox.ttsMin"), minAmount, null, "settings.alerts.ttsMinAmount"),
			field(t("alertbox.ttsLanguage"), language, null, "settings.alerts.ttsLanguage"),
		),
		field(t("alertbox.ttsMaxChars"), maxChars, null, "settings.alerts.ttsMaxChars"),
		h("label", { class: "check" }, defaults, " ", t("alertbox.defaultList")),
		field(t("alertbox.links"), links, null, "settings.moderation.linkAction"),
		error,
		h("button", { type: "submit", dataset: { act: "save-alertbox-settings" } }, t("alertbox.save")),
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		void busy(form.querySelector("button"), error, async () => {
			await api(
				"PATCH",
				"/api/users/me",
				{
					settings: {
						alerts: {
							tts: tts.checked,
							ttsMinAmount: Math.round((Number(minAmount.value) || 0) * SCALE),
							ttsLanguage: language.value,
							ttsMaxChars: Number(maxChars.value) || 200,
						},
						moderation: { useDefaultList: defaults.checked, linkAction: links.value },
					},
				},
				{ auth: "required" },
			);
			toast(t("alertbox.saved"));
		});
	});
	return form;
}

/** The section, loaded; `overlayToken` gives the events widget's URL. */
export async function variationsSection(overlayToken: string): Promise<HTMLElement> {
	const section = h("section", { class: "alertbox", dataset: { section: "variations" } });
	const load = async () => {
		const [list, me, images, sounds] = await Promise.all([
			api<{ items: Variation[] }>("GET", "/api/alerts/variations", undefined, { auth: "required" }),
			api<{ settings: Settings }>("GET", "/api/auth/me", undefined, { auth: "required" }),
			mediaOf("image"),
			mediaOf("audio"),
		]);
		const ctx = { currency: me.settings.donations.currency, images, sounds, reload: () => void load() };
		const eventsUrl = `${location.origin}/overlay/events?token=${encodeURIComponent(overlayToken)}`;
		mount(
			section,
			h("h2", null, t("alertbox.title")),
			h("p", { class: "small muted" }, t("alertbox.hint")),
			list.items.length === 0 ? h("p", { class: "muted variations-empty" }, t("alertbox.empty")) : null,
			list.items.map((v) => variationCard(v, ctx)),
			h("h3", null, t("alertbox.new")),
			variationCard(null, ctx),
			speechSettings(me.settings),
			h("p", { class: "small muted" }, t("alertbox.eventsUrl"), ": ", h("code", { dataset: { url: "events" } }, eventsUrl)),
		);
	};
	await load();
	return section;
}
