import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/** The README is the front door: every environment variable the code reads is listed there. */
const ROOT = path.resolve(__dirname, "../..");
const SOURCES = ["services", "lib", "mixins", "scripts"].map((d) => path.join(ROOT, d));
const READS = /(?:process\.env|\benv|\be)\.([A-Z][A-Z0-9_]+)|(?:intEnv|boolEnv|secret|num)\("([A-Z][A-Z0-9_]+)"/g;
// Set by the test runner, never by an operator.
const NOT_SETTINGS = new Set(["VITEST"]);

function files(dir: string): string[] {
	return fs
		.readdirSync(dir, { withFileTypes: true })
		.flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

describe("README", () => {
	it("lists every environment variable the code reads", () => {
		const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
		const names = new Set<string>();
		for (const f of [...SOURCES.flatMap(files), path.join(ROOT, "moleculer.config.ts")]) {
			for (const m of fs.readFileSync(f, "utf8").matchAll(READS)) names.add(m[1] ?? m[2]);
		}
		expect(names.size).toBeGreaterThan(50);
		const missing = [...names].filter((n) => !NOT_SETTINGS.has(n) && !readme.includes(`\`${n}\``)).sort();
		expect(missing).toEqual([]);
	});
});
