import { Errors } from "moleculer";
import { notFound } from "../../tools/errors";

/**
 * Resolves a like/comment target to its owner by asking the service that owns it
 * (`posts.exists`, `comments.exists`, `donations.get`). A target that does not exist is a 404;
 * an owning service with no live node is a 503, never a 500.
 *
 * A donation is seen by its donor and its recipient (and admins) only, as `GET /api/donations/:id`
 * decides: for anyone else liking it, commenting on it, or reading its likes and comments answers
 * the same 404 as a donation that does not exist, and so does a comment left on such a donation.
 */
export interface TargetInfo {
	type: string;
	id: string;
	ownerId: string;
	/** The owner's channel (username) when the owning service knows it. */
	ownerUsername?: string;
}

export type Caller = (action: string, params: Record<string, unknown>) => Promise<unknown>;

/** What `posts.exists`, `comments.exists` and `donations.get` answer (the fields read here). */
interface Lookup {
	exists?: boolean;
	ownerId?: string;
	ownerUsername?: string;
	targetType?: string;
	targetId?: string;
	donation?: DonationLookup;
}
interface DonationLookup {
	recipientId?: string | null;
	recipientUsername?: string;
	donorId?: string | null;
	status?: string;
}
type CallError = { name?: string; code?: unknown } | null | undefined;

/** Who is asking (`ctx.meta.user`); undefined or null for an anonymous caller. */
export interface Viewer {
	id: string;
	roles?: string[];
}

/** The rule of `GET /api/donations/:id`: the donor, the recipient, or an admin. */
export function maySeeDonation(d: { recipientId?: string | null; donorId?: string | null }, viewer: Viewer | null | undefined): boolean {
	if (!viewer) return false;
	return viewer.id === d.recipientId || (!!d.donorId && viewer.id === d.donorId) || !!viewer.roles?.includes("admin");
}

const VISIBLE_DONATION = new Set(["paid", "refunded", "reversed"]);

export function serviceUnavailable(what: string) {
	return new Errors.MoleculerError(`${what} is unavailable, retry shortly`, 503, "SERVICE_UNAVAILABLE");
}

function isUnavailable(err: CallError): boolean {
	const name = err?.name;
	return (
		name === "ServiceNotFoundError" ||
		name === "ServiceNotAvailableError" ||
		name === "RequestTimeoutError" ||
		name === "QueueIsFullError" ||
		err?.code === 503
	);
}

export async function resolveTarget(call: Caller, type: string, id: string, viewer: Viewer | null | undefined): Promise<TargetInfo> {
	const what = type === "post" ? "Post" : type === "comment" ? "Comment" : type === "donation" ? "Donation" : "Target";
	let res: Lookup | null | undefined;
	try {
		if (type === "post") res = (await call("posts.exists", { id })) as Lookup | null;
		else if (type === "comment") res = (await call("comments.exists", { id })) as Lookup | null;
		else if (type === "donation") res = (await call("donations.get", { id })) as Lookup | null;
		else throw notFound(what);
	} catch (caught) {
		const err = caught as CallError;
		if (isUnavailable(err)) throw serviceUnavailable(`${what} lookup`);
		if (typeof err?.code === "number" && err.code >= 400 && err.code < 500) throw notFound(what);
		throw err;
	}
	if (type === "donation") {
		const d = (res?.donation ?? res) as DonationLookup | null | undefined;
		// Only donations that were paid are public enough to like or comment on.
		if (!d || !d.recipientId || (d.status && !VISIBLE_DONATION.has(d.status))) throw notFound(what);
		if (!maySeeDonation(d, viewer)) throw notFound(what);
		return { type, id, ownerId: d.recipientId, ownerUsername: d.recipientUsername };
	}
	if (!res || !res.exists) throw notFound(what);
	if (type === "comment" && res.targetType === "donation" && res.targetId) {
		// A comment is as visible as what it was left on.
		try {
			await resolveTarget(call, "donation", res.targetId, viewer);
		} catch (err) {
			if ((err as CallError)?.code === 404) throw notFound(what);
			throw err;
		}
	}
	return { type, id, ownerId: res.ownerId!, ownerUsername: res.ownerUsername };
}
