import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { Context, ServiceSchema } from "moleculer";
import { Errors } from "moleculer";
import { DbMixin, type Collection, type DbThis } from "../../mixins/db.mixin";
import { SweeperMixin } from "../../mixins/sweeper.mixin";
import { loadConfig } from "../../lib/config";
import type { MediaConfig } from "../../lib/config/media";
import { openMediaStore, type MediaStore } from "../../lib/media";
import { probeBytes, spoolUpload, unsupported } from "../../lib/media/ingest";
import { fitsQuota, maxBytesOf, MEDIA_KINDS, mediaUrl, type MediaFormat, type MediaKind, type MediaView } from "../../lib/domain/media/formats";
import { idFloor, newId } from "../../lib/tools/ids";
import { forbidden, invalid, notFound } from "../../lib/tools/errors";
import type { GatewayMeta } from "../../types/moleculer";

/**
 * The media library: a streamer's own images, sounds and videos (alert images, alert sounds,
 * avatars), and the audio the server renders (text-to-speech).
 *
 * Rules: the type is read from the bytes (lib/media/ingest.ts), never from the name; limits per
 * kind and a quota per owner (lib/config/media.ts); a refused upload keeps nothing (its spool
 * file is removed before the answer). Bytes are content-addressed in a MediaStore
 * (lib/media/store.ts: files under DATA_DIR/media, or a NATS Object Store in a cluster): the same
 * bytes are stored once, however many documents point at them, and the blob goes when the last
 * document that points at it does. The gateway serves blobs by their address (`/media/<sha256>.<ext>`).
 *
 * Crash recovery: a document is written (status "pending") before its blob and marked "ready"
 * after, so a blob never exists that no document accounts for longer than a request; a pending
 * document left by a crash is never listed nor resolved, and the `abandoned-uploads` sweep (on
 * start and every 10 minutes) removes it after an hour, with its quota and blob, and the spool
 * files a crash left. The quota is a counter moved by conditional updates (`media_usage`), so
 * two uploads racing cannot both pass a quota that only one fits.
 */

export interface MediaDoc {
	_id: string;
	ownerId: string;
	kind: MediaKind;
	contentType: string;
	/** The blob's content address `<sha256>.<ext>` in the store. */
	key: string;
	hash: string;
	ext: string;
	size: number;
	name: string;
	width?: number;
	height?: number;
	durationSec?: number;
	status: "pending" | "ready";
	/** Server-rendered audio: not listed, not in the quota; one document per owner and blob. */
	generated?: true;
	/** `<ownerId>:<key>` of generated files (unique). */
	genKey?: string;
	createdAt: string;
}

interface UsageDoc {
	_id: string;
	bytes: number;
}

type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

interface Local extends DbThis<MediaDoc, { media_usage: Collection<UsageDoc> }> {
	cfg: MediaConfig;
	blobs: MediaStore;
}

interface Methods {
	toView(doc: MediaDoc): MediaView;
	/** Reserves `size` bytes of the owner's quota (422 QUOTA_EXCEEDED when they do not fit). */
	reserve(ownerId: string, size: number): Promise<void>;
	release(ownerId: string, size: number): Promise<void>;
	/** Records a document and stores its blob; the document is ready when the blob is. */
	commit(doc: MediaDoc, put: () => Promise<void>): Promise<MediaDoc>;
	/** Removes the blob when no document points at it any more. */
	dropBlobIfUnused(key: string): Promise<void>;
	/** What a crash mid-upload left: pending documents (their quota and blob) and spool files, older than an hour. */
	sweepAbandoned(): Promise<void>;
}

type MediaService = Local & Methods;

/** An upload takes seconds (BODY_TIMEOUT_MS); anything pending or spooled for an hour was left by a crash. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;
const SWEEP_EVERY_MS = 10 * 60 * 1000;

type UploadParams = { $fieldname?: string; $filename?: string; $encoding?: string; $mimetype?: string; name?: string };
type ResolveParams = { id: string; ownerId: string; kind?: MediaKind };
type GeneratedParams = { ownerId: string; data: unknown; contentType: string; name: string };

const KIND_RULE = { type: "enum", values: [...MEDIA_KINDS] } as const;

function invalidMedia(message = "No such media file of yours") {
	return new Errors.MoleculerClientError(message, 422, "INVALID_MEDIA");
}

/** A file name as shown in the library: its last path segment, trimmed, at most 200 characters. */
function displayName(raw: string | undefined, format: MediaFormat): string {
	const base = (raw ?? "")
		.split(/[\\/]/)
		.pop()!
		.replace(/\p{Cc}/gu, "")
		.trim();
	return (base || `${format.kind}.${format.ext}`).slice(0, 200);
}

/** Bytes as they arrive: a Buffer locally, `{type: "Buffer", data}` through the JSON serializer, or base64. */
function toBuffer(data: unknown): Buffer | null {
	if (Buffer.isBuffer(data)) return data;
	if (data instanceof Uint8Array) return Buffer.from(data);
	if (typeof data === "string") return Buffer.from(data, "base64");
	const d = data as { type?: string; data?: number[] } | null;
	if (d && d.type === "Buffer" && Array.isArray(d.data)) return Buffer.from(d.data);
	return null;
}

const schema: ServiceSchema<{ rest: string }, Methods, Local> = {
	name: "media",
	settings: { rest: "/" },
	mixins: [
		DbMixin("media", [{ fields: ["ownerId", "_id"] }, { fields: "key" }, { fields: "genKey", unique: true, sparse: true }], {
			media_usage: [],
		}) as Partial<ServiceSchema>,
		SweeperMixin<MediaService>({ name: "abandoned-uploads", everyMs: () => SWEEP_EVERY_MS, onBrokerStarted: true, run: (svc) => svc.sweepAbandoned() }),
	],

	/** The upload's busboy limits and concurrency come from lib/config/media.ts when the service is created. */
	merged(merged) {
		const cfg = loadConfig().media;
		const upload = (merged.actions as Record<string, { rest: Record<string, unknown>; bulkhead?: unknown }>).upload;
		upload.rest = {
			...upload.rest,
			busboyConfig: { limits: { files: 1, fields: 5, parts: 6, fileSize: Math.max(cfg.maxBytes, cfg.maxVideoBytes) + 1 } },
		};
		// A few uploads at a time per node: the others wait (TCP holds their bytes back), so a burst
		// of uploads cannot take the event loop from every other request of the node.
		upload.bulkhead = { enabled: true, concurrency: cfg.uploadConcurrency, maxQueueSize: 200 };
	},

	actions: {
		/** Upload one file (multipart/form-data, field `file`): 201 the stored file. */
		upload: {
			rest: { method: "POST", path: "/media", type: "multipart" },
			status: 201,
			auth: "required",
			params: {
				$fieldname: { type: "string", optional: true },
				$filename: { type: "string", optional: true },
				$encoding: { type: "string", optional: true },
				$mimetype: { type: "string", optional: true },
				name: { type: "string", text: "line", max: 200, optional: true },
			},
			async handler(ctx: Ctx<UploadParams>) {
				const ownerId = ctx.meta.user!.id;
				const stream = (ctx as unknown as { stream?: Readable | null }).stream;
				if (!stream) throw unsupported("Send the file as multipart/form-data in the field 'file'");
				if (ctx.params.$fieldname !== "file") {
					stream.resume();
					throw invalid("file", "The file must be sent in the field 'file'");
				}
				const { file, probed } = await spoolUpload(stream, this.blobs.spoolDir, (f) =>
					f ? maxBytesOf(f.kind, this.cfg) : Math.max(this.cfg.maxBytes, this.cfg.maxVideoBytes),
				);
				try {
					await this.reserve(ownerId, probed.size);
				} catch (err) {
					await fsp.rm(file, { force: true });
					throw err;
				}
				const { format } = probed;
				const doc: MediaDoc = {
					_id: newId(),
					ownerId,
					kind: format.kind,
					contentType: format.contentType,
					key: `${probed.hash}.${format.ext}`,
					hash: probed.hash,
					ext: format.ext,
					size: probed.size,
					name: displayName(ctx.params.name ?? ctx.params.$filename, format),
					...(probed.width !== undefined ? { width: probed.width, height: probed.height } : {}),
					...(probed.durationSec !== undefined ? { durationSec: probed.durationSec } : {}),
					status: "pending",
					createdAt: new Date().toISOString(),
				};
				try {
					return this.toView(await this.commit(doc, () => this.blobs.putFile(file, doc.key)));
				} catch (err) {
					await fsp.rm(file, { force: true });
					await this.release(ownerId, probed.size);
					throw err;
				}
			},
		},

		/** The caller's own files, newest first. */
		list: {
			rest: "GET /media",
			auth: "required",
			params: {
				kind: { ...KIND_RULE, optional: true },
				limit: { type: "number", integer: true, min: 1, max: 100, optional: true, convert: true },
				cursor: { type: "string", max: 64, optional: true },
			},
			async handler(ctx: Ctx<{ kind?: MediaKind; limit?: number; cursor?: string }>) {
				const query: Record<string, unknown> = { ownerId: ctx.meta.user!.id, status: "ready", generated: { $ne: true } };
				if (ctx.params.kind) query.kind = ctx.params.kind;
				const page = await this.store.page(query, { limit: ctx.params.limit, cursor: ctx.params.cursor });
				const usage = await this.stores.media_usage.findById(ctx.meta.user!.id);
				return {
					items: page.items.map((d) => this.toView(d)),
					nextCursor: page.nextCursor,
					usedBytes: Math.max(0, usage?.bytes ?? 0),
					quotaBytes: this.cfg.quotaBytes,
				};
			},
		},

		/** Delete one of the caller's files (204): its url stops serving once no other file has the same bytes. */
		remove: {
			rest: "DELETE /media/:id",
			status: 204,
			auth: "required",
			params: { id: { type: "string", min: 1, max: 64 } },
			async handler(ctx: Ctx<{ id: string }>) {
				const doc = await this.store.findById(ctx.params.id);
				if (!doc || doc.generated) throw notFound("Media file");
				if (doc.ownerId !== ctx.meta.user!.id) throw forbidden("This file belongs to someone else");
				const removed = await this.store.removeMany({ _id: doc._id });
				if (removed > 0) {
					await this.release(doc.ownerId, doc.size);
					await this.dropBlobIfUnused(doc.key);
					// Who points at a file (avatars, alert variations) lets go of it here; the owner may
					// still have the same bytes under another file, which keeps the url working.
					const ownerStillHas = (await this.store.count({ ownerId: doc.ownerId, key: doc.key })) > 0;
					ctx.emit("media.removed", { id: doc._id, ownerId: doc.ownerId, kind: doc.kind, url: mediaUrl(doc.hash, doc.ext), ownerStillHas });
				}
				return null;
			},
		},

		// ---- internal ----

		/**
		 * One of an owner's ready files (of `kind` when given), for the services that point at media
		 * (avatars, alert variations). 422 INVALID_MEDIA otherwise.
		 */
		resolve: {
			visibility: "public",
			params: { id: { type: "string", min: 1, max: 64 }, ownerId: { type: "string", min: 1, max: 64 }, kind: { ...KIND_RULE, optional: true } },
			async handler(ctx: Context<ResolveParams>) {
				const doc = await this.store.findById(ctx.params.id);
				if (!doc || doc.status !== "ready" || doc.ownerId !== ctx.params.ownerId) throw invalidMedia();
				if (ctx.params.kind && doc.kind !== ctx.params.kind)
					throw invalidMedia(`That media file is not ${ctx.params.kind === "image" ? "an" : "a"} ${ctx.params.kind}`);
				const { name: _name, createdAt: _at, ...view } = this.toView(doc);
				return view;
			},
		},

		/**
		 * Stores bytes the server made (speech audio) for an owner: content-addressed (the same bytes
		 * once), not in the quota, not listed. Answers the same shape as `resolve`.
		 */
		storeGenerated: {
			visibility: "public",
			params: {
				ownerId: { type: "string", min: 1, max: 64 },
				data: { type: "any" },
				contentType: { type: "string", max: 100 },
				name: { type: "string", max: 200 },
			},
			async handler(ctx: Context<GeneratedParams>) {
				const data = toBuffer(ctx.params.data);
				if (!data || data.length === 0) throw invalid("data", "data must be the file's bytes");
				const format = await probeBytes(data);
				if (!format) throw unsupported();
				if (data.length > maxBytesOf(format.kind, this.cfg))
					throw new Errors.MoleculerClientError("Generated file too large", 413, "PAYLOAD_TOO_LARGE");
				const { hash, key } = await this.blobs.putBytes(data, (h) => `${h}.${format.ext}`);
				const genKey = `${ctx.params.ownerId}:${key}`;
				const doc: MediaDoc = {
					_id: newId(),
					ownerId: ctx.params.ownerId,
					kind: format.kind,
					contentType: format.contentType,
					key,
					hash,
					ext: format.ext,
					size: data.length,
					name: ctx.params.name.slice(0, 200),
					status: "ready",
					generated: true,
					genKey,
					createdAt: new Date().toISOString(),
				};
				const { doc: stored } = await this.store.insertOrGet(doc, { genKey });
				// Written before the document: a delete of the last other reference in between may have
				// removed the blob; the document exists now, so storing again keeps them in step.
				if (!(await this.blobs.stat(key))) await this.blobs.putBytes(data, () => key);
				const { name: _name, createdAt: _at, ...view } = this.toView(stored);
				return view;
			},
		},
	},

	methods: {
		toView(doc: MediaDoc): MediaView {
			return {
				id: doc._id,
				kind: doc.kind,
				contentType: doc.contentType,
				size: doc.size,
				name: doc.name,
				url: mediaUrl(doc.hash, doc.ext),
				...(doc.width !== undefined ? { width: doc.width, height: doc.height } : {}),
				...(doc.durationSec !== undefined ? { durationSec: doc.durationSec } : {}),
				createdAt: doc.createdAt,
			};
		},

		async reserve(ownerId: string, size: number) {
			const usage = this.stores.media_usage;
			await usage.upsert({ _id: ownerId }, { $inc: { bytes: 0 } });
			const room = this.cfg.quotaBytes - size;
			if (room < 0 || !(await usage.updateIf({ _id: ownerId, bytes: { $lte: room } }, { $inc: { bytes: size } }))) {
				const used = (await usage.findById(ownerId))?.bytes ?? 0;
				if (fitsQuota(used, size, this.cfg.quotaBytes)) return this.reserve(ownerId, size);
				throw new Errors.MoleculerClientError("This file does not fit in your media quota", 422, "QUOTA_EXCEEDED", {
					usedBytes: used,
					quotaBytes: this.cfg.quotaBytes,
					size,
				});
			}
		},

		async release(ownerId: string, size: number) {
			await this.stores.media_usage.updateMany({ _id: ownerId }, { $inc: { bytes: -size } });
		},

		async commit(doc: MediaDoc, put: () => Promise<void>) {
			await this.store.insert(doc);
			try {
				await put();
			} catch (err) {
				await this.store.removeMany({ _id: doc._id });
				await this.dropBlobIfUnused(doc.key);
				throw err;
			}
			await this.store.updateMany({ _id: doc._id }, { $set: { status: "ready" } });
			return { ...doc, status: "ready" };
		},

		async dropBlobIfUnused(key: string) {
			if ((await this.store.count({ key })) === 0) await this.blobs.delete(key);
		},

		async sweepAbandoned() {
			if (!this.blobs) return;
			const floor = idFloor(Date.now() - ABANDONED_AFTER_MS);
			const stale = await this.store.find({ query: { status: "pending", _id: { $lt: floor } }, limit: 100 });
			for (const doc of stale) {
				if ((await this.store.removeMany({ _id: doc._id, status: "pending" })) === 0) continue;
				await this.release(doc.ownerId, doc.size);
				await this.dropBlobIfUnused(doc.key);
			}
			const dir = this.blobs.spoolDir;
			const names = await fsp.readdir(dir).catch(() => [] as string[]);
			for (const name of names) {
				if (!name.endsWith(".part")) continue;
				const file = path.join(dir, name);
				const st = await fsp.stat(file).catch(() => null);
				if (st && Date.now() - st.mtimeMs > ABANDONED_AFTER_MS) await fsp.rm(file, { force: true });
			}
			if (stale.length) this.logger.info(`Removed ${stale.length} upload(s) a crash left unfinished`);
		},
	},

	created() {
		this.cfg = loadConfig().media;
	},

	async started() {
		this.blobs = await openMediaStore(this.cfg);
	},

	async stopped() {
		await this.blobs?.close();
	},
};

export default schema;
