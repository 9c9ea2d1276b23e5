import fs from "node:fs";
import path from "node:path";

/** The project root (the folder holding package.json), from source or from dist/. */
export const ROOT = (() => {
	let dir = __dirname;
	while (!fs.existsSync(path.join(dir, "package.json"))) {
		const up = path.dirname(dir);
		if (up === dir) return process.cwd();
		dir = up;
	}
	return dir;
})();

export const PUBLIC_DIR = path.join(ROOT, "public");
