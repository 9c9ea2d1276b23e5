import fs from "node:fs";
import path from "node:path";

/**
 * The service files of a checkout or a build: every `NAME.service.ts` (or `.js`) under
 * `services/<context>/`, by service file name ("users" → services/accounts/users.service.ts).
 * Tests, benchmarks and scripts load services by name through this, so moving a service to
 * another context folder changes nothing for them.
 */
export function serviceFiles(servicesDir: string, ext = ".service.ts"): Map<string, string> {
	const out = new Map<string, string>();
	const walk = (dir: string) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
			const full = path.join(dir, entry.name);
			if (entry.isDirectory()) walk(full);
			else if (entry.name.endsWith(ext)) {
				const name = entry.name.slice(0, -ext.length);
				if (out.has(name)) throw new Error(`Two service files named ${name}: ${out.get(name)} and ${full}`);
				out.set(name, full);
			}
		}
	};
	walk(servicesDir);
	return out;
}

/** The file of one service by name; throws with the known names when there is none. */
export function serviceFile(servicesDir: string, name: string, ext = ".service.ts"): string {
	const file = serviceFiles(servicesDir, ext).get(name);
	if (!file) throw new Error(`No service file named ${name}${ext} under ${servicesDir} (known: ${[...serviceFiles(servicesDir, ext).keys()].join(", ")})`);
	return file;
}
