import type { Logger, ServiceBroker } from "moleculer";
import type { Collection } from "../../mixins/db.mixin";
import type { PayoutsConfig } from "../config/payouts";
import type { PayoutAccountDoc, PayoutDoc, SandboxPayoutDelivery } from "../domain/payouts/docs";
import type { PayoutStatus } from "../domain/payouts/state";
import type { PayoutProvider, PayoutState } from "./types";

/** What the payouts modules need of the payouts service (services/payouts/payouts.service.ts). */
export interface PayoutsHost {
	broker: ServiceBroker;
	logger: Logger;
	config: PayoutsConfig;
	/** The key payout account details are sealed with. */
	key: Buffer;
	store: Collection<PayoutDoc>;
	stores: { payout_accounts: Collection<PayoutAccountDoc>; payout_sandbox_deliveries: Collection<SandboxPayoutDelivery> };
	providers: Record<string, PayoutProvider | undefined>;
	stopping: boolean;
	track(p: Promise<unknown>): void;
	drive(id: string): Promise<PayoutDoc | null>;
	move(doc: PayoutDoc, to: PayoutStatus, set?: Record<string, unknown>): Promise<PayoutDoc | null>;
	applyState(doc: PayoutDoc, state: PayoutState): Promise<PayoutDoc>;
}
