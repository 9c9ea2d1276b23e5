import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Errors } from "moleculer";
import type { ApiRouteSchema } from "moleculer-web";
import { loadConfig } from "../../lib/config";
import type { MediaConfig } from "../../lib/config/media";
import { openMediaStore, type MediaStore } from "../../lib/media";
import { BlobCache } from "../../lib/media/cache";
import { parseMediaFileName, parseRange } from "../../lib/domain/media/formats";

/**
 * `GET /media/<sha256>.<ext>`: the media library's files, read by this gateway straight from the
 * media store (lib/media). A content address never changes its bytes, so the answer is cached for a
 * year (`immutable`), its ETag is the hash (`If-None-Match` → 304), and `Range` asks for part of
 * it (206; 416 outside the file). The Content-Type is the one read from the bytes at upload,
 * `nosniff` keeps browsers to it, and the answer carries a sandboxing CSP: never a page.
 */

type Req = IncomingMessage & { $params?: Record<string, unknown> };
interface Holder {
	mediaFiles?: Promise<MediaStore>;
	mediaCache?: BlobCache;
}

/** This gateway's media store, opened on first use, and its cache of recently served files. */
function storeOf(holder: Holder): Promise<MediaStore> {
	if (!holder.mediaFiles) {
		const cfg = loadConfig().media;
		holder.mediaCache = new BlobCache(cfg.cacheBytes);
		holder.mediaFiles = openMediaStore(cfg).catch((err) => {
			holder.mediaFiles = undefined;
			throw err;
		});
	}
	return holder.mediaFiles;
}

/** The whole blob, from the cache or read once from the store into it (null: gone, or too large to cache). */
async function cachedBlob(holder: Holder, store: MediaStore, key: string, size: number): Promise<Buffer | null> {
	const cache = holder.mediaCache;
	if (!cache || size > cache.maxEntryBytes) return null;
	const hit = cache.get(key);
	if (hit && hit.length === size) return hit;
	const body = await store.get(key);
	if (!body) return null;
	const parts: Buffer[] = [];
	for await (const chunk of body) parts.push(chunk as Buffer);
	const data = Buffer.concat(parts);
	if (data.length !== size) return null;
	cache.set(key, data);
	return data;
}

/** Closes the gateway's media store, if it opened one (the gateway's `stopped`). */
export async function closeMediaFiles(holder: object): Promise<void> {
	const h = holder as Holder;
	const open = h.mediaFiles;
	h.mediaFiles = undefined;
	h.mediaCache = undefined;
	if (open) await (await open.catch(() => null))?.close();
}

/** Room for the multipart framing around the file (boundaries, part headers, a name field). */
const FORM_OVERHEAD = 64 * 1024;

/**
 * Before a multipart alias reads anything (the /api route's onBeforeCall): a body that is not a
 * form is a 415 (busboy would throw on it), and a declared length no file could fit in a 413 at once.
 */
export function checkUpload(req: IncomingMessage, alias: { type?: string } | undefined, cfg: MediaConfig): void {
	if (alias?.type !== "multipart") return;
	if (!/^multipart\/form-data\s*;\s*boundary=/i.test(req.headers["content-type"] ?? "")) {
		throw new Errors.MoleculerClientError("Send the file as multipart/form-data in the field 'file'", 415, "UNSUPPORTED_MEDIA_TYPE");
	}
	const limit = Math.max(cfg.maxBytes, cfg.maxVideoBytes) + FORM_OVERHEAD;
	const declared = Number(req.headers["content-length"]);
	if (Number.isFinite(declared) && declared > limit) {
		throw new Errors.MoleculerClientError(`The file is larger than ${limit - FORM_OVERHEAD} bytes`, 413, "PAYLOAD_TOO_LARGE", {
			limit: limit - FORM_OVERHEAD,
		});
	}
}

function answerJson(res: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}) {
	const body = JSON.stringify({ name: type === "NOT_FOUND" ? "NotFoundError" : "Error", message, code: status, type });
	res.writeHead(status, {
		"Content-Type": "application/json; charset=utf-8",
		"Content-Length": Buffer.byteLength(body),
		"Cache-Control": "no-store",
		...headers,
	});
	res.end(body);
}

async function serve(holder: Holder, req: Req, res: ServerResponse) {
	const name = String(req.$params?.file ?? "");
	const parsed = parseMediaFileName(name);
	if (!parsed) return answerJson(res, 404, "NOT_FOUND", "Media file not found");
	const store = await storeOf(holder);
	const key = name;
	const stat = await store.stat(key);
	if (!stat) return answerJson(res, 404, "NOT_FOUND", "Media file not found");
	const etag = `"${parsed.hash}"`;
	res.setHeader("Content-Type", parsed.contentType);
	res.setHeader("X-Content-Type-Options", "nosniff");
	res.setHeader("Cache-Control", "public, max-age=31536000, immutable");
	res.setHeader("ETag", etag);
	res.setHeader("Accept-Ranges", "bytes");
	res.setHeader("Content-Security-Policy", "default-src 'none'; sandbox");
	const inm = req.headers["if-none-match"];
	if (typeof inm === "string" && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag || t.trim() === "*")) {
		res.writeHead(304);
		return res.end();
	}
	let range = parseRange(req.headers.range, stat.size);
	// If-Range with another validator: the whole file.
	const ifRange = req.headers["if-range"];
	if (range && typeof ifRange === "string" && ifRange !== etag) range = null;
	if (range === "unsatisfiable") {
		res.removeHeader("Content-Type");
		return answerJson(res, 416, "RANGE_NOT_SATISFIABLE", "The range is outside the file", { "Content-Range": `bytes */${stat.size}` });
	}
	const length = range ? range.end - range.start + 1 : stat.size;
	if (range) res.setHeader("Content-Range", `bytes ${range.start}-${range.end}/${stat.size}`);
	res.setHeader("Content-Length", String(length));
	if (req.method === "HEAD") {
		res.writeHead(range ? 206 : 200);
		return res.end();
	}
	const whole = await cachedBlob(holder, store, key, stat.size);
	if (whole) {
		res.writeHead(range ? 206 : 200);
		return res.end(range ? whole.subarray(range.start, range.end + 1) : whole);
	}
	const body = await store.get(key, range ?? undefined);
	if (!body) return answerJson(res, 404, "NOT_FOUND", "Media file not found");
	res.writeHead(range ? 206 : 200);
	await pipeline(body, res).catch(() => res.destroy());
}

function handler(this: Holder, req: Req, res: ServerResponse, next: (err?: unknown) => void) {
	serve(this, req, res).catch(next);
}

/** The moleculer-web route serving /media (beside /api and the pages). */
export function mediaFileRoutes(): ApiRouteSchema[] {
	return [
		{
			path: "/media",
			mappingPolicy: "restrict",
			authentication: false,
			authorization: false,
			bodyParsers: { json: false, urlencoded: false },
			aliases: { "GET /:file": handler, "HEAD /:file": handler },
		},
	];
}
