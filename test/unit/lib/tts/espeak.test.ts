import { afterAll, describe, expect, it } from "vitest";
import { espeakEngine } from "../../../../lib/tts/espeak";
import { wavSeconds } from "../../../../services/alerts/alerts.tts";

/** The bundled engine (eSpeak NG WASM from npm, in a worker thread): real renders, no network. */
const engine = espeakEngine({ workers: 2 });
afterAll(() => engine.close());

describe("eSpeak NG engine", () => {
	it("speaks Indonesian and English to WAV, longer text giving longer audio", async () => {
		const [id, en, long] = await Promise.all([
			engine.synthesize("Budi berkata: semangat terus", "id"),
			engine.synthesize("Budi says: keep it up", "en"),
			engine.synthesize("Budi berkata: " + "semangat terus ya bang ".repeat(8), "id"),
		]);
		for (const a of [id, en, long]) {
			expect(a).toMatchObject({ contentType: "audio/wav", ext: "wav" });
			expect(a.data.subarray(0, 4).toString()).toBe("RIFF");
			expect(a.data.subarray(8, 12).toString()).toBe("WAVE");
		}
		expect(wavSeconds(id.data)!).toBeGreaterThan(0.5);
		expect(wavSeconds(long.data)!).toBeGreaterThan(wavSeconds(id.data)! * 3);
	});

	it("reads text that looks like a command-line option as text", async () => {
		const a = await engine.synthesize("--help -v xx", "en");
		expect(wavSeconds(a.data)!).toBeGreaterThan(0.3);
	});
});
