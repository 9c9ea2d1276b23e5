import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { googleEngine } from "../../../../lib/tts/google";
import { createTtsEngine } from "../../../../lib/tts";
import { ttsConfig } from "../../../../lib/config/tts";
import { startFakeGoogleTts, type FakeGoogleTts } from "../../../support/fake-google-tts";

/** The Google Cloud TTS engine against a local fake of its documented REST API. */
let fake: FakeGoogleTts;

beforeAll(async () => {
	fake = await startFakeGoogleTts("k-123");
});
afterAll(() => fake.close());

const engine = () => googleEngine({ apiKey: "k-123", url: fake.url, voices: { id: "id-ID-Standard-A", en: "en-US-Standard-C" } });

describe("Google Cloud TTS engine", () => {
	it("sends text:synthesize with the voice of the language and decodes audioContent", async () => {
		const audio = await engine().synthesize("Budi berkata: halo", "id");
		expect(audio).toMatchObject({ contentType: "audio/mpeg", ext: "mp3" });
		expect(audio.data.subarray(4).toString()).toBe("Budi berkata: halo");
		expect(fake.synthesized.at(-1)).toEqual({
			input: { text: "Budi berkata: halo" },
			voice: { languageCode: "id-ID", name: "id-ID-Standard-A" },
			audioConfig: { audioEncoding: "MP3" },
		});
		await engine().synthesize("hello", "en");
		expect(fake.synthesized.at(-1)?.voice).toEqual({ languageCode: "en-US", name: "en-US-Standard-C" });
	});

	it("says what Google answered when it refuses or fails", async () => {
		const wrongKey = googleEngine({ apiKey: "nope", url: fake.url, voices: { id: "a", en: "b" } });
		await expect(wrongKey.synthesize("x", "id")).rejects.toThrow(/403 PERMISSION_DENIED/);
		fake.failNext = 1;
		await expect(engine().synthesize("x", "id")).rejects.toThrow(/503 UNAVAILABLE/);
		expect((await engine().synthesize("after", "id")).data.length).toBeGreaterThan(4);
	});

	it("is chosen by TTS_PROVIDER=google, which needs the key", () => {
		expect(() => ttsConfig({ TTS_PROVIDER: "google" })).toThrow(/GOOGLE_TTS_API_KEY/);
		expect(() => ttsConfig({ TTS_PROVIDER: "polly" })).toThrow(/TTS_PROVIDER/);
		expect(createTtsEngine(ttsConfig({ TTS_PROVIDER: "google", GOOGLE_TTS_API_KEY: "k", GOOGLE_TTS_URL: fake.url })).name).toBe("google");
		expect(createTtsEngine(ttsConfig({})).name).toBe("espeak-ng");
	});
});
