/**
 * `npm run dev`: the embedded system from the TypeScript sources with hot reload and the REPL.
 * Editing services/*.service.ts (or a module it imports) reloads that service in place; the
 * REPL stays open with the operator commands (docs/operations.md).
 */
import path from "node:path";
import config, { tracingExporter } from "../moleculer.config";
import { startNode } from "../lib/ops/node";

async function main() {
	// Development traces every request to the console unless TRACING_EXPORTER says otherwise.
	const exporter = tracingExporter({ ...process.env, TRACING_EXPORTER: process.env.TRACING_EXPORTER || "console" });
	const broker = await startNode(
		{ ...config, tracing: { ...(config.tracing as object), enabled: !!exporter, exporter: exporter as any } },
		{
			servicesDir: path.resolve(__dirname, "../services"),
			withServices: true,
			hotReload: process.env.HOT_RELOAD !== "false",
		},
	);
	broker.logger.info(
		`MediaShar dev node ${broker.nodeID} on http://localhost:${process.env.PORT || 3000} (hot reload ${process.env.HOT_RELOAD === "false" ? "off" : "on"}).`,
	);
	if (process.stdin.isTTY || process.env.DEV_REPL === "true") broker.repl();
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
