import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startHarness, type Harness } from "../../support/harness";

/**
 * docs/api.md is the repo's own API reference; /api/openapi.json is generated from the running
 * actions. Every OpenAPI operation has its `METHOD /path` row (or heading) in docs/api.md and
 * every such row names an operation the gateway really routes, so neither can drift.
 */

const METHODS = "GET|POST|PUT|PATCH|DELETE";
/** A table row whose first cell is `METHOD /path`, or a heading that is one. */
const ROW = new RegExp(`^\\|\\s*\`(${METHODS}) (/[^\`\\s]*)\``);
const HEADING = new RegExp(`^#{1,6}\\s+\`?(${METHODS}) (/[^\`\\s]*)\`?\\s*$`);

/** "/api/users/:username?x" → "/api/users/{username}" (the OpenAPI template). */
function template(p: string): string {
	return p.split("?")[0].replace(/:([A-Za-z0-9_]+)\??/g, "{$1}");
}

function documentedInMarkdown(md: string): string[] {
	const out: string[] = [];
	for (const line of md.split("\n")) {
		const m = ROW.exec(line) ?? HEADING.exec(line);
		if (m) out.push(`${m[1]} ${template(m[2])}`);
	}
	return out;
}

const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

describe("docs/api.md", () => {
	let h: Harness;
	let served: string[];

	beforeAll(async () => {
		// Every service, as the gateway serves the document: the same `ops.openapi` behind GET /api/openapi.json.
		h = await startHarness();
		const doc = (await h.broker.call("ops.openapi")) as { paths: Record<string, Record<string, unknown>> };
		served = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
	}, 60_000);

	afterAll(async () => {
		await h?.stop();
	});

	it("lists every OpenAPI operation, and only those", () => {
		const documented = documentedInMarkdown(read("docs/api.md"));
		expect(served.length).toBeGreaterThan(50);
		// missing: served but without a row in docs/api.md; unknown: a row the gateway does not route.
		const missing = served.filter((k) => !documented.includes(k)).sort();
		const unknown = documented.filter((k) => !served.includes(k)).sort();
		expect({ missing, unknown }).toEqual({ missing: [], unknown: [] });
		// One row per operation.
		expect(documented.filter((k, i) => documented.indexOf(k) !== i)).toEqual([]);
	});

	it("is what the docs point at: linked from the README, and no doc points outside the repo", () => {
		expect(read("README.md").includes("](docs/api.md)"), "README.md links docs/api.md").toBe(true);
		const docs = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) => f.endsWith(".md"));
		expect(docs.filter((f) => read(f).includes("shared/API.md"))).toEqual([]);
		expect(read("docs/internals.md").includes("](api.md)"), "docs/internals.md links api.md").toBe(true);
	});
});
