import { app, h, mount, query } from "../lib/dom";
import { t } from "../lib/i18n";
import { formatMoney } from "../lib/money";
import { fetchStats, poll, type Stats } from "../lib/stats";
import { overlaySocket } from "../lib/overlay-socket";
import "../styles/overlay.css";

/**
 * Top donors for OBS: /overlay/leaderboard?username=… (or ?token=…)&period=all|30d|7d&limit=5,
 * pushed over the /overlay socket with ?token= (`widgets:stats`), else read every ?refresh= seconds (default 10).
 */
const username = document.body.dataset.username;
const period = ["all", "30d", "7d"].includes(query("period") ?? "") ? query("period")! : "all";
const limit = Math.min(10, Math.max(1, Number(query("limit")) || 5));
const root = app();

function render(stats: Pick<Stats, "topDonors">) {
	const donors = stats.topDonors.slice(0, limit);
	mount(
		root,
		h(
			"div",
			{ class: "board", dataset: { state: "ready" } },
			h("h2", null, t(period === "7d" ? "board.title7d" : period === "30d" ? "board.title30d" : "board.title")),
			donors.length === 0
				? h("p", { class: "empty" }, t("board.empty"))
				: h(
						"ol",
						null,
						donors.map((d, i) =>
							h(
								"li",
								null,
								h("span", { class: "rank" }, String(i + 1)),
								h("span", { class: "name" }, d.name),
								h("span", { class: "amt" }, d.formattedAmount ?? formatMoney(d.amount, d.currency)),
							),
						),
					),
		),
	);
}

const token = query("token");
if (!username) {
	mount(root, h("p", { class: "overlay-status" }, t("overlay.badOwner")));
} else if (token) {
	// Read once when (re)connected, then pushed: no polling.
	const socket = overlaySocket(token, () => void fetchStats(username, period).then(render, () => undefined));
	socket.on("widgets:stats", (p: { topDonors?: Record<string, Stats["topDonors"]> }) => {
		const donors = p?.topDonors?.[period];
		if (donors) render({ topDonors: donors });
	});
} else {
	poll(
		async () => {
			try {
				render(await fetchStats(username, period));
			} catch {
				/* keep showing the last good list */
			}
		},
		Number(query("refresh")) || 10,
	);
}
