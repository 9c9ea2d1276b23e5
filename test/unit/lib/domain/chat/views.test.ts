import { describe, expect, it } from "vitest";
import { banView, channelView, dmView, identity, settingsView } from "../../../../../lib/domain/chat/views";
import { defaultRoom, type BanDoc, type MessageDoc } from "../../../../../lib/domain/chat/docs";

const base: MessageDoc = {
	_id: "M1",
	room: "chat:owner",
	kind: "channel",
	channel: "owner",
	channelId: "U_OWNER",
	userId: "U_A",
	username: "alice",
	displayName: "Alice",
	text: "hi",
	createdAt: "2026-01-01T00:00:00.000Z",
	deletedAt: null,
	nonceKey: "chat:owner:U_A:n",
	mentionIds: ["U_B"],
};
const owner = { id: "U_OWNER", username: "owner", displayName: "Owner" };

describe("chat views", () => {
	it("shows a channel message without its storage fields", () => {
		expect(channelView(base)).toEqual({
			id: "M1",
			channel: "owner",
			user: { id: "U_A", username: "alice", displayName: "Alice" },
			text: "hi",
			createdAt: base.createdAt,
		});
	});

	it("shows a direct message with its conversation", () => {
		const dm: MessageDoc = { ...base, room: "dm:C1", kind: "dm", channel: undefined, conversationId: "C1", to: "U_B" };
		expect(dmView(dm)).toEqual({
			id: "M1",
			conversationId: "C1",
			user: { id: "U_A", username: "alice", displayName: "Alice" },
			text: "hi",
			createdAt: base.createdAt,
		});
	});

	it("falls back to the username for a missing display name", () => {
		expect(identity({ id: "U_A", username: "alice" })).toEqual({ id: "U_A", username: "alice", displayName: "alice" });
		expect(identity({ id: "U_A", username: "alice", displayName: "" })).toEqual({ id: "U_A", username: "alice", displayName: "alice" });
	});

	it("tells a ban from a timeout", () => {
		const ban: BanDoc = { _id: "B", key: "U_OWNER:U_A", channelId: "U_OWNER", userId: "U_A", until: null, reason: null, by: "U_OWNER", createdAt: "c" };
		expect(banView(ban, owner)).toEqual({ channel: "owner", userId: "U_A", type: "ban", until: null, reason: null, by: "U_OWNER", createdAt: "c" });
		expect(banView({ ...ban, until: Date.UTC(2026, 0, 2) }, owner)).toMatchObject({ type: "timeout", until: "2026-01-02T00:00:00.000Z" });
	});

	it("shows blocked terms only to moderators", () => {
		const room = { ...defaultRoom(owner), blockedTerms: ["spam"] };
		expect(settingsView(room, false)).toEqual({ channel: "owner", slowModeSec: 0, followersOnly: false });
		expect(settingsView(room, true)).toEqual({ channel: "owner", slowModeSec: 0, followersOnly: false, blockedTerms: ["spam"] });
	});
});
