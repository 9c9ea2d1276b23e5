import type { Socket } from "socket.io-client";
import {
	QUICK,
	barChart,
	benchEnv,
	registerAndSignIn,
	round,
	sleep,
	startChild,
	summarize,
	verdict,
	writeResult,
	type Child,
	type ScenarioResult,
} from "../lib";
import { ack, closeAll, connectMany } from "./sockets";

/**
 * Chat fan-out: `listeners` sockets in one channel room, one signed-in sender posting `messages`
 * chat messages with at most `window` unacknowledged. Every listener records when each message
 * arrives; delivery latency = arrival − send (same clock: the clients share this process).
 * The figure is messages per second until the last delivery, against a bare Socket.IO server
 * broadcasting the same payload to the same number of clients.
 */

interface FanoutRun {
	messages: number;
	listeners: number;
	delivered: number;
	expected: number;
	msgsPerSec: number;
	deliveriesPerSec: number;
	latencyMs: ReturnType<typeof summarize>;
	sendErrors: number;
	errorSample?: string;
}

async function fanout(url: string, channel: string, sender: Socket, listeners: Socket[], messages: number, window: number): Promise<FanoutRun> {
	const sentAt: number[] = [];
	const latencies: number[] = [];
	let delivered = 0;
	let lastDelivery = 0;
	const onMessage = (m: { text: string }) => {
		const now = performance.now();
		const idx = Number(/^m(\d+) /.exec(m.text)?.[1]);
		if (Number.isFinite(idx) && sentAt[idx] !== undefined) {
			latencies.push(now - sentAt[idx]);
			delivered++;
			lastDelivery = now;
		}
	};
	for (const l of listeners) l.on("chat:message", onMessage);
	let sendErrors = 0;
	let errorSample: string | undefined;
	const start = performance.now();
	let next = 0;
	const payloadPad = "x".repeat(60);
	await Promise.all(
		Array.from({ length: window }, async () => {
			while (next < messages) {
				const i = next++;
				sentAt[i] = performance.now();
				const res = await ack(sender, "chat:send", { channel, text: `m${i} ${payloadPad}` }).catch((e: Error) => ({
					ok: false,
					error: { message: e.message },
				}));
				if (!res?.ok) {
					sendErrors++;
					errorSample ??= JSON.stringify(res);
				}
			}
		}),
	);
	const expected = messages * listeners.length;
	const deadline = Date.now() + 60_000;
	while (delivered < expected - sendErrors * listeners.length && Date.now() < deadline) await sleep(20);
	for (const l of listeners) l.off("chat:message", onMessage);
	const elapsed = (lastDelivery - start) / 1000;
	return {
		messages,
		listeners: listeners.length,
		delivered,
		expected,
		msgsPerSec: round(delivered / listeners.length / elapsed, 1),
		deliveriesPerSec: round(delivered / elapsed, 0),
		latencyMs: summarize(latencies),
		sendErrors,
		errorSample,
	};
}

export async function chatScenario(): Promise<ScenarioResult> {
	const listenersCount = QUICK ? 300 : 2000;
	const messages = QUICK ? 40 : 200;
	const window = 4;
	let ms: Child | undefined;
	let base: Child | undefined;
	let sockets: Socket[] = [];
	try {
		// baseline
		base = await startChild("servers/baseline-chat.ts");
		sockets = await connectMany(base.info.url, listenersCount + 1);
		const [bSender, ...bListeners] = sockets;
		for (const s of sockets) await ack(s, "chat:join", { channel: "streamer" });
		await fanout(base.info.url, "streamer", bSender, bListeners, 10, window);
		const b = await fanout(base.info.url, "streamer", bSender, bListeners, messages, window);
		console.log(`  baseline: ${b.msgsPerSec} msg/s to ${b.listeners} sockets (${b.deliveriesPerSec} deliveries/s), p99 ${b.latencyMs.p99} ms`);
		closeAll(sockets);
		sockets = [];
		await base.stop();
		base = undefined;

		// MediaShar
		ms = await startChild("servers/mediashar.ts", {
			...benchEnv("chat"),
			BENCH_SERVICES: "users,chat,follows",
			CHAT_RATE_BURST: "1000000",
			CHAT_RATE_SUSTAINED: "1000000",
		});
		const owner = await registerAndSignIn(ms.info.url, "chat_owner");
		const [sender] = await connectMany(ms.info.url, 1, { auth: { token: owner.token } });
		sockets.push(sender);
		const listeners = await connectMany(ms.info.url, listenersCount);
		sockets.push(...listeners);
		const joined = await ack(sender, "chat:join", { channel: owner.username });
		if (!joined.ok) throw new Error(`join: ${JSON.stringify(joined)}`);
		for (let i = 0; i < listeners.length; i += 200) {
			const acks = await Promise.all(listeners.slice(i, i + 200).map((s) => ack(s, "chat:join", { channel: owner.username })));
			const bad = acks.find((a) => !a.ok);
			if (bad) throw new Error(`listener join: ${JSON.stringify(bad)}`);
		}
		await fanout(ms.info.url, owner.username, sender, listeners, 10, window);
		const m = await fanout(ms.info.url, owner.username, sender, listeners, messages, window);
		console.log(
			`  MediaShar: ${m.msgsPerSec} msg/s to ${m.listeners} sockets (${m.deliveriesPerSec} deliveries/s), p99 ${m.latencyMs.p99} ms${m.sendErrors ? `, ${m.sendErrors} send errors ${m.errorSample}` : ""}`,
		);

		const ratio = m.msgsPerSec / b.msgsPerSec;
		const latRatio = m.latencyMs.p99 / b.latencyMs.p99;
		const pass = ratio >= 0.7 && latRatio <= 1.5 && m.delivered === m.expected;
		const result: ScenarioResult = {
			scenario: "chat",
			target: "fan-out to 2,000 sockets ≥ 70% of bare Socket.IO msg/s, p99 ≤ 1.5× baseline",
			pass: QUICK ? null : pass,
			setup: { listeners: listenersCount, messages, window, payload: "chat:message, ~70 character text" },
			mediashar: m,
			baseline: b,
			throughputRatio: round(ratio, 3),
			p99Ratio: round(latRatio, 3),
		};
		writeResult(
			"chat",
			result,
			barChart(`Chat fan-out to ${listenersCount} sockets`, "", [
				{
					name: `messages/s (higher is better); ratio ${round(ratio * 100, 1)}%, target ≥ 70%`,
					bars: [
						{ label: "bare Socket.IO", value: b.msgsPerSec, baseline: true },
						{ label: "MediaShar", value: m.msgsPerSec },
					],
				},
				{
					name: `delivery p99, ms (lower is better); ${round(latRatio, 2)}×, target ≤ 1.5×`,
					bars: [
						{ label: "bare Socket.IO", value: b.latencyMs.p99, baseline: true },
						{ label: "MediaShar", value: m.latencyMs.p99 },
					],
				},
			]),
		);
		console.log(
			`CHAT  MediaShar ${m.msgsPerSec} msg/s vs ${b.msgsPerSec} (${round(ratio * 100, 1)}%), p99 ${m.latencyMs.p99} vs ${b.latencyMs.p99} ms (${round(latRatio, 2)}×)  ${QUICK ? "(quick: not judged, 300 sockets)" : verdict(pass)}`,
		);
		return result;
	} finally {
		closeAll(sockets);
		await ms?.stop();
		await base?.stop();
	}
}
