import type { TtsLanguage } from "../domain/alerts/speech";
import type { TtsAudio, TtsEngine } from "./types";

/**
 * The bundled offline engine: eSpeak NG compiled to WebAssembly (npm `espeak-ng`, the program
 * with its voice data embedded, Indonesian and English among them). Each render runs the program
 * once in a fresh instance (about 30 MB of memory, freed afterwards): the text goes in as a file
 * (`-f`, so text that looks like an option stays text) and the WAV comes out of the instance's
 * memory file system (`-w`). Nothing is downloaded at run time and no system package is needed.
 */

const VOICES: Record<TtsLanguage, string> = { id: "id", en: "en-us" };

interface EspeakModule {
	FS: { writeFile(path: string, data: string): void; readFile(path: string): Uint8Array };
}
type EspeakFactory = (opts: { arguments: string[]; preRun: ((m: EspeakModule) => void)[]; print(): void; printErr(s: string): void }) => Promise<EspeakModule>;

let factory: Promise<EspeakFactory> | null = null;

function load(): Promise<EspeakFactory> {
	// An ES module: loaded on first use, so a node that never speaks never pays for it.
	factory ??= import("espeak-ng").then((m) => m.default as unknown as EspeakFactory);
	return factory;
}

export interface EspeakOptions {
	/** Words per minute (eSpeak's `-s`, default 165). */
	wordsPerMinute?: number;
}

export function espeakEngine(opts: EspeakOptions = {}): TtsEngine {
	const wpm = String(opts.wordsPerMinute ?? 165);
	return {
		name: "espeak-ng",
		async synthesize(text: string, lang: TtsLanguage): Promise<TtsAudio> {
			const create = await load();
			const errors: string[] = [];
			const es = await create({
				arguments: ["-b", "1", "-v", VOICES[lang], "-s", wpm, "-w", "/out.wav", "-f", "/in.txt"],
				preRun: [(m) => m.FS.writeFile("/in.txt", text)],
				print() {},
				printErr: (s: string) => void errors.push(s),
			});
			let data: Uint8Array;
			try {
				data = es.FS.readFile("/out.wav");
			} catch {
				throw new Error(`espeak-ng wrote no audio${errors.length ? `: ${errors.join(" ").slice(0, 200)}` : ""}`);
			}
			if (data.length <= 44) throw new Error("espeak-ng wrote an empty WAV file");
			return { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), contentType: "audio/wav", ext: "wav" };
		},
	};
}
