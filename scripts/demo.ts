/**
 * `npm run demo`: seeds a demo streamer, viewers, posts and paid donations through the public
 * HTTP API, then prints the overlay, donation page and dashboard URLs and curl examples.
 *  - DEMO_URL=http://host:3000 → seeds that running instance and exits;
 *  - otherwise starts the embedded system (every service, data under DATA_DIR, default ./data)
 *    on PORT (default 3000), seeds it and keeps running until Ctrl+C (DEMO_EXIT=true to stop).
 * Steps whose endpoint answers 404 are skipped with a message.
 */
import path from "node:path";
import { demoSummary, runDemo } from "../lib/ops/demo";

const PASSWORD = process.env.DEMO_PASSWORD || "demo password 1234";

async function main() {
	let base = process.env.DEMO_URL?.replace(/\/+$/, "");
	let stop: (() => Promise<void>) | null = null;
	if (!base) {
		process.env.LOG_LEVEL ??= "warn";
		const port = Number(process.env.PORT || 3000);
		process.env.PUBLIC_URL ??= `http://localhost:${port}`;
		console.log(`Starting the embedded system on port ${port} (set DEMO_URL to seed a running instance instead)...`);
		// Imported here so that LOG_LEVEL/PUBLIC_URL above apply to the broker's config.
		const { default: config } = await import("../moleculer.config");
		const { startNode } = await import("../lib/ops/node");
		const broker = await startNode(config, { servicesDir: path.resolve(__dirname, "../services"), withServices: true });
		stop = () => broker.stop();
		base = `http://localhost:${port}`;
		// The gateway builds its REST aliases shortly after the services start.
		const deadline = Date.now() + 10_000;
		while (
			Date.now() < deadline &&
			(await fetch(`${base}/api/openapi.json`)
				.then((r) => r.status)
				.catch(() => 0)) !== 200
		) {
			await new Promise((r) => setTimeout(r, 100));
		}
	}
	try {
		const result = await runDemo(base, { password: PASSWORD });
		console.log(demoSummary(result, PASSWORD));
	} catch (err) {
		console.error(`\nDemo stopped: ${(err as Error).message}`);
		if (stop) await stop();
		process.exit(1);
	}
	if (stop) {
		if (process.env.DEMO_EXIT === "true") {
			await stop();
			return;
		}
		console.log("\nThe embedded system keeps running; press Ctrl+C to stop.");
		const shutdown = () => void stop!().then(() => process.exit(0));
		process.once("SIGINT", shutdown);
		process.once("SIGTERM", shutdown);
	}
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
