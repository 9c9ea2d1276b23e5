import { describe, expect, it } from "vitest";
import { commentDrafts, donationDraft, dmDraft, followDraft, likeTitle, mentionDrafts, notificationView } from "../../../../../lib/domain/notify/render";
import { nextDelayMs } from "../../../../../lib/domain/notify/backoff";
import { recipientWantsEmail, wantsEmail } from "../../../../../lib/domain/notify/email-prefs";
import { checkWebhookUrl, isPrivateAddress } from "../../../../../lib/tools/webhook-url";
import { eventIdFor, publicDonation } from "../../../../../lib/domain/notify/webhook-event";
import { isHttpUrl, likeKey } from "../../../../../lib/domain/social/limits";

describe("notification drafts", () => {
	const alice = { id: "u1", username: "alice", displayName: "Alice" };

	it("donations become donation.received / donation.reversed for the recipient with stable source keys", () => {
		const d = {
			id: "d1",
			recipientId: "s1",
			donorName: "Budi",
			formattedAmount: "Rp 10.000",
			amount: 1_000_000,
			currency: "IDR",
			message: "  semangat\n bang ",
			status: "paid",
		};
		const paid = donationDraft("paid", d);
		expect(paid).toMatchObject({
			userId: "s1",
			type: "donation.received",
			title: "Budi donated Rp 10.000",
			body: "semangat bang",
			sourceKey: "donation.received:d1",
		});
		const rev = donationDraft("reversed", { ...d, status: "refunded" });
		expect(rev).toMatchObject({ type: "donation.reversed", sourceKey: "donation.reversed:d1" });
		expect(rev.title).toContain("refunded");
	});

	it("comments notify the target owner and, for replies, the parent's author, never the commenter", () => {
		const base = { commentId: "c1", userId: "u1", targetType: "post", targetId: "p1", targetOwnerId: "s1", text: "hi" };
		expect(commentDrafts(base, alice).map((d) => d.userId)).toEqual(["s1"]);
		const reply = commentDrafts({ ...base, parentId: "c0", parentAuthorId: "u2" }, alice);
		expect(reply.map((d) => [d.userId, d.title])).toEqual([
			["u2", "Alice replied to your comment"],
			["s1", "Alice commented on your post"],
		]);
		expect(commentDrafts({ ...base, targetOwnerId: "u1" }, alice)).toEqual([]);
		expect(commentDrafts({ ...base, parentId: "c0", parentAuthorId: "s1" }, alice)).toHaveLength(1);
	});

	it("mentions skip the sender and duplicates; follows and DMs key per pair and per message", () => {
		const m = mentionDrafts({ messageId: "m1", channel: "bob", from: alice, userIds: ["u2", "u2", "u1", "u3"], text: "@x" });
		expect(m.map((d) => d.sourceKey)).toEqual(["mention:m1:u2", "mention:m1:u3"]);
		expect(followDraft(alice, "s1")).toMatchObject({ type: "follow", sourceKey: "follow:u1:s1", title: "Alice followed you" });
		expect(dmDraft({ conversationId: "k", messageId: "m9", from: alice, to: "u2", text: "yo" })).toMatchObject({
			userId: "u2",
			type: "dm",
			sourceKey: "dm:m9",
		});
	});

	it("like titles group names, newest first", () => {
		expect(likeTitle(["alice"], 1, "post")).toBe("alice liked your post");
		expect(likeTitle(["alice", "bob"], 2, "comment")).toBe("bob and alice liked your comment");
		expect(likeTitle(["a", "b", "c", "d", "e"], 5, "post")).toBe("e and 4 others liked your post");
		expect(likeTitle(["a", "b"], 3, "donation")).toBe("b and 2 others liked your donation");
	});
});

describe("email preferences", () => {
	it("exact type wins over the family switch; nothing set means no email", () => {
		expect(wantsEmail({}, "follow")).toBe(false);
		expect(wantsEmail(undefined, "follow")).toBe(false);
		expect(wantsEmail({ follow: true }, "follow")).toBe(true);
		expect(wantsEmail({ donation: true }, "donation.received")).toBe(true);
		expect(wantsEmail({ donation: true, "donation.reversed": false }, "donation.reversed")).toBe(false);
		expect(wantsEmail({ donation: false, "donation.received": true }, "donation.received")).toBe(true);
	});
});

describe("retry backoff", () => {
	it("doubles from the base, caps at the max, jitters down by at most 20 %", () => {
		const b = { baseMs: 100, maxMs: 1000 };
		expect(nextDelayMs(1, b, () => 0)).toBe(100);
		expect(nextDelayMs(2, b, () => 0)).toBe(200);
		expect(nextDelayMs(4, b, () => 0)).toBe(800);
		expect(nextDelayMs(10, b, () => 0)).toBe(1000);
		expect(nextDelayMs(10, b, () => 1)).toBe(800);
	});
});

describe("webhook URLs and events", () => {
	it("accepts only http(s) without credentials", () => {
		expect(checkWebhookUrl("https://example.com/hook", false).ok).toBe(true);
		expect(checkWebhookUrl("http://127.0.0.1:9000/x", false).ok).toBe(true);
		for (const bad of ["ftp://example.com", "javascript:alert(1)", "file:///etc/passwd", "gopher://x", "nope", "https://u:p@example.com/"]) {
			expect(checkWebhookUrl(bad, false).ok).toBe(false);
		}
	});

	it("WEBHOOK_BLOCK_PRIVATE refuses loopback, private and link-local addresses", () => {
		for (const host of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "[::1]", "[fd00::1]", "localhost"]) {
			expect(checkWebhookUrl(`http://${host}/x`, true).ok).toBe(false);
		}
		expect(checkWebhookUrl("https://93.184.216.34/x", true).ok).toBe(true);
		expect(isPrivateAddress("::ffff:127.0.0.1")).toBe(true);
		expect(isPrivateAddress("8.8.8.8")).toBe(false);
	});

	it("event ids are stable per (type, donation) and payloads hide donor ids", () => {
		expect(eventIdFor("donation.paid", "d1")).toBe(eventIdFor("donation.paid", "d1"));
		expect(eventIdFor("donation.paid", "d1")).not.toBe(eventIdFor("donation.reversed", "d1"));
		expect(publicDonation({ id: "d1", donorId: "u9", originalMessage: "raw", message: "***", amount: 5 })).toEqual({ id: "d1", message: "***", amount: 5 });
	});

	it("social keys and media URL checks", () => {
		expect(likeKey("u1", "post", "p1")).toBe("u1:post:p1");
		expect(isHttpUrl("https://x.test/a.png")).toBe(true);
		expect(isHttpUrl("data:text/html,hi")).toBe(false);
	});
});

describe("notificationView", () => {
	const base = {
		_id: "n1",
		type: "like",
		title: "stored",
		body: "",
		data: { targetType: "post", targetId: "p1" },
		createdAt: "a",
		updatedAt: "b",
		read: false,
	};
	it("shows a plain notification as stored", () => {
		expect(notificationView({ ...base, type: "dm" })).toEqual({
			id: "n1",
			type: "dm",
			title: "stored",
			body: "",
			data: base.data,
			createdAt: "a",
			updatedAt: "b",
			read: false,
		});
	});
	it("titles a like group from its names and count, newest user first", () => {
		const v = notificationView({ ...base, group: { targetType: "post", targetId: "p1", names: ["ann", "bob"], count: 3 } });
		expect(v.title).toBe("bob and 2 others liked your post");
		expect(v.data).toEqual({ targetType: "post", targetId: "p1", count: 3, users: ["bob", "ann"] });
	});
});

describe("recipientWantsEmail", () => {
	const user = { username: "u", email: "u@example.test", settings: { email: { dm: true } } };
	it("asks for a known, unsuspended recipient with an address who opted in", () => {
		expect(recipientWantsEmail(user, "dm")).toBe(true);
		expect(recipientWantsEmail(user, "follow")).toBe(false);
		expect(recipientWantsEmail({ ...user, bannedAt: "2026-01-01" }, "dm")).toBe(false);
		expect(recipientWantsEmail({ ...user, email: null }, "dm")).toBe(false);
		expect(recipientWantsEmail(null, "dm")).toBe(false);
	});
});
