/**
 * Health reports from registry snapshots: which services run where, whether each required one
 * has a live node, and which action endpoints have an open circuit. Plain functions over the
 * data `broker.registry` returns, so they are tested without a cluster.
 */

/** Services a working MediaShar cannot do without; only those whose code exists are required. */
export const DEFAULT_REQUIRED = ["users", "donations", "payments", "alerts", "chat", "notifications"];

export interface ServiceEntry {
	name: string;
	nodeID: string;
	available: boolean;
}

export interface CircuitEntry {
	/** Endpoint name "<nodeID>:<action>" as moleculer's circuit breaker keys it. */
	endpoint: string;
	action: string;
	nodeID: string;
	state: string;
	failures: number;
	count: number;
}

export interface ServiceHealth {
	name: string;
	required: boolean;
	available: boolean;
	nodes: Array<{ nodeID: string; available: boolean }>;
	circuits: Array<{ action: string; nodeID: string; state: string }>;
}

export interface ServicesReport {
	status: "ok" | "degraded";
	nodeID: string;
	required: string[];
	missing: string[];
	services: ServiceHealth[];
}

/** `HEALTH_REQUIRED_SERVICES="users,donations"` → list; unset → defaults filtered to existing code. */
export function requiredServices(env: string | undefined, existing: string[]): string[] {
	if (env !== undefined && env.trim() !== "") {
		return env
			.split(",")
			.map((s) => s.trim())
			.filter(Boolean);
	}
	return DEFAULT_REQUIRED.filter((n) => existing.includes(n));
}

/** Groups per-node service entries into one row per service; internal `$` services are left out. */
export function servicesReport(nodeID: string, entries: ServiceEntry[], circuits: CircuitEntry[], required: string[]): ServicesReport {
	const byName = new Map<string, ServiceHealth>();
	for (const e of entries) {
		if (e.name.startsWith("$")) continue;
		let s = byName.get(e.name);
		if (!s) {
			s = { name: e.name, required: required.includes(e.name), available: false, nodes: [], circuits: [] };
			byName.set(e.name, s);
		}
		if (!s.nodes.some((n) => n.nodeID === e.nodeID)) s.nodes.push({ nodeID: e.nodeID, available: e.available });
		s.available ||= e.available;
	}
	for (const c of circuits) {
		const svc = byName.get(c.action.split(".").slice(0, -1).join("."));
		if (svc && c.state !== "close") svc.circuits.push({ action: c.action, nodeID: c.nodeID, state: c.state });
	}
	for (const name of required) {
		if (!byName.has(name)) byName.set(name, { name, required: true, available: false, nodes: [], circuits: [] });
	}
	const services = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
	const missing = services.filter((s) => s.required && !s.available).map((s) => s.name);
	return { status: missing.length ? "degraded" : "ok", nodeID, required, missing, services };
}

/** Reads moleculer's circuit-breaker store (`broker.CircuitBreakerStore`, a Map keyed by endpoint). */
export function circuitEntries(store: Map<string, any> | undefined): CircuitEntry[] {
	if (!store) return [];
	const out: CircuitEntry[] = [];
	for (const [key, item] of store) {
		const ep = item?.ep;
		out.push({
			endpoint: key,
			action: ep?.action?.name ?? key.split(":").slice(1).join(":"),
			nodeID: ep?.node?.id ?? key.split(":")[0],
			state: item?.state ?? "close",
			failures: item?.failures ?? 0,
			count: item?.count ?? 0,
		});
	}
	return out;
}

export interface Check {
	name: string;
	ok: boolean;
	detail?: string;
}

export interface ReadyReport {
	status: "ready" | "not_ready";
	nodeID: string;
	checks: Check[];
}

export function readyReport(nodeID: string, checks: Check[]): ReadyReport {
	return { status: checks.every((c) => c.ok) ? "ready" : "not_ready", nodeID, checks };
}

/** Runs a probe with a deadline; a probe that throws or times out is a failed check. */
export async function probe(name: string, fn: () => Promise<boolean | string | void> | boolean | string | void, timeoutMs = 2000): Promise<Check> {
	let timer: NodeJS.Timeout | undefined;
	try {
		const result = await Promise.race([
			Promise.resolve().then(fn),
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
			}),
		]);
		if (result === false) return { name, ok: false };
		return typeof result === "string" ? { name, ok: true, detail: result } : { name, ok: true };
	} catch (err) {
		return { name, ok: false, detail: (err as Error).message };
	} finally {
		if (timer) clearTimeout(timer);
	}
}
