import { Worker } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import type { TtsLanguage } from "../domain/alerts/speech";
import type { TtsAudio, TtsEngine } from "./types";

/**
 * The bundled offline engine: eSpeak NG compiled to WebAssembly (npm `espeak-ng`, the program
 * with its voice data embedded, Indonesian and English among them). A render runs the program once
 * in a fresh instance (about 30 MB, freed afterwards): the text goes in as a file (`-f`, so text
 * that looks like an option stays text) and the WAV comes out of the instance's memory file
 * system (`-w`). Nothing is downloaded at run time and no system package is needed.
 *
 * The program runs synchronously for the whole render (hundreds of milliseconds for a long
 * message), so it runs in worker threads, never on the event loop that serves requests and
 * delivers alerts: `workers` of them, each rendering one text at a time, at the lowest CPU priority
 * (nice 19, per thread on Linux). A worker that errors or exits is replaced on the next render.
 */

const VOICES: Record<TtsLanguage, string> = { id: "id", en: "en-us" };

/** The worker's code (plain JavaScript, so it runs the same under tsx, Vitest and the built dist/). */
const WORKER_CODE = `
const { parentPort, workerData } = require("node:worker_threads");
// Lowest CPU priority for this thread only (on Linux a thread has its own nice value): requests
// and alerts on the main thread always come first; speech takes what is left.
try { require("node:os").setPriority(19); } catch {}
let factory = null;
parentPort.on("message", async (job) => {
	try {
		factory = factory || (await import(workerData.moduleUrl)).default;
		const errors = [];
		const es = await factory({
			arguments: job.args,
			preRun: [(m) => m.FS.writeFile("/in.txt", job.text)],
			print() {},
			printErr: (s) => errors.push(s),
		});
		let data;
		try { data = es.FS.readFile("/out.wav"); } catch { throw new Error("espeak-ng wrote no audio" + (errors.length ? ": " + errors.join(" ").slice(0, 200) : "")); }
		parentPort.postMessage({ id: job.id, data }, [data.buffer]);
	} catch (err) {
		parentPort.postMessage({ id: job.id, error: String((err && err.message) || err) });
	}
});
`;

export interface EspeakOptions {
	/** Words per minute (eSpeak's `-s`, default 165). */
	wordsPerMinute?: number;
	/** Worker threads (renders at once), default 1. */
	workers?: number;
}

interface Slot {
	worker: Worker | null;
	busy: number;
}

type Pending = { resolve: (d: Uint8Array) => void; reject: (e: Error) => void };

/** The engine's module; an optional dependency, so an install may have left it out (`--omit=optional`). */
function resolveEngine(): string {
	try {
		return require.resolve("espeak-ng");
	} catch {
		throw new Error("the espeak-ng package is not installed (npm install --omit=optional leaves it out): install it, or set TTS_PROVIDER=google");
	}
}

export function espeakEngine(opts: EspeakOptions = {}): TtsEngine & { close(): Promise<void> } {
	const wpm = String(opts.wordsPerMinute ?? 165);
	const slots: Slot[] = Array.from({ length: Math.max(1, opts.workers ?? 1) }, () => ({ worker: null, busy: 0 }));
	const pending = new Map<number, Pending>();
	let seq = 0;
	let moduleUrl: string | null = null;

	const start = (slot: Slot): Worker => {
		moduleUrl ??= pathToFileURL(resolveEngine()).href;
		const worker = new Worker(WORKER_CODE, { eval: true, workerData: { moduleUrl } });
		const owned = new Set<number>();
		(worker as Worker & { owned?: Set<number> }).owned = owned;
		worker.on("message", (m: { id: number; data?: Uint8Array; error?: string }) => {
			const p = pending.get(m.id);
			pending.delete(m.id);
			owned.delete(m.id);
			slot.busy = Math.max(0, slot.busy - 1);
			if (slot.busy === 0) worker.unref();
			if (!p) return;
			if (m.error || !m.data) p.reject(new Error(m.error ?? "espeak-ng answered nothing"));
			else p.resolve(m.data);
		});
		const fail = (err: Error) => {
			if (slot.worker === worker) slot.worker = null;
			slot.busy = 0;
			for (const id of owned) {
				pending.get(id)?.reject(err);
				pending.delete(id);
			}
			owned.clear();
		};
		worker.on("error", fail);
		worker.on("exit", (code) => fail(new Error(`espeak-ng worker exited (${code})`)));
		// Alive while it renders, never what keeps an idle process up (unref after the listeners:
		// adding one refs the port again).
		worker.unref();
		slot.worker = worker;
		return worker;
	};

	return {
		name: "espeak-ng",
		async synthesize(text: string, lang: TtsLanguage): Promise<TtsAudio> {
			const slot = slots.reduce((a, b) => (b.busy < a.busy ? b : a));
			const worker = slot.worker ?? start(slot);
			const id = ++seq;
			const data = await new Promise<Uint8Array>((resolve, reject) => {
				pending.set(id, { resolve, reject });
				(worker as Worker & { owned?: Set<number> }).owned!.add(id);
				slot.busy++;
				worker.ref();
				worker.postMessage({ id, text, args: ["-b", "1", "-v", VOICES[lang], "-s", wpm, "-w", "/out.wav", "-f", "/in.txt"] });
			});
			if (data.length <= 44) throw new Error("espeak-ng wrote an empty WAV file");
			return { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), contentType: "audio/wav", ext: "wav" };
		},
		async close() {
			await Promise.all(slots.map((s) => s.worker?.terminate()));
			for (const s of slots) s.worker = null;
		},
	};
}
