import { api } from "./api";

export interface Goal {
	title: string;
	target: number;
	current: number;
	currency: string;
	formattedTarget?: string;
	formattedCurrent?: string;
}

export interface Stats {
	totals: { currency: string; amount: number; count: number }[];
	topDonors: { name: string; amount: number; currency: string; count: number; formattedAmount?: string }[];
	goal: Goal | null;
	recent: {
		id?: string;
		donorName?: string;
		name?: string;
		amount: number;
		currency: string;
		formattedAmount?: string;
		message?: string;
		createdAt?: string;
	}[];
}

export function fetchStats(username: string, period = "all"): Promise<Stats> {
	return api<Stats>("GET", `/api/users/${encodeURIComponent(username)}/stats?period=${encodeURIComponent(period)}`);
}

/** Polls `load` every `seconds` (and when the tab becomes visible again), never overlapping. */
export function poll(load: () => Promise<void>, seconds: number) {
	let running = false;
	const tick = async () => {
		if (running) return;
		running = true;
		try {
			await load();
		} finally {
			running = false;
		}
	};
	void tick();
	setInterval(() => void tick(), Math.max(5, seconds) * 1000);
	document.addEventListener("visibilitychange", () => {
		if (document.visibilityState === "visible") void tick();
	});
}
