import { api, ApiError } from "../../lib/api";
import { h, mount } from "../../lib/dom";
import { t } from "../../lib/i18n";
import { freshSession } from "../../lib/session";
import { busy, errorText, toast } from "../../lib/ui";
import type { MediaView } from "../../../lib/domain/media/formats";

/**
 * The dashboard's media library: upload an image, sound or video (with progress), see each file
 * (image shown, sound and video playable), use an image as the avatar, delete, and the quota used.
 * Files come from this origin (`/media/…`), so the page's `img-src 'self'` policy holds.
 */

export type MediaItem = MediaView;

interface MediaPage {
	items: MediaItem[];
	nextCursor: string | null;
	usedBytes: number;
	quotaBytes: number;
}

const ACCEPT = "image/png,image/jpeg,image/gif,image/webp,audio/mpeg,audio/ogg,audio/wav,video/webm,video/mp4";

function bytes(n: number): string {
	if (n < 1024) return `${n} B`;
	if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
	return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** POST /api/media with upload progress (fetch reports none), refreshing the token first. */
async function upload(file: File, onProgress: (fraction: number) => void): Promise<MediaItem> {
	const session = await freshSession();
	if (!session) throw new ApiError(401, "UNAUTHORIZED", "Sign in first");
	const form = new FormData();
	form.append("file", file, file.name);
	return new Promise((resolve, reject) => {
		const xhr = new XMLHttpRequest();
		xhr.open("POST", "/api/media");
		xhr.setRequestHeader("Authorization", `Bearer ${session.accessToken}`);
		xhr.setRequestHeader("Accept", "application/json");
		xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
		xhr.onerror = () => reject(new ApiError(0, "NETWORK", "Network error"));
		xhr.onload = () => {
			let body: { type?: string; message?: string; data?: unknown } | null = null;
			try {
				body = JSON.parse(xhr.responseText);
			} catch {
				body = null;
			}
			if (xhr.status === 201) return resolve(body as unknown as MediaItem);
			const type = body?.type ?? `HTTP_${xhr.status}`;
			reject(new ApiError(xhr.status, type, uploadError(xhr.status, type) ?? body?.message ?? xhr.statusText, body?.data));
		};
		xhr.send(form);
	});
}

function uploadError(status: number, type: string): string | null {
	if (status === 413) return t("media.tooLarge");
	if (type === "UNSUPPORTED_MEDIA_TYPE") return t("media.unsupported");
	if (type === "QUOTA_EXCEEDED") return t("media.quotaFull");
	return null;
}

function preview(m: MediaItem): HTMLElement {
	if (m.kind === "image") return h("img", { src: m.url, alt: m.name, loading: "lazy", class: "media-thumb" });
	if (m.kind === "audio") return h("audio", { src: m.url, controls: true, preload: "metadata", class: "media-audio" });
	return h("video", { src: m.url, controls: true, preload: "metadata", muted: true, class: "media-thumb" });
}

function details(m: MediaItem): string {
	const parts = [bytes(m.size)];
	if (m.width && m.height) parts.push(`${m.width}×${m.height}`);
	if (m.durationSec !== undefined) parts.push(`${m.durationSec.toFixed(1)} s`);
	return parts.join(" · ");
}

/** Renders the media library into `panel`; `onAvatar` is told the new avatar url. */
export async function mediaLibrary(panel: HTMLElement, onAvatar: (url: string) => void): Promise<void> {
	const page = await api<MediaPage>("GET", "/api/media?limit=100", undefined, { auth: "required" });
	const items = [...page.items];
	let used = page.usedBytes;
	const quota = page.quotaBytes;

	const list = h("ul", { class: "media-list" });
	const meter = h("progress", { class: "media-quota", max: String(quota), value: String(used) });
	const usedText = h("span", { class: "muted small media-used" });
	const input = h("input", { type: "file", name: "file", accept: ACCEPT, class: "media-file" });
	const progress = h("progress", { class: "media-progress", max: "1", value: "0", hidden: true });
	const error = h("p", { class: "error media-error", "aria-live": "polite" });

	const refreshQuota = () => {
		meter.value = used;
		usedText.textContent = t("media.used", { used: bytes(used), quota: bytes(quota) });
	};

	const row = (m: MediaItem) => {
		const del = h("button", { type: "button", class: "small ghost media-delete" }, t("media.delete"));
		del.addEventListener("click", () =>
			busy(del, error, async () => {
				await api("DELETE", `/api/media/${encodeURIComponent(m.id)}`, undefined, { auth: "required" });
				items.splice(items.indexOf(m), 1);
				used = Math.max(0, used - m.size);
				render();
			}),
		);
		const avatar =
			m.kind === "image"
				? h(
						"button",
						{
							type: "button",
							class: "small ghost media-avatar",
							onclick: (e: Event) =>
								busy(e.currentTarget as HTMLButtonElement, error, async () => {
									const me = await api<{ avatarUrl: string }>("PATCH", "/api/users/me", { avatarMediaId: m.id }, { auth: "required" });
									onAvatar(me.avatarUrl);
									toast(t("media.avatarSet"));
								}),
						},
						t("media.useAsAvatar"),
					)
				: null;
		return h(
			"li",
			{ class: "media-item card", dataset: { id: m.id, kind: m.kind } },
			preview(m),
			h("div", { class: "media-meta" }, h("strong", { class: "break" }, m.name), h("div", { class: "muted small" }, details(m))),
			h("div", { class: "row" }, avatar, del),
		);
	};

	const render = () => {
		refreshQuota();
		mount(list, items.length ? items.map(row) : h("li", { class: "muted media-empty" }, t("media.empty")));
	};

	input.addEventListener("change", async () => {
		const file = input.files?.[0];
		if (!file) return;
		error.textContent = "";
		progress.hidden = false;
		progress.value = 0;
		input.disabled = true;
		try {
			const m = await upload(file, (f) => (progress.value = f));
			items.unshift(m);
			used += m.size;
			render();
			toast(t("media.uploaded"));
		} catch (err) {
			error.textContent = errorText(err);
		} finally {
			progress.hidden = true;
			input.disabled = false;
			input.value = "";
		}
	});

	mount(
		panel,
		h(
			"section",
			{ class: "card stack media-library" },
			h("h2", null, t("media.title")),
			h("p", { class: "muted small" }, t("media.hint")),
			h("label", { class: "field" }, h("span", null, t("media.upload")), input),
			progress,
			error,
			h("div", { class: "stack" }, meter, usedText),
		),
		list,
	);
	render();
}
