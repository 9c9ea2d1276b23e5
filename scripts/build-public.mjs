// Bundles the browser pages: web/pages/<name>.ts (+ the CSS they import) → public/build/<name>-<hash>.js|css,
// and writes public/build/manifest.json ({name: {js, css}}) for the gateway's page shells.
// Usage: node scripts/build-public.mjs [--watch]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pagesDir = path.join(root, "web", "pages");
const outdir = path.join(root, "public", "build");

const entryPoints = fs
	.readdirSync(pagesDir)
	.filter((f) => f.endsWith(".ts"))
	.map((f) => path.join(pagesDir, f));

/** @type {import("esbuild").BuildOptions} */
const options = {
	entryPoints,
	outdir,
	bundle: true,
	format: "iife",
	platform: "browser",
	target: ["chrome100", "firefox100", "safari15"],
	minify: process.env.NODE_ENV !== "development",
	sourcemap: "linked",
	entryNames: "[name]-[hash]",
	assetNames: "[name]-[hash]",
	loader: { ".svg": "file", ".woff2": "file" },
	metafile: true,
	legalComments: "none",
	logLevel: "warning",
	define: { "process.env.NODE_ENV": JSON.stringify(process.env.NODE_ENV === "development" ? "development" : "production") },
};

function writeManifest(metafile) {
	const manifest = {};
	for (const [file, out] of Object.entries(metafile.outputs)) {
		if (!out.entryPoint) continue;
		const name = path.basename(out.entryPoint, ".ts");
		const url = "/" + path.relative(path.join(root, "public"), path.join(root, file)).split(path.sep).join("/");
		manifest[name] ??= {};
		manifest[name].js = url;
		if (out.cssBundle) manifest[name].css = "/" + path.relative(path.join(root, "public"), path.join(root, out.cssBundle)).split(path.sep).join("/");
	}
	// Written last and atomically: the gateway re-reads it when it changes.
	const tmp = path.join(outdir, "manifest.json.tmp");
	fs.writeFileSync(tmp, JSON.stringify(manifest, null, 2));
	fs.renameSync(tmp, path.join(outdir, "manifest.json"));
	return manifest;
}

function cleanStale(metafile) {
	const keep = new Set(Object.keys(metafile.outputs).map((f) => path.resolve(root, f)));
	for (const f of fs.readdirSync(outdir)) {
		const full = path.join(outdir, f);
		if (f === ".gitignore" || f.startsWith("manifest.json")) continue;
		if (!keep.has(full)) fs.rmSync(full, { force: true });
	}
}

fs.mkdirSync(outdir, { recursive: true });
if (process.argv.includes("--watch")) {
	const ctx = await esbuild.context({
		...options,
		plugins: [{ name: "manifest", setup: (b) => b.onEnd((r) => r.metafile && (writeManifest(r.metafile), cleanStale(r.metafile))) }],
	});
	await ctx.watch();
	console.log("Watching web/ …");
} else {
	const started = Date.now();
	const result = await esbuild.build(options);
	const manifest = writeManifest(result.metafile);
	cleanStale(result.metafile);
	console.log(`Built ${Object.keys(manifest).length} pages into public/build in ${Date.now() - started} ms`);
}
