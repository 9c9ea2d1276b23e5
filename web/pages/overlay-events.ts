import { app, h, mount, query } from "../lib/dom";
import { t } from "../lib/i18n";
import { overlaySocket, setOverlayState } from "../lib/overlay-socket";
import "../styles/overlay.css";

/**
 * Events widget for OBS: /overlay/events?token=…&limit=5, the latest paid donations and follows,
 * newest first, pushed over the /overlay socket (the list when it connects, `events:new` after).
 */
interface EventItem {
	id: string;
	kind: "donation" | "follow";
	name: string;
	formattedAmount: string | null;
	message: string | null;
	at: string;
}

const token = query("token");
const limit = Math.min(20, Math.max(1, Number(query("limit")) || 5));
const root = app();
const list = h("div", { class: "events-root" });
mount(root, list, h("p", { id: "overlay-status", class: "overlay-status", hidden: true }));
let items: EventItem[] = [];

function render() {
	mount(
		list,
		h(
			"div",
			{ class: "events", dataset: { state: "ready" } },
			h("h2", null, t("events.title")),
			items.length === 0
				? h("p", { class: "empty" }, t("events.empty"))
				: h(
						"ol",
						null,
						items
							.slice(0, limit)
							.map((e) =>
								h(
									"li",
									{ dataset: { kind: e.kind, eventId: e.id } },
									h("span", { class: "name" }, e.name),
									" ",
									e.kind === "donation"
										? h("span", { class: "amt" }, e.formattedAmount ?? "")
										: h("span", { class: "verb" }, t("events.followed")),
									e.kind === "donation" && e.message ? h("span", { class: "msg" }, ` — ${e.message}`) : null,
								),
							),
					),
		),
	);
}

render();
if (!token) {
	setOverlayState("error", t("overlay.noToken"));
} else {
	const socket = overlaySocket(token, (s) => {
		s.emit("events:list", {}, (ack: { ok: boolean; items?: EventItem[] }) => {
			if (ack?.ok && ack.items) {
				items = ack.items;
				render();
			}
		});
	});
	socket.on("events:new", (e: EventItem) => {
		if (!e?.id || items.some((x) => x.id === e.id)) return;
		items = [e, ...items].slice(0, 20);
		render();
	});
}
