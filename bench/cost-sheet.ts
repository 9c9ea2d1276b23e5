import fs from "node:fs";
import { Session } from "node:inspector/promises";
import type { Middleware } from "moleculer";
import { Collection } from "../mixins/db.mixin";

/**
 * The cost sheet of the pipeline bench: what one paid donation costs the embedded node, counted
 * while the closed loop runs and divided by the donations alerted in that window.
 *
 *  - broker calls (every action executed, nested calls included), events emitted and handled,
 *    channel messages sent and handled: a broker middleware (`costMiddleware`);
 *  - database reads (find, findOne, count) and writes (insert, updateMany, upsert, removeMany) per
 *    collection: the `Collection` methods every service goes through, wrapped while counting;
 *  - file appends and fsyncs: `fs.writeSync` / `fs.fsyncSync` / `fs.fdatasyncSync` (the NeDB files
 *    and the channels journal append with `writeSync`);
 *  - CPU µs per hop from a V8 CPU profile of the same window: each sample goes to the nearest
 *    frame of a service file on its stack (`services/<context>/<file>`), else to what it is
 *    (`moleculer`, `socket.io`, `http`, `nedb`, `gc`...); the shares of the samples are applied to
 *    the process's CPU time in the window. A service's share is its own code plus the framework
 *    and storage code it called synchronously.
 *
 * Bench-only: `BENCH_COST=1` installs it in bench/servers/mediashar.ts.
 */

type Tally = Record<string, number>;

const counters = {
	actions: {} as Tally,
	eventsEmitted: {} as Tally,
	eventsHandled: {} as Tally,
	channelSent: {} as Tally,
	channelHandled: {} as Tally,
	dbReads: {} as Tally,
	dbWrites: {} as Tally,
	appends: 0,
	appendBytes: 0,
	fsyncs: 0,
};
let counting = false;

const bump = (t: Tally, key: string, n = 1) => {
	if (counting) t[key] = (t[key] ?? 0) + n;
};

type AnyFn = (...args: unknown[]) => unknown;

/** Counts action executions, events and channel messages while a window is open. */
export function costMiddleware(): Middleware {
	return {
		name: "CostSheet",
		localAction(next: AnyFn, action: { name: string }) {
			return function (this: unknown, ctx: unknown) {
				bump(counters.actions, action.name);
				return next.call(this, ctx);
			};
		},
		localEvent(next: AnyFn, event: { name: string; service?: { name: string } }) {
			return function (this: unknown, ctx: unknown) {
				bump(counters.eventsHandled, `${event.name} → ${event.service?.name ?? "?"}`);
				return next.call(this, ctx);
			};
		},
		emit(next: AnyFn) {
			return (name: unknown, ...rest: unknown[]) => {
				bump(counters.eventsEmitted, String(name));
				return next(name, ...rest);
			};
		},
		broadcast(next: AnyFn) {
			return (name: unknown, ...rest: unknown[]) => {
				bump(counters.eventsEmitted, String(name));
				return next(name, ...rest);
			};
		},
		// @moleculer/channels hooks
		sendToChannel(next: AnyFn) {
			return (name: unknown, ...rest: unknown[]) => {
				bump(counters.channelSent, String(name));
				return next(name, ...rest);
			};
		},
		localChannel(next: AnyFn, chan: { name: string; group?: string }) {
			return function (this: unknown, ...args: unknown[]) {
				bump(counters.channelHandled, `${chan.name} → ${chan.group ?? "?"}`);
				return next.apply(this, args);
			};
		},
	} as unknown as Middleware;
}

let patched = false;
function patchStorage() {
	if (patched) return;
	patched = true;
	const proto = Collection.prototype as unknown as Record<string, AnyFn>;
	const wrap = (method: string, tally: Tally) => {
		const original = proto[method];
		proto[method] = function (this: { name: string }, ...args: unknown[]) {
			bump(tally, this.name);
			return original.apply(this, args);
		};
	};
	for (const m of ["find", "findOne", "count"]) wrap(m, counters.dbReads);
	for (const m of ["insert", "updateMany", "upsert", "removeMany"]) wrap(m, counters.dbWrites);
	const write = fs.writeSync as unknown as AnyFn;
	(fs as unknown as Record<string, AnyFn>).writeSync = function (...args: unknown[]) {
		const n = write.apply(fs, args) as number;
		if (counting) {
			counters.appends++;
			counters.appendBytes += n;
		}
		return n;
	};
	for (const name of ["fsyncSync", "fdatasyncSync"]) {
		const original = (fs as unknown as Record<string, AnyFn>)[name];
		(fs as unknown as Record<string, AnyFn>)[name] = function (...args: unknown[]) {
			if (counting) counters.fsyncs++;
			return original.apply(fs, args);
		};
	}
}

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string };
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	samples: number[];
	timeDeltas: number[];
}

/** Where a stack's CPU goes: the nearest service file, else the kind of code at the leaf. */
function hopOf(stack: ProfileNode[]): string {
	for (const n of stack) {
		const m = /\/services\/([^/]+)\/([^/]+?)\.ts/.exec(n.callFrame.url);
		if (m) return `${m[1]}/${m[2]}`;
	}
	const leaf = stack[0];
	const url = leaf?.callFrame.url ?? "";
	const fn = leaf?.callFrame.functionName ?? "";
	if (fn === "(garbage collector)") return "(gc)";
	if (fn === "(idle)" || fn === "(program)") return fn;
	const lib = /\/lib\/([^/]+)\//.exec(url);
	if (lib && !url.includes("node_modules") && lib[1] !== "channels" && lib[1] !== "db") return `lib/${lib[1]}`;
	for (const [needle, name] of [
		["/lib/channels/", "lib/channels (in-process adapter, journal)"],
		["/lib/db/", "lib/db (NeDB file, outbox)"],
		["/mixins/", "mixins"],
		["/middlewares/", "middlewares"],
		["node_modules/moleculer-web", "moleculer-web"],
		["node_modules/moleculer", "moleculer"],
		["node_modules/@moleculer/channels", "@moleculer/channels"],
		["node_modules/@seald-io/nedb", "nedb"],
		["node_modules/socket.io", "socket.io / engine.io"],
		["node_modules/engine.io", "socket.io / engine.io"],
		["node_modules/ws", "socket.io / engine.io"],
		["node_modules/fastest-validator", "fastest-validator"],
		["node_modules/", "other libraries"],
		["node:", "node core (http, streams, timers)"],
	] as const)
		if (url.includes(needle)) return name;
	return url ? "other" : "native / node core";
}

function attribute(profile: Profile): Tally {
	const byId = new Map<number, ProfileNode>();
	const parent = new Map<number, number>();
	for (const n of profile.nodes) {
		byId.set(n.id, n);
		for (const c of n.children ?? []) parent.set(c, n.id);
	}
	const hopCache = new Map<number, string>();
	const out: Tally = {};
	for (let i = 0; i < profile.samples.length; i++) {
		const id = profile.samples[i];
		let hop = hopCache.get(id);
		if (hop === undefined) {
			const stack: ProfileNode[] = [];
			for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(byId.get(cur)!);
			hop = hopOf(stack);
			hopCache.set(id, hop);
		}
		out[hop] = (out[hop] ?? 0) + (profile.timeDeltas[i] ?? 0);
	}
	return out;
}

let session: Session | null = null;
let cpuAtStart: NodeJS.CpuUsage | null = null;

/** Opens a counting window (and starts the CPU profiler). */
export async function startCost(): Promise<void> {
	patchStorage();
	for (const key of Object.keys(counters) as (keyof typeof counters)[]) {
		const v = counters[key];
		if (typeof v === "number") (counters as Record<string, unknown>)[key] = 0;
		else for (const k of Object.keys(v)) delete v[k];
	}
	session = new Session();
	session.connect();
	await session.post("Profiler.enable");
	await session.post("Profiler.setSamplingInterval", { interval: 200 });
	await session.post("Profiler.start");
	cpuAtStart = process.cpuUsage();
	counting = true;
}

/** Closes the window: every count, and CPU µs by hop (from the profile) and in all (process.cpuUsage). */
export async function stopCost() {
	counting = false;
	const cpu = process.cpuUsage(cpuAtStart ?? undefined);
	const { profile } = (await session!.post("Profiler.stop")) as { profile: Profile };
	session!.disconnect();
	session = null;
	// The samples' time deltas are wall time (a busy machine stretches them): each hop gets its
	// share of the samples, applied to the CPU the process really used in the window.
	const wall = attribute(profile);
	delete wall["(idle)"];
	const cpuUs = cpu.user + cpu.system;
	const total = Object.values(wall).reduce((a, b) => a + b, 0) || 1;
	const cpuUsByHop = Object.fromEntries(Object.entries(wall).map(([hop, us]) => [hop, (us / total) * cpuUs]));
	return { ...structuredClone(counters), cpuUs, cpuUsByHop };
}

export type CostWindow = Awaited<ReturnType<typeof stopCost>>;
