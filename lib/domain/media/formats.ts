/**
 * What the media library accepts, by the type read from a file's bytes (never its name or the
 * part's header): PNG, JPEG, GIF and WebP images; MP3, OGG and WAV sounds; WebM and MP4 videos.
 * SVG, HTML and everything else is refused: served from our origin, a script inside would run as
 * MediaShar. Each accepted type has one file extension, so a content address `<sha256>.<ext>`
 * names the bytes and the Content-Type they are served with.
 */

export type MediaKind = "image" | "audio" | "video";
export const MEDIA_KINDS: readonly MediaKind[] = ["image", "audio", "video"];

/** A file of the media library as the API answers it (POST /api/media, GET /api/media items). */
export interface MediaView {
	id: string;
	kind: MediaKind;
	contentType: string;
	size: number;
	name: string;
	url: string;
	width?: number;
	height?: number;
	durationSec?: number;
	createdAt: string;
}

export interface MediaFormat {
	kind: MediaKind;
	contentType: string;
	ext: string;
}

/** By the MIME type `file-type` reports. */
const FORMATS: Record<string, MediaFormat> = {
	"image/png": { kind: "image", contentType: "image/png", ext: "png" },
	"image/apng": { kind: "image", contentType: "image/png", ext: "png" },
	"image/jpeg": { kind: "image", contentType: "image/jpeg", ext: "jpg" },
	"image/gif": { kind: "image", contentType: "image/gif", ext: "gif" },
	"image/webp": { kind: "image", contentType: "image/webp", ext: "webp" },
	"audio/mpeg": { kind: "audio", contentType: "audio/mpeg", ext: "mp3" },
	"audio/ogg": { kind: "audio", contentType: "audio/ogg", ext: "ogg" },
	"audio/ogg; codecs=opus": { kind: "audio", contentType: "audio/ogg", ext: "ogg" },
	"audio/opus": { kind: "audio", contentType: "audio/ogg", ext: "ogg" },
	"audio/wav": { kind: "audio", contentType: "audio/wav", ext: "wav" },
	"audio/vnd.wave": { kind: "audio", contentType: "audio/wav", ext: "wav" },
	"audio/x-wav": { kind: "audio", contentType: "audio/wav", ext: "wav" },
	"video/webm": { kind: "video", contentType: "video/webm", ext: "webm" },
	"audio/webm": { kind: "video", contentType: "video/webm", ext: "webm" },
	"video/mp4": { kind: "video", contentType: "video/mp4", ext: "mp4" },
	"audio/mp4": { kind: "audio", contentType: "audio/mp4", ext: "m4a" },
};

/** The accepted format of a detected MIME type, or null (refused: 415). */
export function formatOf(detectedMime: string | undefined): MediaFormat | null {
	return (detectedMime && FORMATS[detectedMime.toLowerCase()]) || null;
}

/** Content-Type for a stored file's extension (what the gateway serves), or null for anything else. */
const BY_EXT: Record<string, string> = Object.fromEntries(Object.values(FORMATS).map((f) => [f.ext, f.contentType]));
export function contentTypeOfExt(ext: string): string | null {
	return BY_EXT[ext.toLowerCase()] ?? null;
}

/** A content address as served: 64 lower-case hex digits, a dot, an accepted extension. */
const FILE_NAME = /^([0-9a-f]{64})\.([a-z0-9]{2,5})$/;
export function parseMediaFileName(name: string): { hash: string; ext: string; contentType: string } | null {
	const m = FILE_NAME.exec(name);
	if (!m) return null;
	const contentType = contentTypeOfExt(m[2]);
	return contentType ? { hash: m[1], ext: m[2], contentType } : null;
}

export function mediaUrl(hash: string, ext: string): string {
	return `/media/${hash}.${ext}`;
}

/** The size limit of a kind: videos have their own. */
export function maxBytesOf(kind: MediaKind, limits: { maxBytes: number; maxVideoBytes: number }): number {
	return kind === "video" ? limits.maxVideoBytes : limits.maxBytes;
}

/** Whether an owner already using `used` bytes may add `size` more under `quota`. */
export function fitsQuota(used: number, size: number, quota: number): boolean {
	return used + size <= quota;
}

/**
 * One byte range of a `Range` header against a file of `size` bytes (RFC 9110 §14): `{start, end}`
 * inclusive, "unsatisfiable" (416), or null when the header is absent, malformed or asks for
 * several ranges (answered with the whole file, as the RFC allows).
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | "unsatisfiable" | null {
	if (!header) return null;
	const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	if (!m || (m[1] === "" && m[2] === "")) return null;
	if (m[1] === "") {
		const suffix = Number(m[2]);
		if (suffix === 0) return "unsatisfiable";
		return { start: Math.max(0, size - suffix), end: size - 1 };
	}
	const start = Number(m[1]);
	const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
	if (start >= size || end < start) return "unsatisfiable";
	return { start, end };
}
