import path from "node:path";
import { intEnv } from "./env";

/** The media library (services/media, served by the gateway under /media). */
export interface MediaConfig {
	/** Largest image or sound, bytes (`MEDIA_MAX_BYTES`, default 10 MB; 413 above it). */
	maxBytes: number;
	/** Largest video, bytes (`MEDIA_MAX_VIDEO_BYTES`, default 50 MB). */
	maxVideoBytes: number;
	/** Everything one owner may keep, bytes (`MEDIA_QUOTA_BYTES`, default 200 MB; 422 QUOTA_EXCEEDED above it). */
	quotaBytes: number;
	/**
	 * Where the bytes live (`MEDIA_STORE`): "fs" (files under DATA_DIR/media, the embedded default)
	 * or "nats" (a JetStream Object Store every node shares; the default when TRANSPORTER is NATS).
	 */
	store: "fs" | "nats";
	/** Folder of the fs store (`MEDIA_DIR`, default DATA_DIR/media; a shared volume in a cluster). */
	dir: string;
	/** NATS server of the Object Store (`MEDIA_NATS_URL`, default TRANSPORTER). */
	natsUrl: string;
	/** Object Store bucket (`MEDIA_BUCKET`, default "mediashar-media"). */
	bucket: string;
	/** Object Store replicas (`MEDIA_REPLICAS`, default 1; 3 on a three-node JetStream cluster). */
	replicas: number;
	/** Memory each gateway keeps recently served files in (`MEDIA_CACHE_BYTES`, default 64 MB; 0 turns it off). */
	cacheBytes: number;
	/** Uploads one node reads at once (`MEDIA_UPLOAD_CONCURRENCY`, default 1: measured best for both upload speed and other requests' latency); more wait their turn, their bytes held back by TCP. */
	uploadConcurrency: number;
}

export function mediaConfig(env: NodeJS.ProcessEnv): MediaConfig {
	const transporter = env.TRANSPORTER || "";
	const store = (env.MEDIA_STORE || (transporter.startsWith("nats://") ? "nats" : "fs")).toLowerCase();
	if (store !== "fs" && store !== "nats") throw new Error(`MEDIA_STORE must be fs or nats (got "${store}").`);
	const natsUrl = env.MEDIA_NATS_URL || (transporter.startsWith("nats://") ? transporter : "");
	if (store === "nats" && !natsUrl) throw new Error("MEDIA_STORE=nats needs MEDIA_NATS_URL (or TRANSPORTER=nats://…).");
	const cfg: MediaConfig = {
		maxBytes: intEnv("MEDIA_MAX_BYTES", 10 * 1024 * 1024, env),
		maxVideoBytes: intEnv("MEDIA_MAX_VIDEO_BYTES", 50 * 1024 * 1024, env),
		quotaBytes: intEnv("MEDIA_QUOTA_BYTES", 200 * 1024 * 1024, env),
		store,
		dir: path.resolve(env.MEDIA_DIR || path.join(env.DATA_DIR || "./data", "media")),
		natsUrl,
		bucket: env.MEDIA_BUCKET || "mediashar-media",
		replicas: intEnv("MEDIA_REPLICAS", 1, env),
		cacheBytes: Math.max(0, intEnv("MEDIA_CACHE_BYTES", 64 * 1024 * 1024, env)),
		uploadConcurrency: intEnv("MEDIA_UPLOAD_CONCURRENCY", 1, env),
	};
	for (const [name, v] of [
		["MEDIA_MAX_BYTES", cfg.maxBytes],
		["MEDIA_MAX_VIDEO_BYTES", cfg.maxVideoBytes],
		["MEDIA_QUOTA_BYTES", cfg.quotaBytes],
		["MEDIA_REPLICAS", cfg.replicas],
		["MEDIA_UPLOAD_CONCURRENCY", cfg.uploadConcurrency],
	] as const) {
		if (v < 1) throw new Error(`${name} must be a positive number (got ${v}).`);
	}
	return cfg;
}
