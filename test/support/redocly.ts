import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./harness";

export interface LintProblem {
	ruleId: string;
	severity: "error" | "warn";
	message: string;
	location?: { pointer?: string }[];
}

/**
 * Lints an OpenAPI document with Redocly CLI's built-in `recommended` ruleset (the devDependency,
 * run with this Node). Offline: no config to fetch, telemetry and the update check are off.
 */
export async function redoclyLint(doc: unknown): Promise<LintProblem[]> {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redocly-"));
	const file = path.join(dir, "openapi.json");
	fs.writeFileSync(file, JSON.stringify(doc));
	const cli = path.join(ROOT, "node_modules/@redocly/cli/bin/cli.js");
	const env = { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" };
	try {
		const stdout = await new Promise<string>((resolve, reject) => {
			execFile(
				process.execPath,
				[cli, "lint", file, "--format=json", "--extends=recommended"],
				{ cwd: dir, env, timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
				(err, out) => {
					// Exit code 1 means "problems found"; the JSON report is on stdout either way.
					if (err && !out) reject(err);
					else resolve(out);
				},
			);
		});
		const json = stdout.slice(stdout.indexOf("{"));
		const report = JSON.parse(json) as { problems: LintProblem[] };
		return report.problems;
	} finally {
		fs.rmSync(dir, { recursive: true, force: true });
	}
}
