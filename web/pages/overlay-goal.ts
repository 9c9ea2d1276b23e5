import { app, h, mount, query } from "../lib/dom";
import { t } from "../lib/i18n";
import { formatMoney } from "../lib/money";
import { fetchStats, poll } from "../lib/stats";
import "../styles/overlay.css";

/** Goal progress bar for OBS: /overlay/goal?username=… (or ?token=…), refreshed every ?refresh= s (default 10). */
const username = document.body.dataset.username;
const root = app();

function render(goal: Awaited<ReturnType<typeof fetchStats>>["goal"]) {
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

if (!username) {
	mount(root, h("p", { class: "overlay-status" }, t("overlay.badOwner")));
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
