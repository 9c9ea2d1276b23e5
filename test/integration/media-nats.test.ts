import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, type Harness } from "../support/harness";
import { hasNatsServer, startNatsServer, type NatsServer } from "../support/nats";
import * as files from "../support/media-files";

/** The media library with its bytes in a NATS JetStream Object Store (MEDIA_STORE=nats), as in a cluster. */
describe.skipIf(!hasNatsServer)("media library on the NATS Object Store", () => {
	let nats: NatsServer;
	let h: Harness;
	const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-media-nats-"));

	beforeAll(async () => {
		nats = await startNatsServer({ jetstream: true });
		h = await startHarness({
			services: ["users", "media"],
			env: { SCRYPT_COST: "1024", DATA_DIR: dataDir, MEDIA_STORE: "nats", MEDIA_NATS_URL: nats.url, MEDIA_BUCKET: "media-it" },
		});
	}, 30_000);
	afterAll(async () => {
		await h?.stop();
		nats?.stop();
		fs.rmSync(dataDir, { recursive: true, force: true });
	});

	async function upload(token: string, data: Buffer, name: string) {
		const form = new FormData();
		form.append("file", new Blob([new Uint8Array(data)]), name);
		const res = await fetch(`${h.url}/api/media`, { method: "POST", body: form, headers: { Authorization: `Bearer ${token}` } });
		return { status: res.status, body: await res.json() };
	}

	it("uploads, serves with Range and ETag, and deletes, with nothing kept on local disk", async () => {
		const u = await registerUser(h.url, "nat");
		const data = files.wav(10, 5);
		const up = await upload(u.token, data, "ten-seconds.wav");
		expect(up.status).toBe(201);
		expect(up.body).toMatchObject({ kind: "audio", contentType: "audio/wav", durationSec: 10 });
		const whole = await fetch(h.url + up.body.url);
		expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
		const part = await fetch(h.url + up.body.url, { headers: { Range: "bytes=131000-140000" } });
		expect(part.status).toBe(206);
		expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(131000, 140001))).toBe(true);
		expect((await fetch(h.url + up.body.url, { headers: { "If-None-Match": whole.headers.get("etag")! } })).status).toBe(304);
		const spool = path.join(dataDir, "media", ".incoming");
		expect(fs.existsSync(spool) ? fs.readdirSync(spool) : []).toEqual([]);
		expect((await upload(u.token, files.HTML_PAGE, "page.png")).status).toBe(415);
		expect(fs.existsSync(spool) ? fs.readdirSync(spool) : []).toEqual([]);
		const del = await client(h.url)("DELETE", `/api/media/${up.body.id}`, undefined, { token: u.token });
		expect(del.status).toBe(204);
		expect((await fetch(h.url + up.body.url)).status).toBe(404);
	});
});
