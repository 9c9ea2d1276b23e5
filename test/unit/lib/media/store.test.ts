import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { text } from "node:stream/consumers";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FsMediaStore, sha256, type MediaStore } from "../../../../lib/media/store";
import { NatsMediaStore } from "../../../../lib/media/nats-store";
import { hasNatsServer, startNatsServer, type NatsServer } from "../../../support/nats";

async function bytes(stream: Readable | null): Promise<Buffer> {
	if (!stream) throw new Error("no blob");
	const parts: Buffer[] = [];
	for await (const c of stream) parts.push(c as Buffer);
	return Buffer.concat(parts);
}

/** The same behaviour from both stores: content-addressed, ranged reads, delete. */
function behavesLikeAMediaStore(open: () => Promise<MediaStore>) {
	let store: MediaStore;
	beforeAll(async () => {
		store = await open();
	});
	afterAll(() => store?.close());

	const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251));
	const keyOf = (h: string) => `${h}.wav`;

	it("stores bytes under their sha256, once", async () => {
		const a = await store.putBytes(data, keyOf);
		const b = await store.putBytes(data, keyOf);
		expect(a).toEqual(b);
		expect(a.hash).toBe(sha256(data));
		expect(await store.stat(a.key)).toEqual({ size: data.length });
		expect((await bytes(await store.get(a.key))).equals(data)).toBe(true);
	});

	it("reads a byte range across chunk boundaries", async () => {
		const { key } = await store.putBytes(data, keyOf);
		for (const [start, end] of [
			[0, 0],
			[131_000, 132_000],
			[data.length - 5, data.length - 1],
		]) {
			expect((await bytes(await store.get(key, { start, end }))).equals(data.subarray(start, end + 1))).toBe(true);
		}
	});

	it("takes a finished spool file and removes it", async () => {
		fs.mkdirSync(store.spoolDir, { recursive: true });
		const file = path.join(store.spoolDir, "upload.part");
		const content = Buffer.from("spooled bytes of a sound");
		fs.writeFileSync(file, content);
		const key = `${sha256(content)}.mp3`;
		await store.putFile(file, key);
		expect(fs.existsSync(file)).toBe(false);
		expect(await text((await store.get(key))!)).toBe("spooled bytes of a sound");
	});

	it("deletes: no stat, no bytes", async () => {
		const { key } = await store.putBytes(Buffer.from("to be deleted"), keyOf);
		await store.delete(key);
		expect(await store.stat(key)).toBeNull();
		expect(await store.get(key)).toBeNull();
		await store.delete(key);
	});

	it("refuses keys that are not content addresses", async () => {
		await expect(store.stat("../../etc/passwd")).rejects.toThrow(/not a media key/);
	});
}

describe("FsMediaStore", () => {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-fsstore-"));
	afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
	behavesLikeAMediaStore(() => new FsMediaStore(dir).init());
});

describe.skipIf(!hasNatsServer)("NatsMediaStore (JetStream Object Store)", () => {
	let nats: NatsServer;
	const spool = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-natsspool-"));
	beforeAll(async () => {
		nats = await startNatsServer({ jetstream: true });
	}, 20_000);
	afterAll(() => {
		nats?.stop();
		fs.rmSync(spool, { recursive: true, force: true });
	});
	behavesLikeAMediaStore(() => new NatsMediaStore({ url: nats.url, bucket: "media-test", replicas: 1, spoolDir: spool }).init());
});
