import { espeakEngine } from "../../lib/tts/espeak";
import { speechText } from "../../lib/domain/alerts/speech";
import { QUICK, benchEnv, round, sleep, startChild, summarize, verdict, writeResult, type Child, type ScenarioResult } from "../lib";
import { PipelineDriver, setupStreamers } from "./pipeline";

/**
 * Server-side text-to-speech of alerts:
 *  - render: the bundled engine (eSpeak NG WASM) speaking a 200-character Indonesian message to
 *    WAV, one render at a time in this process, each message different (no cache);
 *  - settled → alert with speech on for every donation (each message different, 200 characters):
 *    the pipeline's open-loop latency. The alert must not wait for its speech, so the target is
 *    the pipeline's own (p99 ≤ 50 ms); the renders still run (one per channel at a time,
 *    TTS_CONCURRENCY per process) and share the machine's two cores with the pipeline.
 */

const WORDS = "semangat terus bang main game ini seru banget salam dari bandung buat semua penonton stream malam ini jangan lupa makan".split(" ");

function message(n: number): string {
	const out: string[] = [];
	for (let i = 0; out.join(" ").length < 200; i++) out.push(WORDS[(n * 7 + i * 3) % WORDS.length]);
	return `${n} ${out.join(" ")}`.slice(0, 200);
}

export async function ttsScenario(): Promise<ScenarioResult> {
	const renders = QUICK ? 10 : 40;
	// Well above what one render thread keeps up with (a burst): renders queue and some time out.
	const rate = 20;
	const seconds = QUICK ? 5 : 15;
	const engine = espeakEngine();
	await engine.synthesize("pemanasan", "id"); // the first render loads and compiles the WASM module
	const times: number[] = [];
	let audioSec = 0;
	for (let i = 0; i < renders; i++) {
		const text = speechText({ name: "Budi", message: message(i), terms: [], lang: "id", maxChars: 200 });
		const t0 = performance.now();
		const audio = await engine.synthesize(text, "id");
		times.push(performance.now() - t0);
		audioSec += (audio.data.length - 44) / 44_100;
	}
	const render = { ...summarize(times), meanAudioSec: round(audioSec / renders, 2) };
	console.log(`  render (200 chars, id): p50 ${render.p50} ms, p99 ${render.p99} ms, ~${render.meanAudioSec} s of audio each`);

	let ms: Child | undefined;
	let driver: PipelineDriver | undefined;
	try {
		ms = await startChild("servers/mediashar.ts", benchEnv("tts"));
		const streamers = await setupStreamers(ms.info.url, QUICK ? 5 : 20, "ttsstreamer");
		driver = new PipelineDriver({ name: "mediashar-tts", url: ms.info.url, streamers });
		driver.messageFor = message;
		await driver.connect();
		await driver.latency(10, 1); // warm-up
		// The same server and rate with speech off first: the figure to compare with.
		const off = await driver.latency(rate, seconds);
		console.log(`  settled→alert with speech off, at ${rate}/s: p50 ${off.settledToAlertMs.p50} ms, p99 ${off.settledToAlertMs.p99} ms`);
		for (const s of streamers) {
			const res = await fetch(`${ms.info.url}/api/users/me`, {
				method: "PATCH",
				headers: { "Content-Type": "application/json", Authorization: `Bearer ${s.token}` },
				body: JSON.stringify({ settings: { alerts: { tts: true, ttsMinAmount: 0, ttsLanguage: "id" } } }),
			});
			if (res.status !== 200) throw new Error(`tts settings: ${res.status}`);
		}
		await sleep(1000);
		const lat = await driver.latency(rate, seconds);
		console.log(
			`  settled→alert with speech on, at ${rate}/s: p50 ${lat.settledToAlertMs.p50} ms, p99 ${lat.settledToAlertMs.p99} ms (${lat.alerted}/${lat.offered} alerted)`,
		);
		const pass = lat.settledToAlertMs.p99 <= 50 && lat.missingAlerts === 0 && lat.duplicates === 0;
		const result: ScenarioResult = {
			scenario: "tts",
			target: "settled→alert p99 ≤ 50 ms with speech on (the alert does not wait for it); render time of a 200-character message reported",
			pass,
			render,
			latency: lat,
			latencySpeechOff: off,
		};
		writeResult("tts", result);
		console.log(`  ${verdict(pass)}`);
		return result;
	} finally {
		driver?.close();
		await ms?.stop();
	}
}
