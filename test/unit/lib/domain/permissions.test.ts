import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Errors, ServiceBroker, type Context, type ServiceSchema } from "moleculer";
import { loaded, permissionRule, type PermissionContext, type PermissionLocals } from "../../../../lib/domain/permissions";
import { PermissionsMiddleware } from "../../../../middlewares/permissions";
import type { AuthUser, GatewayMeta } from "../../../../types/moleculer";

const author: AuthUser = { id: "u-author", username: "author", roles: ["user"] };
const owner: AuthUser = { id: "u-owner", username: "owner", roles: ["user"] };
const mod: AuthUser = { id: "u-mod", username: "mod", roles: ["user"] };
const stranger: AuthUser = { id: "u-stranger", username: "stranger", roles: ["user"] };
const admin: AuthUser = { id: "u-admin", username: "root", roles: ["user", "admin"] };

type Stub = (params: Record<string, unknown>) => unknown;

/** A rule's context: params, the caller, fresh locals, and `ctx.call` answered by `stubs` (calls are recorded). */
function stubCtx(user: AuthUser | null, params: Record<string, unknown>, stubs: Record<string, Stub>) {
	const calls: string[] = [];
	const ctx = {
		params,
		meta: { user },
		locals: {} as PermissionLocals,
		service: { logger: { warn: () => undefined } },
		call: async (action: string, p: Record<string, unknown>) => {
			calls.push(action);
			const stub = stubs[action];
			if (!stub) throw new Errors.ServiceNotFoundError({ action });
			return stub(p);
		},
	};
	return { ctx: ctx as unknown as PermissionContext, locals: ctx.locals, calls };
}

/** Runs a named rule: true, or the refusal it threw as { code, type, message }. */
async function verdict(name: string, ctx: PermissionContext) {
	const rule = permissionRule(name);
	if (!rule) throw new Error(`no rule ${name}`);
	try {
		return await rule(ctx, { name: "test.action" });
	} catch (e) {
		const err = e as { code?: number; type?: string; message?: string };
		return { code: err.code, type: err.type, message: err.message };
	}
}

describe("post.author", () => {
	const stubs = {
		"posts.exists": (p: Record<string, unknown>) => (p.id === "p1" ? { exists: true, ownerId: author.id } : { exists: false }),
	};
	it("lets the author through and keeps what it loaded on ctx.locals", async () => {
		const { ctx, locals } = stubCtx(author, { id: "p1" }, stubs);
		expect(await verdict("post.author", ctx)).toBe(true);
		expect(locals.post).toEqual({ id: "p1", authorId: author.id });
	});
	it("refuses anyone else with 403 NOT_AUTHOR, even an admin", async () => {
		const refusal = { code: 403, type: "NOT_AUTHOR", message: "Only the author can change this post" };
		expect(await verdict("post.author", stubCtx(stranger, { id: "p1" }, stubs).ctx)).toEqual(refusal);
		expect(await verdict("post.author", stubCtx(admin, { id: "p1" }, stubs).ctx)).toEqual(refusal);
	});
	it("answers 404 for a post that does not exist", async () => {
		expect(await verdict("post.author", stubCtx(author, { id: "nope" }, stubs).ctx)).toEqual({ code: 404, type: "NOT_FOUND", message: "Post not found" });
	});
	it("leaves a malformed id to the validator, asking nothing", async () => {
		const { ctx, calls } = stubCtx(author, { id: 42 }, stubs);
		expect(await verdict("post.author", ctx)).toBe(true);
		expect(calls).toEqual([]);
	});
});

describe("comment.remover", () => {
	const comment = { exists: true, ownerId: author.id, targetType: "post", targetId: "p1", targetOwnerId: owner.id, parentId: null };
	const stubs = (isModerator: Stub | undefined): Record<string, Stub> => ({
		"comments.exists": (p) => (p.id === "c1" ? comment : { exists: false }),
		"users.get": (p) => (p.id === owner.id ? { id: owner.id, username: owner.username } : null),
		...(isModerator ? { "chat.isModerator": isModerator } : {}),
	});
	const moderators = (p: Record<string, unknown>) => p.channel === owner.username && p.userId === mod.id;
	const refusal = { code: 403, type: "FORBIDDEN", message: "Only the author, the channel owner, its moderators or an admin can delete this comment" };

	it("lets the author, the target's owner, an admin and a channel moderator through", async () => {
		for (const user of [author, owner, admin, mod]) {
			const { ctx, locals } = stubCtx(user, { id: "c1" }, stubs(moderators));
			expect(await verdict("comment.remover", ctx), user.username).toBe(true);
			expect(locals.comment).toEqual({ id: "c1", authorId: author.id, targetType: "post", targetId: "p1", targetOwnerId: owner.id, parentId: null });
		}
	});
	it("refuses anyone else with today's 403", async () => {
		expect(await verdict("comment.remover", stubCtx(stranger, { id: "c1" }, stubs(moderators)).ctx)).toEqual(refusal);
	});
	it("without a chat service (or when it fails), moderators are not asked: owner and admins only", async () => {
		expect(await verdict("comment.remover", stubCtx(mod, { id: "c1" }, stubs(undefined)).ctx)).toEqual(refusal);
		const failing = () => {
			throw new Error("boom");
		};
		expect(await verdict("comment.remover", stubCtx(mod, { id: "c1" }, stubs(failing)).ctx)).toEqual(refusal);
	});
	it("answers 404 for a comment that does not exist", async () => {
		expect(await verdict("comment.remover", stubCtx(author, { id: "nope" }, stubs(moderators)).ctx)).toEqual({
			code: 404,
			type: "NOT_FOUND",
			message: "Comment not found",
		});
	});
});

describe("donation.party", () => {
	const donation = { id: "d1", recipientId: owner.id, donorId: author.id, amount: 100 };
	const stubs = { "donations.get": (p: Record<string, unknown>) => (p.id === "d1" ? donation : null) };
	const missing = { code: 404, type: "NOT_FOUND", message: "Donation not found" };
	it("lets the recipient, the donor and an admin through, keeping the donation", async () => {
		for (const user of [owner, author, admin]) {
			const { ctx, locals } = stubCtx(user, { id: "d1" }, stubs);
			expect(await verdict("donation.party", ctx), user.username).toBe(true);
			expect(locals.donation).toEqual(donation);
		}
	});
	it("answers anyone else the same 404 as a donation that does not exist (existence does not leak)", async () => {
		expect(await verdict("donation.party", stubCtx(stranger, { id: "d1" }, stubs).ctx)).toEqual(missing);
		expect(await verdict("donation.party", stubCtx(owner, { id: "nope" }, stubs).ctx)).toEqual(missing);
	});
});

describe("payment.refunder", () => {
	const payment = { _id: "pay1", donationId: "d1", status: "paid" };
	const stubs = {
		"payments.find": (p: Record<string, unknown>) => (p.id === "pay1" ? payment : null),
		"donations.get": (p: Record<string, unknown>) => (p.id === "d1" ? { id: "d1", recipientId: owner.id } : null),
	};
	it("lets the donation's recipient through, and an admin without asking donations", async () => {
		const r = stubCtx(owner, { id: "pay1" }, stubs);
		expect(await verdict("payment.refunder", r.ctx)).toBe(true);
		expect(r.locals.payment).toEqual({ id: "pay1", doc: payment });
		const a = stubCtx(admin, { id: "pay1" }, stubs);
		expect(await verdict("payment.refunder", a.ctx)).toBe(true);
		expect(a.calls).toEqual(["payments.find"]);
	});
	it("refuses the donor and strangers with today's 403", async () => {
		const refusal = { code: 403, type: "FORBIDDEN", message: "Only the recipient or an admin can refund a donation" };
		expect(await verdict("payment.refunder", stubCtx(author, { id: "pay1" }, stubs).ctx)).toEqual(refusal);
		expect(await verdict("payment.refunder", stubCtx(stranger, { id: "pay1" }, stubs).ctx)).toEqual(refusal);
	});
	it("answers 404 PAYMENT_NOT_FOUND for a payment that does not exist, admin or not", async () => {
		const missing = { code: 404, type: "PAYMENT_NOT_FOUND", message: "Payment not found" };
		expect(await verdict("payment.refunder", stubCtx(admin, { id: "nope" }, stubs).ctx)).toEqual(missing);
		expect(await verdict("payment.refunder", stubCtx(owner, { id: "nope" }, stubs).ctx)).toEqual(missing);
	});
});

describe("channel.moderator and channel.owner", () => {
	const channel = {
		owner: { id: owner.id, username: owner.username, displayName: "Owner" },
		room: { _id: owner.id, channel: owner.username, slowModeSec: 0, followersOnly: false, blockedTerms: [], moderators: [mod.id], updatedAt: "" },
	};
	const stubs = {
		"moderation.channel": (p: Record<string, unknown>) => {
			// moderation.channel looks the username up lowercased
			if (String(p.username).toLowerCase() !== owner.username) throw new Errors.MoleculerClientError("Channel not found", 404, "CHANNEL_NOT_FOUND");
			return channel;
		},
	};
	it("channel.moderator: the owner, its moderators and admins; the channel (by lowercased name) and role are kept", async () => {
		for (const [user, role] of [
			[owner, "owner"],
			[mod, "moderator"],
			[admin, "admin"],
		] as const) {
			const { ctx, locals } = stubCtx(user, { username: "Owner" }, stubs);
			expect(await verdict("channel.moderator", ctx), user.username).toBe(true);
			expect(locals.channel).toEqual({ id: "owner", ...channel, role });
		}
		expect(await verdict("channel.moderator", stubCtx(stranger, { username: "owner" }, stubs).ctx)).toEqual({
			code: 403,
			type: "FORBIDDEN",
			message: "Only the channel owner and its moderators can do this",
		});
	});
	it("channel.owner: the owner and admins, not its moderators", async () => {
		expect(await verdict("channel.owner", stubCtx(owner, { username: "owner" }, stubs).ctx)).toBe(true);
		expect(await verdict("channel.owner", stubCtx(admin, { username: "owner" }, stubs).ctx)).toBe(true);
		const refusal = { code: 403, type: "FORBIDDEN", message: "Only the channel owner can manage moderators" };
		expect(await verdict("channel.owner", stubCtx(mod, { username: "owner" }, stubs).ctx)).toEqual(refusal);
		expect(await verdict("channel.owner", stubCtx(stranger, { username: "owner" }, stubs).ctx)).toEqual(refusal);
	});
	it("an unknown channel is the 404 CHANNEL_NOT_FOUND it always was", async () => {
		const missing = { code: 404, type: "CHANNEL_NOT_FOUND", message: "Channel not found" };
		expect(await verdict("channel.moderator", stubCtx(owner, { username: "ghost" }, stubs).ctx)).toEqual(missing);
		expect(await verdict("channel.owner", stubCtx(owner, { username: "ghost" }, stubs).ctx)).toEqual(missing);
	});
});

describe("conversation.participant", () => {
	const conv = { _id: "cv1", pairKey: "a|b", participants: [author.id, owner.id], createdAt: "", activity: "cv1", lastMessageId: null, reads: {} };
	const stubs = { "dm.conversation": (p: Record<string, unknown>) => (p.id === "cv1" ? conv : null) };
	const missing = { code: 404, type: "CONVERSATION_NOT_FOUND", message: "Conversation not found" };
	it("lets a participant through, by `id` (REST) or `conversationId` (sockets)", async () => {
		const rest = stubCtx(author, { id: "cv1" }, stubs);
		expect(await verdict("conversation.participant", rest.ctx)).toBe(true);
		expect(rest.locals.conversation).toEqual({ id: "cv1", doc: conv });
		expect(await verdict("conversation.participant", stubCtx(owner, { conversationId: "cv1", text: "hi" }, stubs).ctx)).toBe(true);
	});
	it("answers anyone else, admins included, as if it did not exist (404)", async () => {
		expect(await verdict("conversation.participant", stubCtx(stranger, { id: "cv1" }, stubs).ctx)).toEqual(missing);
		expect(await verdict("conversation.participant", stubCtx(admin, { conversationId: "cv1" }, stubs).ctx)).toEqual(missing);
		expect(await verdict("conversation.participant", stubCtx(author, { id: "nope" }, stubs).ctx)).toEqual(missing);
	});
	it("leaves an anonymous socket caller to the handler's own sign-in refusal, asking nothing", async () => {
		const { ctx, calls } = stubCtx(null, { conversationId: "cv1" }, stubs);
		expect(await verdict("conversation.participant", ctx)).toBe(true);
		expect(calls).toEqual([]);
	});
});

describe("loaded", () => {
	it("answers what a rule kept only for the id the handler works on", () => {
		const ctx = { locals: { post: { id: "p1", authorId: author.id } } };
		expect(loaded(ctx, "post", "p1")).toEqual({ id: "p1", authorId: author.id });
		expect(loaded(ctx, "post", "p2")).toBeUndefined();
		expect(loaded({ locals: {} }, "post", "p1")).toBeUndefined();
		expect(loaded({}, "donation", "d1")).toBeUndefined();
	});
});

describe("rules on a broker: every caller on behalf of a user is checked", () => {
	let broker: ServiceBroker;
	const removed: string[] = [];
	const reads: string[] = [];
	const posts = new Map([["p1", author.id]]);

	beforeAll(async () => {
		broker = new ServiceBroker({ logger: false, middlewares: [PermissionsMiddleware()] });
		broker.createService({
			name: "posts",
			actions: {
				exists: {
					visibility: "public",
					params: { id: "string" },
					handler(ctx: Context<{ id: string }>) {
						reads.push(ctx.params.id);
						const ownerId = posts.get(ctx.params.id);
						return ownerId ? { exists: true, ownerId } : { exists: false };
					},
				},
				remove: {
					auth: "required",
					permissions: ["post.author"],
					params: { id: "string" },
					async handler(ctx: Context<{ id: string }, GatewayMeta>) {
						// As the real handler: reuse what the rule loaded, else (system calls) read it.
						if (!loaded(ctx, "post", ctx.params.id)) await ctx.call("posts.exists", { id: ctx.params.id });
						removed.push(ctx.params.id);
						return null;
					},
				},
			},
		} as ServiceSchema);
		// Another service acting for its caller: meta (and so the user) travels with the call.
		broker.createService({
			name: "relay",
			actions: {
				removePost: { handler: (ctx: Context<{ id: string }>) => ctx.call("posts.remove", { id: ctx.params.id }) },
			},
		} as ServiceSchema);
		await broker.start();
	});
	afterAll(() => broker.stop());

	const refusal = (p: Promise<unknown>) =>
		p.then(
			() => null,
			(e: { code?: number; type?: string }) => ({ code: e.code, type: e.type }),
		);

	it("refuses a broker-internal call made with meta.user the way the gateway's call is refused", async () => {
		const notAuthor = { code: 403, type: "NOT_AUTHOR" };
		expect(await refusal(broker.call("posts.remove", { id: "p1" }, { meta: { user: stranger } }))).toEqual(notAuthor);
		expect(await refusal(broker.call("posts.remove", { id: "p1" }, { meta: { user: stranger, via: "rest" } }))).toEqual(notAuthor);
		expect(await refusal(broker.call("relay.removePost", { id: "p1" }, { meta: { user: stranger } }))).toEqual(notAuthor);
		expect(await refusal(broker.call("relay.removePost", { id: "p1" }, { meta: { via: "socket" } }))).toEqual({ code: 401, type: "UNAUTHORIZED" });
		expect(removed).toEqual([]);
	});

	it("the author's call reads the post once (the handler reuses the rule's read)", async () => {
		reads.length = 0;
		await broker.call("relay.removePost", { id: "p1" }, { meta: { user: author } });
		expect(removed).toEqual(["p1"]);
		expect(reads).toEqual(["p1"]);
	});

	it("a system call (no user, not from the gateway) skips the rules; the handler loads the post itself", async () => {
		reads.length = 0;
		removed.length = 0;
		await broker.call("posts.remove", { id: "p1" });
		expect(removed).toEqual(["p1"]);
		expect(reads).toEqual(["p1"]);
	});
});
