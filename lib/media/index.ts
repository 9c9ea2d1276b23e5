import type { MediaConfig } from "../config/media";
import { FsMediaStore, type MediaStore } from "./store";
import { NatsMediaStore } from "./nats-store";

export type { MediaStore } from "./store";

/** The store MEDIA_STORE picks (lib/config/media.ts), ready to use. */
export function openMediaStore(cfg: MediaConfig): Promise<MediaStore> {
	if (cfg.store === "nats") {
		return new NatsMediaStore({ url: cfg.natsUrl, bucket: cfg.bucket, replicas: cfg.replicas, spoolDir: `${cfg.dir}/.incoming` }).init();
	}
	return new FsMediaStore(cfg.dir).init();
}
