import type { Socket } from "socket.io-client";
import { QUICK, barChart, benchEnv, registerAndSignIn, round, sleep, startChild, verdict, writeResult, type Child, type ScenarioResult } from "../lib";
import { closeAll, connectMany } from "./sockets";

/**
 * Gateway heap per idle connected socket: heap after a full GC with N signed-in sockets on the
 * main namespace, minus the heap before they connected, divided by N. The bare Socket.IO server
 * is measured the same way as the baseline.
 */

async function measure(child: Child, url: string, count: number, auth?: Record<string, unknown>) {
	await sleep(500);
	const before = (await child.ask("heap")).heapUsed as number;
	const sockets: Socket[] = await connectMany(url, count, { auth, batch: 200 });
	await sleep(1500);
	const after = await child.ask("heap");
	closeAll(sockets);
	return {
		sockets: count,
		connectedOnServer: after.sockets,
		heapBeforeMb: round(before / 2 ** 20, 1),
		heapAfterMb: round(after.heapUsed / 2 ** 20, 1),
		bytesPerSocket: Math.round((after.heapUsed - before) / count),
	};
}

export async function memoryScenario(): Promise<ScenarioResult> {
	const count = QUICK ? 500 : 5000;
	let ms: Child | undefined;
	let base: Child | undefined;
	try {
		base = await startChild("servers/baseline-chat.ts", {}, ["--expose-gc"]);
		const b = await measure(base, base.info.url, count);
		await base.stop();
		base = undefined;
		console.log(`  baseline: ${round(b.bytesPerSocket / 1024, 2)} KB per socket`);

		ms = await startChild("servers/mediashar.ts", { ...benchEnv("memory"), BENCH_SERVICES: "users,chat" }, ["--expose-gc"]);
		const user = await registerAndSignIn(ms.info.url, "mem_user");
		// one warm-up connection so first-use allocations are not counted per socket
		closeAll(await connectMany(ms.info.url, 20, { auth: { token: user.token } }));
		const m = await measure(ms, ms.info.url, count, { token: user.token });
		const kb = m.bytesPerSocket / 1024;
		const pass = kb <= 20;
		console.log(
			`MEMORY  MediaShar ${round(kb, 2)} KB per idle signed-in socket at ${count} sockets (baseline ${round(b.bytesPerSocket / 1024, 2)} KB; target ≤ 20 KB)  ${verdict(pass)}`,
		);
		const result: ScenarioResult = {
			scenario: "memory",
			target: "≤ 20 KB gateway heap per idle connected socket at 5,000 sockets",
			pass: QUICK ? null : pass,
			mediashar: m,
			baseline: b,
			kbPerSocket: round(kb, 2),
			baselineKbPerSocket: round(b.bytesPerSocket / 1024, 2),
		};
		writeResult(
			"memory",
			result,
			barChart(`Heap per idle socket at ${count} sockets (KB, lower is better; target ≤ 20)`, "KB", [
				{
					name: "signed-in sockets, main namespace",
					bars: [
						{ label: "bare Socket.IO", value: b.bytesPerSocket / 1024, baseline: true },
						{ label: "MediaShar gateway", value: kb },
					],
				},
			]),
		);
		return result;
	} finally {
		await ms?.stop();
		await base?.stop();
	}
}
