/**
 * `npm run repl`: an operator console.
 *  - TRANSPORTER set → a service-less node joins the running cluster and opens the REPL;
 *  - no TRANSPORTER   → starts the embedded system (every service, as `npm start`) with the REPL.
 * Custom commands (alerts, replay, dlq, reconcile, users, ban, unban, rotate-overlay, stats) come
 * from moleculer.config.ts `replOptions`; type `help` in the REPL. See docs/operations.md.
 */
import path from "node:path";
import config from "../moleculer.config";
import { replNodeId, startNode } from "../lib/ops/node";

async function main() {
	const joining = !!process.env.TRANSPORTER;
	const broker = await startNode(config, {
		servicesDir: path.resolve(__dirname, "../services"),
		withServices: !joining,
		nodeID: joining ? replNodeId() : undefined,
	});
	if (joining) {
		// Let the first heartbeat round discover the other nodes before the prompt appears.
		const deadline = Date.now() + 5000;
		while (Date.now() < deadline && broker.registry.getNodeList({ onlyAvailable: true, withServices: false }).length < 2) {
			await new Promise((r) => setTimeout(r, 100));
		}
		broker.logger.info(`REPL node ${broker.nodeID} joined ${process.env.TRANSPORTER}. Type 'help' or 'nodes'.`);
	} else {
		broker.logger.info("Embedded system started with the REPL. Type 'help' for the operator commands.");
	}
	broker.repl();
}

main().catch((err) => {
	console.error(err);
	process.exit(1);
});
