import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Collection, DbThis } from "../../mixins/db.mixin";
import type { SweeperMethods } from "../../mixins/sweeper.mixin";
import type { RealtimeMethods } from "../../mixins/realtime.mixin";
import type { AlertsConfig } from "../../lib/config/alerts";
import type { TtsConfig } from "../../lib/config/tts";
import type { RenderQueue, TtsEngine } from "../../lib/tts";
import type { Variation } from "../../lib/domain/alerts/variations";
import type { UserSettings } from "../../lib/domain/user-settings";
import type { AlertChannelDoc, AlertDoc, AlertLook, AlertView, PaidDonation } from "../../lib/domain/alerts";
import type { GatewayMeta } from "../../types/moleculer";

/** The types the alerts service and its streamer controls (alerts.controls.ts) share. */

export type Ctx<P = Record<string, unknown>> = Context<P, GatewayMeta>;

export type PaidFor = PaidDonation & { recipientId: string };

export interface QueueState {
	paused: boolean;
	current: AlertView | null;
	queued: AlertView[];
	depth: number;
	held: number;
}

/** A file of the media library as `media.resolve` / `media.storeGenerated` answer. */
export interface MediaFile {
	id: string;
	kind: string;
	contentType: string;
	url: string;
	size: number;
	width?: number;
	height?: number;
	durationSec?: number;
}

/** One alert variation (collection `alert_variations`), with the media URLs resolved when it was saved. */
export interface VariationDoc extends Omit<Variation, "id"> {
	_id: string;
	userId: string;
	imageUrl: string | null;
	soundUrl: string | null;
	createdAt: string;
	updatedAt: string;
}

/** One entry of the events widget (collection `overlay_events`). */
export interface OverlayEventDoc {
	_id: string;
	/** Unique: `donation:<id>`, `follow:<followerId>:<followeeId>`. */
	key: string;
	userId: string;
	kind: "donation" | "follow";
	name: string;
	formattedAmount: string | null;
	amount: number | null;
	currency: string | null;
	message: string | null;
	at: string;
}

export interface Local extends DbThis<
	AlertDoc,
	{ alert_channels: Collection<AlertChannelDoc>; alert_variations: Collection<VariationDoc>; overlay_events: Collection<OverlayEventDoc> }
> {
	config: AlertsConfig;
	ttsConfig: TtsConfig;
	ttsEngine: TtsEngine;
	ttsQueue: RenderQueue;
	ttsCache: Map<string, { url: string; seconds: number | null }>;
	ttsRunning: Map<string, Promise<string | null>>;
}

export interface Methods extends SweeperMethods, RealtimeMethods {
	// alerts.service.ts: the queue and its delivery
	settingsOf(userId: string): Promise<UserSettings>;
	onPaid(d: PaidFor): Promise<void>;
	enqueue(fresh: AlertDoc): Promise<AlertDoc>;
	ensureChannel(userId: string): Promise<void>;
	pump(userId: string): Promise<void>;
	send(alert: AlertDoc, resend: boolean): void;
	finish(userId: string, alertId: string, status: "done" | "skipped"): Promise<void>;
	tick(): Promise<void>;
	queueDepth(): Promise<number>;
	queueState(userId: string): Promise<QueueState>;
	addMarks(): Promise<void>;
	// alerts.controls.ts
	heldAlert(userId: string, donationId: string): Promise<AlertDoc>;
	channelOwnerId(ctx: Ctx, username?: string): Promise<string>;
	// alerts.variations.ts
	variationsOf(userId: string): Promise<VariationDoc[]>;
	ownVariation(userId: string, id: string): Promise<VariationDoc>;
	checkVariation(ctx: Ctx, v: VariationDoc): Promise<void>;
	ownMedia(ctx: Ctx, field: string, id: string, ownerId: string, kind: "image" | "audio"): Promise<MediaFile>;
	mediaRemoved(id: string, ownerId: string): Promise<void>;
	lookFor(userId: string, d: PaidDonation, donorName: string, message: string, s: UserSettings, variationId?: string): Promise<AlertLook>;
	// alerts.tts.ts
	speak(alert: AlertDoc): Promise<string | null>;
	renderSpeech(alert: AlertDoc): Promise<string | null>;
	withSpeech(alert: AlertDoc): Promise<AlertDoc>;
	redriveSpeech(): Promise<void>;
	// alerts.widgets.ts
	recordDonationEvent(d: PaidFor): Promise<void>;
	recordEvent(ev: Omit<OverlayEventDoc, "_id">): Promise<void>;
	recentEvents(userId: string): Promise<OverlayEventDoc[]>;
}

export type Settings = ServiceSettingSchema & { rest: string };
export type This = Service<Settings> & Local & Methods;

/** The streamer controls' actions and methods, typed like the service's own (alerts.service.ts spreads them). */
export type AlertsPart = Pick<ServiceSchema<Settings, Methods, Local>, "actions" | "methods" | "channels">;
