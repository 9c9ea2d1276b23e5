import type { PayoutDoc, SandboxPayoutDelivery } from "../domain/payouts/docs";
import { newId } from "../tools/ids";
import type { PayoutsHost } from "./host";
import { SANDBOX_SIGNATURE_HEADER, type SandboxPayoutOutcome, type SandboxPayoutProvider } from "./sandbox";
import { receivePayoutWebhook } from "./drive";
import { deliverLeased, SANDBOX_DELIVERY_LEASE_MS } from "../payments/sandbox-deliveries";

/**
 * The sandbox payout provider calling back, as lib/payments/sandbox-deliveries.ts does for
 * payments: a webhook promised by `/complete` (202) is stored before the answer and POSTed to
 * the webhook endpoint from there by the same leased loop (deliverLeased); re-driven by the sweep
 * until it lands.
 */

export async function promiseSandboxPayout(host: PayoutsHost, doc: PayoutDoc, outcome: SandboxPayoutOutcome, url: string): Promise<SandboxPayoutDelivery> {
	const id = newId();
	const delivery: SandboxPayoutDelivery = {
		_id: id,
		payoutId: doc._id,
		url,
		event: { event_id: id, payout_id: doc._id, status: outcome },
		attempts: 0,
		nextAt: Date.now() + SANDBOX_DELIVERY_LEASE_MS,
		createdAt: new Date().toISOString(),
	};
	await host.stores.payout_sandbox_deliveries.insert(delivery);
	setImmediate(() => host.track(deliverSandboxPayout(host, delivery)));
	return delivery;
}

export async function redriveSandboxPayouts(host: PayoutsHost): Promise<number> {
	if (!host.providers.sandbox) return 0;
	const due = await host.stores.payout_sandbox_deliveries.find({ query: { nextAt: { $lte: Date.now() } }, sort: ["nextAt"], limit: 100 });
	for (const d of due) if (!host.stopping) host.track(deliverSandboxPayout(host, d));
	return due.length;
}

export function deliverSandboxPayout(host: PayoutsHost, start: SandboxPayoutDelivery): Promise<void> {
	const sandbox = host.providers.sandbox as SandboxPayoutProvider;
	return deliverLeased(start, {
		rows: host.stores.payout_sandbox_deliveries,
		logger: host.logger,
		stopping: () => host.stopping,
		label: `Sandbox payout webhook for ${start.payoutId}`,
		signed: (d) => sandbox.signedWebhook(d.event),
		applyHere: (d) => {
			const signed = sandbox.signedWebhook(d.event);
			return receivePayoutWebhook(host, "sandbox", signed.body, { [SANDBOX_SIGNATURE_HEADER]: signed.signature });
		},
	});
}
