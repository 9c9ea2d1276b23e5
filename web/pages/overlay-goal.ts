import { app, h, mount, query } from "../lib/dom";
import { t } from "../lib/i18n";
import { formatMoney } from "../lib/money";
import { fetchStats, poll, type Goal } from "../lib/stats";
import { overlaySocket } from "../lib/overlay-socket";
import "../styles/overlay.css";

/**
 * Goal progress bar for OBS: /overlay/goal?token=… gets every change pushed over the /overlay
 * socket (`widgets:stats`); /overlay/goal?username=… (no token) reads it every ?refresh= s (default 10).
 */
const username = document.body.dataset.username;
const root = app();

function render(goal: Goal | null) {
	if (!goal) return mount(root, h("div", { class: "goal", dataset: { state: "empty" } }));
	const pct = goal.target > 0 ? Math.min(100, Math.round((goal.current / goal.target) * 100)) : 0;
	mount(
		root,
		h(
			"div",
			{ class: "goal", dataset: { state: "ready" } },
			h("div", { class: "goal-head" }, h("span", { class: "goal-title" }, goal.title), h("span", { class: "goal-pct" }, `${pct}%`)),
			h(
				"div",
				{ class: "goal-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(pct) },
				h("div", { class: "goal-fill", style: { width: `${pct}%` } }),
			),
			h(
				"div",
				{ class: "goal-foot" },
				t("goal.progress", { current: formatMoney(goal.current, goal.currency), target: formatMoney(goal.target, goal.currency) }),
			),
		),
	);
}

const token = query("token");
if (!username) {
	mount(root, h("p", { class: "overlay-status" }, t("overlay.badOwner")));
} else if (token) {
	// Read once when (re)connected, then pushed: no polling.
	const socket = overlaySocket(
		token,
		() =>
			void fetchStats(username).then(
				(s) => render(s.goal),
				() => undefined,
			),
	);
	socket.on("widgets:stats", (p: { goal?: Goal | null }) => render(p?.goal ?? null));
} else {
	poll(
		async () => {
			try {
				render((await fetchStats(username)).goal);
			} catch {
				/* keep showing the last good value */
			}
		},
		Number(query("refresh")) || 10,
	);
}
