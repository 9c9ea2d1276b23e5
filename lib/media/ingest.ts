import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { Errors } from "moleculer";
import { imageSize } from "image-size";
import { parseFile } from "music-metadata";
import { formatOf, type MediaFormat } from "../domain/media/formats";
import { newId } from "../tools/ids";

/**
 * Reading one upload: its bytes go to a spool file while they are hashed, the type is read from
 * the first bytes (`file-type`), the size limit of that kind applies as the bytes arrive, and the
 * image dimensions or the sound's duration are read from the finished file. Any refusal removes
 * the spool file before answering: nothing of a refused upload stays.
 */

/** file-type is an ES module with no CommonJS typings entry: its own declarations, loaded on first use. */
type FileTypeModule = typeof import("file-type/source/index.js");
const FILE_TYPE = "file-type";
let fileTypeModule: Promise<FileTypeModule> | null = null;
function fileType(): Promise<FileTypeModule> {
	fileTypeModule ??= import(FILE_TYPE) as Promise<FileTypeModule>;
	return fileTypeModule;
}

/** Bytes file-type looks at to recognise a format. */
const HEAD_BYTES = 4100;

export interface Probed {
	format: MediaFormat;
	hash: string;
	size: number;
	width?: number;
	height?: number;
	durationSec?: number;
}

export function tooLarge(limit: number) {
	return new Errors.MoleculerClientError(`The file is larger than ${limit} bytes`, 413, "PAYLOAD_TOO_LARGE", { limit });
}
export function unsupported(message = "Only PNG, JPEG, GIF and WebP images, MP3, OGG and WAV sounds and WebM and MP4 videos are accepted") {
	return new Errors.MoleculerClientError(message, 415, "UNSUPPORTED_MEDIA_TYPE");
}

async function detect(data: Buffer): Promise<MediaFormat | null | undefined> {
	const found = await (await fileType()).fileTypeFromBuffer(data);
	return found ? formatOf(found.mime) : undefined;
}

/**
 * Spools `stream` into `dir` and checks it; answers what was found, with the spool file ready for
 * MediaStore.putFile. `limitOf` is the byte limit of a format (the largest applies until the type
 * is known). Throws 413/415 (the spool file removed) for what is refused.
 */
export async function spoolUpload(stream: Readable, dir: string, limitOf: (format: MediaFormat | null) => number): Promise<{ file: string; probed: Probed }> {
	await fsp.mkdir(dir, { recursive: true });
	const file = path.join(dir, `${newId()}.part`);
	const out = fs.createWriteStream(file, { flags: "wx" });
	// The file is opened asynchronously: a refusal before the open finished must wait for it (and
	// the close), or the open would create the file after it was removed.
	const closed = new Promise<void>((resolve) => out.once("close", () => resolve()));
	const hash = createHash("sha256");
	let size = 0;
	let head: Buffer[] = [];
	let headLen = 0;
	let format: MediaFormat | null | undefined;
	try {
		try {
			// Not destroyed when reading stops early: a destroyed part stream would make the gateway
			// answer its AbortError instead of this refusal. The rest of the part is drained below.
			for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
				if (format === undefined && headLen < HEAD_BYTES) {
					head.push(chunk);
					headLen += chunk.length;
					if (headLen >= HEAD_BYTES) {
						format = await detect(Buffer.concat(head));
						head = [];
						// Recognised and not accepted (HTML, SVG, a PDF…): no need to read the rest.
						if (format === null) throw unsupported();
					}
				}
				size += chunk.length;
				const limit = limitOf(format ?? null);
				if (size > limit) throw tooLarge(limit);
				hash.update(chunk);
				if (!out.write(chunk)) await new Promise<void>((resolve, reject) => out.once("drain", resolve).once("error", reject));
			}
		} finally {
			stream.resume();
		}
		await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
		// Short files, and formats recognised only past their first bytes (an MP3 after a long ID3 tag).
		if (!format) {
			const found = await (await fileType()).fileTypeFromFile(file);
			format = found ? formatOf(found.mime) : null;
		}
		if (!format) throw unsupported();
		const limit = limitOf(format);
		if (size > limit) throw tooLarge(limit);
		const probed: Probed = { format, hash: hash.digest("hex"), size, ...(await readProperties(file, format)) };
		return { file, probed };
	} catch (err) {
		out.destroy();
		await closed;
		await fsp.rm(file, { force: true });
		throw err;
	}
}

/** image-size finds the dimensions of every accepted image within its first bytes (a JPEG's frame header may follow large metadata). */
const IMAGE_HEAD_BYTES = 512 * 1024;

async function readHead(file: string, bytes: number): Promise<Buffer> {
	const fh = await fsp.open(file, "r");
	try {
		const buf = Buffer.alloc(bytes);
		const { bytesRead } = await fh.read(buf, 0, bytes, 0);
		return buf.subarray(0, bytesRead);
	} finally {
		await fh.close();
	}
}

/** Width and height of an image, duration of a sound or video; a file that does not parse as its type is refused. */
async function readProperties(file: string, format: MediaFormat): Promise<Pick<Probed, "width" | "height" | "durationSec">> {
	if (format.kind === "image") {
		const dim = await readHead(file, IMAGE_HEAD_BYTES).then((head) => {
			try {
				return imageSize(head);
			} catch {
				return null;
			}
		});
		if (!dim?.width || !dim.height) throw unsupported(`The ${format.ext.toUpperCase()} image could not be read`);
		return { width: dim.width, height: dim.height };
	}
	const meta = await parseFile(file, { duration: true, skipCovers: true }).catch(() => null);
	if (!meta) throw unsupported(`The ${format.ext.toUpperCase()} file could not be read`);
	// A video-only MP4 has no audio track to take the duration from: its longest track's.
	const tracks = (meta.format.trackInfo ?? []).map((t) => (t as { duration?: number }).duration ?? 0);
	const d = meta.format.duration ?? (tracks.length ? Math.max(...tracks) : undefined);
	return d !== undefined && Number.isFinite(d) ? { durationSec: Math.round(d * 1000) / 1000 } : {};
}

/** Properties of generated bytes (server-side speech): the same checks, from memory. */
export async function probeBytes(data: Buffer): Promise<MediaFormat | null> {
	return (await detect(data.subarray(0, HEAD_BYTES))) ?? null;
}
