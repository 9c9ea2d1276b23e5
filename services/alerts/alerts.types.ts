import type { Context, Service, ServiceSchema, ServiceSettingSchema } from "moleculer";
import type { Collection, DbThis } from "../../mixins/db.mixin";
import type { SweeperMethods } from "../../mixins/sweeper.mixin";
import type { RealtimeMethods } from "../../mixins/realtime.mixin";
import type { AlertsConfig } from "../../lib/config/alerts";
import type { UserSettings } from "../../lib/domain/user-settings";
import type { AlertChannelDoc, AlertDoc, AlertView, PaidDonation } from "../../lib/domain/alerts";
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

export interface Local extends DbThis<AlertDoc, { alert_channels: Collection<AlertChannelDoc> }> {
	config: AlertsConfig;
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
}

export type Settings = ServiceSettingSchema & { rest: string };
export type This = Service<Settings> & Local & Methods;

/** The streamer controls' actions and methods, typed like the service's own (alerts.service.ts spreads them). */
export type AlertsPart = Pick<ServiceSchema<Settings, Methods, Local>, "actions" | "methods">;
