import type { PaymentDoc, SandboxDelivery } from "../domain/payments/docs";
import { newId } from "../tools/ids";
import type { PaymentsHost } from "./host";
import { SANDBOX_SIGNATURE_HEADER, type SandboxOutcome, type SandboxProvider } from "./sandbox";

/**
 * The sandbox acting as a provider that calls back: a webhook it has promised (202) is stored in
 * `sandbox_deliveries` before the answer and delivered from there, re-driven on start and by the
 * sweep until delivered, so a 202 always lands. Each attempt leases the row first.
 */

export const SANDBOX_DELIVERY_ATTEMPTS = 5;
/** A delivery being attempted is leased this long; a node that dies mid-attempt leaves it to the next sweep. */
export const SANDBOX_DELIVERY_LEASE_MS = 15_000;

function sandboxOf(host: PaymentsHost): SandboxProvider | undefined {
	return host.providers.sandbox as SandboxProvider | undefined;
}

/** Stores the webhook for `outcome` (before the caller answers 202) and delivers it after the reply. */
export async function promiseSandboxWebhook(host: PaymentsHost, doc: PaymentDoc, outcome: SandboxOutcome, url: string): Promise<SandboxDelivery> {
	const event = { event_id: newId(), payment_id: doc._id, status: outcome };
	// Stored before the 202: a process that dies before delivering leaves the delivery to
	// the next start or sweep, the way a provider retries its webhooks.
	const delivery: SandboxDelivery = {
		_id: event.event_id,
		paymentId: doc._id,
		url,
		event,
		attempts: 0,
		nextAt: Date.now() + SANDBOX_DELIVERY_LEASE_MS,
		createdAt: new Date().toISOString(),
	};
	await host.stores.sandbox_deliveries.insert(delivery);
	// Delivered after this reply, the way a provider calls back on its own schedule.
	setImmediate(() => host.track(deliverSandboxWebhook(host, delivery)));
	return delivery;
}

/** Signs a sandbox event and applies it through the webhook path on this node (refunds, undeliverable webhooks). */
export async function applySandboxEvent(host: PaymentsHost, sandbox: SandboxProvider, event: SandboxDelivery["event"]): Promise<unknown> {
	const signed = sandbox.signedWebhook(event);
	return host.receiveWebhook("sandbox", signed.body, { [SANDBOX_SIGNATURE_HEADER]: signed.signature });
}

/**
 * Sandbox deliveries promised (202) but not delivered: those whose lease ran out (the node
 * attempting them died, or every attempt so far failed). `all` (on start) also takes the
 * ones a previous run of this node was attempting when it stopped.
 */
export async function redriveSandbox(host: PaymentsHost, all: boolean): Promise<number> {
	if (!sandboxOf(host)) return 0;
	const due = await host.stores.sandbox_deliveries.find({
		query: all ? {} : { nextAt: { $lte: Date.now() } },
		sort: ["nextAt"],
		limit: 100,
	});
	for (const d of due) {
		if (host.stopping) break;
		host.track(deliverSandboxWebhook(host, d));
	}
	return due.length;
}

/** A stored webhook the sandbox promised (payments and payouts keep theirs in their own collection). */
export interface LeasedDelivery {
	_id: string;
	url: string;
	attempts: number;
	nextAt: number;
}

export interface LeasedDeliveryOptions<D extends LeasedDelivery> {
	rows: { updateIf(q: Record<string, unknown>, u: Record<string, unknown>): Promise<boolean>; removeMany(q: Record<string, unknown>): Promise<number> };
	logger: PaymentsHost["logger"];
	stopping: () => boolean;
	/** Names it in logs ("Sandbox webhook for <payment id>"). */
	label: string;
	/** The body and `X-Sandbox-Signature` header of the webhook. */
	signed: (d: D) => { body: string; signature: string };
	/** After the last attempt: verify and apply the signed webhook on this node instead. */
	applyHere: (d: D) => Promise<unknown>;
}

/**
 * POSTs a stored sandbox webhook to our own endpoint, retrying with backoff, then removes
 * it. Each attempt first leases the row (a conditional update), so two nodes re-driving it
 * do not both send it (a second send would be a harmless duplicate anyway: same event id).
 */
export async function deliverLeased<D extends LeasedDelivery>(start: D, o: LeasedDeliveryOptions<D>): Promise<void> {
	let d = start;
	while (!o.stopping()) {
		const nextAt = Date.now() + SANDBOX_DELIVERY_LEASE_MS;
		if (!(await o.rows.updateIf({ _id: d._id, nextAt: d.nextAt, attempts: d.attempts }, { $set: { nextAt }, $inc: { attempts: 1 } }))) return; // another attempt holds it
		d = { ...d, nextAt, attempts: d.attempts + 1 };
		if (d.attempts > SANDBOX_DELIVERY_ATTEMPTS) {
			// The gateway's address is not reachable from this node (another host or container):
			// the signed webhook is verified and applied here instead, through the same path.
			o.logger.warn(`${o.label} could not be POSTed to ${d.url}; applying it on this node`);
			await o.applyHere(d);
			await o.rows.removeMany({ _id: d._id });
			return;
		}
		if (d.attempts > 1) await new Promise((r) => setTimeout(r, 200 * 2 ** (d.attempts - 2)));
		if (o.stopping()) return; // the lease runs out; the next start delivers it
		const signed = o.signed(d);
		try {
			const res = await fetch(d.url, {
				method: "POST",
				headers: { "Content-Type": "application/json", "X-Sandbox-Signature": signed.signature },
				body: signed.body,
				signal: AbortSignal.timeout(8_000),
			});
			await res.text();
			if (res.status < 500) {
				if (res.status >= 400) o.logger.warn(`${o.label} refused with ${res.status}`);
				await o.rows.removeMany({ _id: d._id });
				return;
			}
		} catch (err) {
			o.logger.info(`${o.label}: delivery attempt ${d.attempts} failed: ${(err as Error).message}`);
		}
	}
}

/** Delivers a payment's promised sandbox webhook (deliverLeased). */
export function deliverSandboxWebhook(host: PaymentsHost, start: SandboxDelivery): Promise<void> {
	const sandbox = sandboxOf(host)!;
	return deliverLeased(start, {
		rows: host.stores.sandbox_deliveries,
		logger: host.logger,
		stopping: () => host.stopping,
		label: `Sandbox webhook for ${start.paymentId}`,
		signed: (d) => sandbox.signedWebhook(d.event),
		applyHere: (d) => applySandboxEvent(host, sandbox, d.event),
	});
}
