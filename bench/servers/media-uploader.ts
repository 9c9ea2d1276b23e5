import http from "node:http";
import { serveChild } from "../lib";
import { images, upload } from "../scenarios/media";

/**
 * Load generator for the media scenario, in a process of its own: `upload {url, token,
 * concurrency, bytes, seconds}` keeps `concurrency` uploads of distinct `bytes`-sized images
 * running without pause for `seconds`, and answers how many finished.
 */
serveChild(
	{ pid: process.pid },
	{
		async upload(args: { url: string; token: string; concurrency: number; bytes: number; seconds: number }) {
			const files = images(args.concurrency, args.bytes, 5000);
			const agent = new http.Agent({ keepAlive: true, maxSockets: args.concurrency });
			const until = Date.now() + args.seconds * 1000;
			let uploads = 0;
			let bytes = 0;
			await Promise.all(
				files.map(async (f, i) => {
					while (Date.now() < until) {
						// The same bytes again each round: stored once, but every upload is read, hashed and checked in full.
						const status = await upload(args.url, args.token, f, `c${i}.png`, agent);
						if (status !== 201) throw new Error(`concurrent upload answered ${status}`);
						uploads++;
						bytes += f.length;
					}
				}),
			);
			agent.destroy();
			return { uploads, bytes };
		},
	},
);
process.once("disconnect", () => process.exit(0));
process.once("SIGTERM", () => process.exit(0));
