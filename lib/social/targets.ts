import { Errors } from "moleculer";
import { notFound } from "../errors";

/**
 * Resolves a like/comment target to its owner by asking the service that owns it
 * (`posts.exists`, `comments.exists`, `donations.get`). A target that does not exist is a 404;
 * an owning service with no live node is a 503, never a 500.
 */
export interface TargetInfo {
	type: string;
	id: string;
	ownerId: string;
	/** The owner's channel (username) when the owning service knows it. */
	ownerUsername?: string;
}

export type Caller = (action: string, params: Record<string, unknown>) => Promise<any>;

const VISIBLE_DONATION = new Set(["paid", "refunded", "reversed"]);

export function serviceUnavailable(what: string) {
	return new Errors.MoleculerError(`${what} is unavailable, retry shortly`, 503, "SERVICE_UNAVAILABLE");
}

function isUnavailable(err: any): boolean {
	const name = err?.name;
	return name === "ServiceNotFoundError" || name === "ServiceNotAvailableError" || name === "RequestTimeoutError" || name === "QueueIsFullError" || err?.code === 503;
}

export async function resolveTarget(call: Caller, type: string, id: string): Promise<TargetInfo> {
	const what = type === "post" ? "Post" : type === "comment" ? "Comment" : type === "donation" ? "Donation" : "Target";
	let res: any;
	try {
		if (type === "post") res = await call("posts.exists", { id });
		else if (type === "comment") res = await call("comments.exists", { id });
		else if (type === "donation") res = await call("donations.get", { id });
		else throw notFound(what);
	} catch (err: any) {
		if (isUnavailable(err)) throw serviceUnavailable(`${what} lookup`);
		if (typeof err?.code === "number" && err.code >= 400 && err.code < 500) throw notFound(what);
		throw err;
	}
	if (type === "donation") {
		const d = res?.donation ?? res;
		// Only donations that were paid are public enough to like or comment on.
		if (!d || !d.recipientId || (d.status && !VISIBLE_DONATION.has(d.status))) throw notFound(what);
		return { type, id, ownerId: d.recipientId, ownerUsername: d.recipientUsername };
	}
	if (!res || !res.exists) throw notFound(what);
	return { type, id, ownerId: res.ownerId, ownerUsername: res.ownerUsername };
}
