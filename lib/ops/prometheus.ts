/**
 * Prometheus text exposition (format 0.0.4) from Moleculer metric snapshots, the shape returned
 * by `broker.metrics.list()` / the `$node.metrics` action. Mirrors moleculer's own Prometheus
 * reporter, but renders the registries of several nodes in one response (each sample gets a
 * `nodeID` label), so one scrape of the gateway sees the whole cluster.
 */

export interface MetricSnapshot {
	name: string;
	type: string;
	description?: string;
	unit?: string;
	values: Array<{
		key?: string;
		value?: number | string | null;
		labels?: Record<string, unknown>;
		count?: number;
		sum?: number;
		buckets?: Record<string, number>;
		rate?: number;
	}>;
}

export interface NodeMetrics {
	nodeID: string;
	metrics: MetricSnapshot[];
}

/** "moleculer.request.total" → "moleculer_request_total"; anything outside [a-zA-Z0-9_:] → "_". */
export function metricName(name: string): string {
	const out = name.replace(/[^a-zA-Z0-9_:]/g, "_");
	return /^[0-9]/.test(out) ? `_${out}` : out;
}

export function labelName(name: string): string {
	const out = name.replace(/[^a-zA-Z0-9_]/g, "_");
	return /^[0-9]/.test(out) ? `_${out}` : out;
}

export function escapeLabelValue(value: unknown): string {
	return String(value ?? "")
		.replace(/\\/g, "\\\\")
		.replace(/\n/g, "\\n")
		.replace(/"/g, '\\"');
}

function escapeHelp(text: string): string {
	return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function labelsToStr(...sets: Array<Record<string, unknown> | undefined>): string {
	const merged: Record<string, unknown> = Object.assign({}, ...sets.filter(Boolean));
	const keys = Object.keys(merged).filter((k) => merged[k] !== undefined);
	if (keys.length === 0) return "";
	return `{${keys.map((k) => `${labelName(k)}="${escapeLabelValue(merged[k])}"`).join(",")}}`;
}

function num(v: unknown): string {
	if (v === null || v === undefined) return "NaN";
	if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
	const n = Number(v);
	return Number.isFinite(n) ? String(n) : "NaN";
}

/**
 * Moleculer's common metrics that describe the host rather than the service: hostname, OS user,
 * home directory, network addresses and MAC addresses, the process's command line. Never
 * rendered: a scrape must not hand out a map of the machine.
 */
export const HOST_DETAIL_METRICS: ReadonlySet<string> = new Set([
	"os.hostname",
	"os.user.uid",
	"os.user.gid",
	"os.user.username",
	"os.user.homedir",
	"os.network.address",
	"os.network.mac",
	"process.arguments",
]);

/**
 * Renders every node's metrics. Metrics with the same name are grouped under one HELP/TYPE
 * header, as the format requires. Datetime metrics (a label per second) are skipped, as
 * moleculer's reporter does, and so are the host details above.
 */
export function renderPrometheus(nodes: NodeMetrics[], extraLabels: Record<string, string> = {}): string {
	const groups = new Map<string, { type: string; help: string; lines: string[] }>();
	for (const node of nodes) {
		for (const m of node.metrics) {
			if (m.name.startsWith("os.datetime") || HOST_DETAIL_METRICS.has(m.name)) continue;
			const name = metricName(m.name);
			const type = m.type === "info" ? "gauge" : m.type;
			if (!["counter", "gauge", "histogram"].includes(type)) continue;
			let group = groups.get(name);
			if (!group) {
				group = { type, help: m.description || m.name + (m.unit ? ` (${m.unit})` : ""), lines: [] };
				groups.set(name, group);
			}
			const base = { ...extraLabels, nodeID: node.nodeID };
			for (const item of m.values ?? []) {
				if (m.type === "info") {
					group.lines.push(`${name}${labelsToStr(base, item.labels, { value: item.value })} 1`);
				} else if (type === "histogram") {
					// Cumulative buckets, then +Inf = count, then sum and count.
					const buckets = item.buckets ?? {};
					for (const le of Object.keys(buckets).sort((a, b) => Number(a) - Number(b))) {
						group.lines.push(`${name}_bucket${labelsToStr(base, item.labels, { le })} ${num(buckets[le])}`);
					}
					group.lines.push(`${name}_bucket${labelsToStr(base, item.labels, { le: "+Inf" })} ${num(item.count ?? 0)}`);
					group.lines.push(`${name}_sum${labelsToStr(base, item.labels)} ${num(item.sum ?? 0)}`);
					group.lines.push(`${name}_count${labelsToStr(base, item.labels)} ${num(item.count ?? 0)}`);
				} else {
					group.lines.push(`${name}${labelsToStr(base, item.labels)} ${num(item.value)}`);
				}
			}
		}
	}
	const out: string[] = [];
	for (const [name, g] of groups) {
		out.push(`# HELP ${name} ${escapeHelp(g.help)}`);
		out.push(`# TYPE ${name} ${g.type}`);
		out.push(...g.lines);
	}
	return out.join("\n") + "\n";
}

/** Parses exposition text back into samples (used by tests and the REPL's metric lookups). */
export function parsePrometheus(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
	const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
	for (const line of text.split("\n")) {
		if (!line || line.startsWith("#")) continue;
		const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
		if (!m) continue;
		const labels: Record<string, string> = {};
		const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
		let lm: RegExpExecArray | null;
		while ((lm = re.exec(m[2] ?? ""))) labels[lm[1]] = lm[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
		samples.push({ name: m[1], labels, value: m[3] === "+Inf" ? Infinity : Number(m[3]) });
	}
	return samples;
}
