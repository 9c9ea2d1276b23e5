import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import * as files from "../support/media-files";
import { idFloor } from "../../lib/tools/ids";

const MAX = 64 * 1024;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mediashar-media-"));
const ENV = {
	SCRYPT_COST: "1024",
	DATA_DIR: dataDir,
	MEDIA_STORE: "fs",
	MEDIA_MAX_BYTES: String(MAX),
	MEDIA_MAX_VIDEO_BYTES: String(2 * MAX),
	MEDIA_QUOTA_BYTES: String(3 * MAX),
};

let h: Harness;
let api: ReturnType<typeof client>;

beforeAll(async () => {
	h = await startHarness({ services: ["users", "media"], env: ENV });
	api = client(h.url);
});
afterAll(async () => {
	await h?.stop();
	fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Sends one file as a browser form would, with the name and part type the client chose. */
async function upload(token: string | null, data: Buffer, name = "file.bin", type = "application/octet-stream", field = "file") {
	const form = new FormData();
	form.append(field, new Blob([new Uint8Array(data)], { type }), name);
	const res = await fetch(`${h.url}/api/media`, { method: "POST", body: form, headers: token ? { Authorization: `Bearer ${token}` } : {} });
	const text = await res.text();
	return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Every file under the media folder (blobs and spool files). */
function filesOnDisk(): string[] {
	const dir = path.join(dataDir, "media");
	if (!fs.existsSync(dir)) return [];
	return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

describe("media library upload", () => {
	const accepted: Array<[string, () => Buffer, string, string, Record<string, number>]> = [
		["PNG", () => files.png(2, 3, 7), "image", "image/png", { width: 2, height: 3 }],
		["GIF", files.gif, "image", "image/gif", { width: 1, height: 1 }],
		["JPEG", files.jpeg, "image", "image/jpeg", { width: 1, height: 1 }],
		["WebP", files.webp, "image", "image/webp", { width: 1, height: 1 }],
		["WAV", () => files.wav(0.5), "audio", "audio/wav", { durationSec: 0.5 }],
		["MP3", () => files.mp3(40), "audio", "audio/mpeg", {}],
		["OGG", () => files.ogg(1), "audio", "audio/ogg", { durationSec: 1 }],
		["WebM", () => files.webm(2), "video", "video/webm", { durationSec: 2 }],
		["MP4", () => files.mp4(3), "video", "video/mp4", { durationSec: 3 }],
	];

	it.each(accepted)("takes a %s by its bytes, whatever its name says, and serves it", async (_label, make, kind, contentType, props) => {
		const u = await registerUser(h.url, "med");
		const data = make();
		const res = await upload(u.token, data, "innocent.txt", "text/plain");
		expect(res.status).toBe(201);
		expect(res.body).toMatchObject({ kind, contentType, size: data.length, name: "innocent.txt", ...props });
		expect(res.body.url).toMatch(/^\/media\/[0-9a-f]{64}\.\w+$/);
		if (kind !== "image") expect(res.body.durationSec).toBeGreaterThan(0);
		const got = await fetch(h.url + res.body.url);
		expect(got.status).toBe(200);
		expect(got.headers.get("content-type")).toBe(contentType);
		expect(got.headers.get("x-content-type-options")).toBe("nosniff");
		expect(got.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
		expect(Buffer.from(await got.arrayBuffer()).equals(data)).toBe(true);
	});

	it("refuses HTML and SVG whatever they are called, and keeps nothing", async () => {
		const u = await registerUser(h.url, "med");
		const before = filesOnDisk();
		for (const [data, name, type] of [
			[files.HTML_PAGE, "cat.png", "image/png"],
			[files.SVG_IMAGE, "logo.svg", "image/svg+xml"],
			[Buffer.from("just some text, nothing else"), "a.gif", "image/gif"],
		] as const) {
			const res = await upload(u.token, data, name, type);
			expect(res.status).toBe(415);
			expect(res.body.type).toBe("UNSUPPORTED_MEDIA_TYPE");
		}
		expect(filesOnDisk()).toEqual(before);
		const list = await api("GET", "/api/media", undefined, { token: u.token });
		expect(list.body.items).toEqual([]);
	});

	it("answers 413 over the size limit (videos have their own) and keeps nothing", async () => {
		const u = await registerUser(h.url, "med");
		const before = filesOnDisk();
		const big = files.bigPng(MAX + 10_000);
		const res = await upload(u.token, big, "big.png", "image/png");
		expect(res.status).toBe(413);
		expect(filesOnDisk()).toEqual(before);
		// A video may be larger than an image.
		const video = files.webm(1, MAX + 1000);
		const v = await upload(u.token, video, "clip.webm", "video/webm");
		expect(v.status).toBe(201);
		expect(v.body.kind).toBe("video");
	});

	it("answers 422 QUOTA_EXCEEDED past the owner's quota, counting only that owner", async () => {
		const u = await registerUser(h.url, "med");
		const other = await registerUser(h.url, "med");
		const sizes: number[] = [];
		for (let i = 0; i < 3; i++) {
			const res = await upload(u.token, files.bigPng(MAX - 2000, 10 + i), `p${i}.png`, "image/png");
			expect(res.status).toBe(201);
			sizes.push(res.body.size);
		}
		const before = filesOnDisk();
		const over = await upload(u.token, files.bigPng(MAX - 2000, 20), "over.png", "image/png");
		expect(over.status).toBe(422);
		expect(over.body.type).toBe("QUOTA_EXCEEDED");
		expect(filesOnDisk()).toEqual(before);
		const list = await api("GET", "/api/media", undefined, { token: u.token });
		expect(list.body.usedBytes).toBe(sizes.reduce((a, b) => a + b, 0));
		expect(list.body.quotaBytes).toBe(3 * MAX);
		expect((await upload(other.token, files.png(1, 1, 99), "fine.png", "image/png")).status).toBe(201);
		// Deleting frees room.
		await api("DELETE", `/api/media/${list.body.items[0].id}`, undefined, { token: u.token });
		expect((await upload(u.token, files.bigPng(MAX - 2000, 20), "now.png", "image/png")).status).toBe(201);
	});

	it("needs a signed-in caller and the field 'file'", async () => {
		expect((await upload(null, files.png())).status).toBe(401);
		const u = await registerUser(h.url, "med");
		expect((await upload(u.token, files.png(), "a.png", "image/png", "picture")).status).toBe(422);
		const json = await api("POST", "/api/media", { file: "x" }, { token: u.token });
		expect(json.status).toBe(415);
	});

	it("answers 400 INVALID_FORM for a multipart body that is not a form, or is cut short, and keeps nothing", async () => {
		const u = await registerUser(h.url, "med");
		const before = filesOnDisk();
		const cut = `--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n${files.png().toString("latin1").slice(0, 20)}`;
		for (const body of ["a=1&b=2", "<x/>", "{}", cut]) {
			const res = await fetch(`${h.url}/api/media`, {
				method: "POST",
				headers: { Authorization: `Bearer ${u.token}`, "Content-Type": "multipart/form-data; boundary=x" },
				body,
			});
			expect([res.status, (await res.json()).type], body.slice(0, 20)).toEqual([400, "INVALID_FORM"]);
		}
		expect(filesOnDisk()).toEqual(before);
	});
});

describe("media library list and delete", () => {
	it("lists the caller's own files newest first, by kind, with a cursor", async () => {
		const u = await registerUser(h.url, "med");
		const other = await registerUser(h.url, "med");
		await upload(other.token, files.png(4, 4, 1), "theirs.png", "image/png");
		const a = await upload(u.token, files.png(1, 2, 3), "a.png", "image/png");
		const b = await upload(u.token, files.wav(0.25, 3), "b.wav", "audio/wav");
		const c = await upload(u.token, files.png(2, 1, 4), "c.png", "image/png");
		const all = await api("GET", "/api/media?limit=2", undefined, { token: u.token });
		expect(all.body.items.map((i: { id: string }) => i.id)).toEqual([c.body.id, b.body.id]);
		const next = await api("GET", `/api/media?limit=2&cursor=${all.body.nextCursor}`, undefined, { token: u.token });
		expect(next.body.items.map((i: { id: string }) => i.id)).toEqual([a.body.id]);
		expect(next.body.nextCursor).toBeNull();
		const images = await api("GET", "/api/media?kind=image", undefined, { token: u.token });
		expect(images.body.items.map((i: { name: string }) => i.name)).toEqual(["c.png", "a.png"]);
		expect((await api("GET", "/api/media?kind=pdf", undefined, { token: u.token })).status).toBe(422);
	});

	it("deletes for the owner only; the url stops serving once no file has those bytes", async () => {
		const u = await registerUser(h.url, "med");
		const other = await registerUser(h.url, "med");
		const data = files.png(3, 3, 42);
		const mine = await upload(u.token, data, "mine.png", "image/png");
		const theirs = await upload(other.token, data, "same.png", "image/png");
		expect(theirs.body.url).toBe(mine.body.url);
		expect((await api("DELETE", `/api/media/${mine.body.id}`, undefined, { token: other.token })).status).toBe(403);
		expect((await api("DELETE", "/api/media/01ARZ3NDEKTSV4RRFFQ69G5FAV", undefined, { token: u.token })).status).toBe(404);
		expect((await api("DELETE", `/api/media/${mine.body.id}`, undefined, { token: u.token })).status).toBe(204);
		// Still someone else's file: still served.
		expect((await fetch(h.url + mine.body.url)).status).toBe(200);
		expect((await api("DELETE", `/api/media/${theirs.body.id}`, undefined, { token: other.token })).status).toBe(204);
		const gone = await fetch(h.url + mine.body.url);
		expect(gone.status).toBe(404);
		expect(gone.headers.get("content-type")).toMatch(/application\/json/);
		expect((await api("DELETE", `/api/media/${mine.body.id}`, undefined, { token: u.token })).status).toBe(404);
	});
});

describe("media files served by the gateway", () => {
	let url: string;
	let data: Buffer;
	beforeAll(async () => {
		const u = await registerUser(h.url, "med");
		data = files.wav(1, 11);
		url = (await upload(u.token, data, "tone.wav", "audio/wav")).body.url;
	});

	it("answers Range with 206 and the bytes asked for, 416 outside the file", async () => {
		const part = await fetch(h.url + url, { headers: { Range: "bytes=100-199" } });
		expect(part.status).toBe(206);
		expect(part.headers.get("content-range")).toBe(`bytes 100-199/${data.length}`);
		expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
		const tail = await fetch(h.url + url, { headers: { Range: "bytes=-10" } });
		expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 10))).toBe(true);
		const open = await fetch(h.url + url, { headers: { Range: `bytes=${data.length - 4}-` } });
		expect(open.status).toBe(206);
		expect((await open.arrayBuffer()).byteLength).toBe(4);
		const out = await fetch(h.url + url, { headers: { Range: `bytes=${data.length}-` } });
		expect(out.status).toBe(416);
		expect(out.headers.get("content-range")).toBe(`bytes */${data.length}`);
	});

	it("answers If-None-Match with 304 and HEAD with headers only", async () => {
		const first = await fetch(h.url + url);
		const etag = first.headers.get("etag")!;
		expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
		await first.arrayBuffer();
		const again = await fetch(h.url + url, { headers: { "If-None-Match": etag } });
		expect(again.status).toBe(304);
		expect((await again.arrayBuffer()).byteLength).toBe(0);
		const head = await fetch(h.url + url, { method: "HEAD" });
		expect(head.status).toBe(200);
		expect(head.headers.get("content-length")).toBe(String(data.length));
	});

	it("never serves a name that is not a content address, nor the spool folder", async () => {
		for (const p of [
			"/media/../package.json",
			"/media/.incoming",
			`/media/${"a".repeat(64)}.html`,
			`/media/${"a".repeat(64)}.png`,
			url.replace(".wav", ".png"),
		]) {
			const res = await fetch(h.url + p);
			expect(res.status).toBe(404);
			expect(res.headers.get("content-type") ?? "").not.toMatch(/html/);
		}
	});
});

describe("media for other services", () => {
	it("resolves an owner's file of the right kind, else 422 INVALID_MEDIA", async () => {
		const u = await registerUser(h.url, "med");
		const other = await registerUser(h.url, "med");
		const img = (await upload(u.token, files.png(5, 6, 5), "i.png", "image/png")).body;
		const got = await h.broker.call("media.resolve", { id: img.id, ownerId: u.id, kind: "image" });
		expect(got).toEqual({ id: img.id, kind: "image", contentType: "image/png", url: img.url, size: img.size, width: 5, height: 6 });
		for (const params of [
			{ id: img.id, ownerId: other.id },
			{ id: img.id, ownerId: u.id, kind: "audio" },
			{ id: "01ARZ3NDEKTSV4RRFFQ69G5FAV", ownerId: u.id },
		]) {
			await expect(h.broker.call("media.resolve", params)).rejects.toMatchObject({ code: 422, type: "INVALID_MEDIA" });
		}
		await api("DELETE", `/api/media/${img.id}`, undefined, { token: u.token });
		await expect(h.broker.call("media.resolve", { id: img.id, ownerId: u.id })).rejects.toMatchObject({ type: "INVALID_MEDIA" });
	});

	it("stores generated audio once, outside the quota and the list", async () => {
		const u = await registerUser(h.url, "med");
		const data = files.wav(0.3, 77);
		const a = await h.broker.call<{ id: string; url: string; kind: string; durationSec?: number }, object>("media.storeGenerated", {
			ownerId: u.id,
			data,
			contentType: "audio/wav",
			name: "tts.wav",
		});
		const b = await h.broker.call<{ id: string; url: string }, object>("media.storeGenerated", {
			ownerId: u.id,
			data,
			contentType: "audio/wav",
			name: "tts.wav",
		});
		expect(b).toEqual(a);
		// The bytes as they arrive from another node: through the JSON serializer, or as base64.
		for (const sent of [JSON.parse(JSON.stringify(data)), data.toString("base64")]) {
			expect(await h.broker.call("media.storeGenerated", { ownerId: u.id, data: sent, contentType: "audio/wav", name: "tts.wav" })).toEqual(a);
		}
		expect(a).toMatchObject({ kind: "audio", contentType: "audio/wav", size: data.length });
		const served = await fetch(h.url + a.url);
		expect(Buffer.from(await served.arrayBuffer()).equals(data)).toBe(true);
		const list = await api("GET", "/api/media", undefined, { token: u.token });
		expect(list.body.items).toEqual([]);
		expect(list.body.usedBytes).toBe(0);
		expect(await h.broker.call("media.resolve", { id: a.id, ownerId: u.id, kind: "audio" })).toMatchObject({ url: a.url });
		await expect(
			h.broker.call("media.storeGenerated", { ownerId: u.id, data: files.HTML_PAGE, contentType: "text/html", name: "x" }),
		).rejects.toMatchObject({
			code: 415,
		});
	});
});

describe("avatars from the library", () => {
	it("sets avatarUrl from one of the caller's images, refuses anything else", async () => {
		const u = await registerUser(h.url, "med");
		const other = await registerUser(h.url, "med");
		const img = (await upload(u.token, files.png(8, 8, 8), "me.png", "image/png")).body;
		const sound = (await upload(u.token, files.wav(0.2, 8), "me.wav", "audio/wav")).body;
		const theirs = (await upload(other.token, files.png(8, 8, 9), "them.png", "image/png")).body;
		const set = await api("PATCH", "/api/users/me", { avatarMediaId: img.id }, { token: u.token });
		expect(set.status).toBe(200);
		expect(set.body.avatarUrl).toBe(img.url);
		const profile = await api("GET", `/api/users/${u.username}`);
		expect(profile.body.avatarUrl).toBe(img.url);
		expect((await fetch(h.url + profile.body.avatarUrl)).headers.get("content-type")).toBe("image/png");
		for (const id of [sound.id, theirs.id, "01ARZ3NDEKTSV4RRFFQ69G5FAV"]) {
			const bad = await api("PATCH", "/api/users/me", { avatarMediaId: id }, { token: u.token });
			expect(bad.status).toBe(422);
			expect(bad.body.type).toBe("INVALID_MEDIA");
		}
		expect((await api("GET", `/api/users/${u.username}`)).body.avatarUrl).toBe(img.url);
		const cleared = await api("PATCH", "/api/users/me", { avatarMediaId: null }, { token: u.token });
		expect(cleared.body.avatarUrl).toBeNull();
	});

	it("goes back to no avatar when its image is deleted", async () => {
		const u = await registerUser(h.url, "med");
		const img = (await upload(u.token, files.png(6, 6, 61), "me.png", "image/png")).body;
		await api("PATCH", "/api/users/me", { avatarMediaId: img.id }, { token: u.token });
		expect((await api("GET", `/api/users/${u.username}`)).body.avatarUrl).toBe(img.url);
		expect((await api("DELETE", `/api/media/${img.id}`, undefined, { token: u.token })).status).toBe(204);
		await waitFor(async () => (await api("GET", `/api/users/${u.username}`)).body.avatarUrl === null, 5000, "avatar cleared");
		expect((await api("GET", "/api/auth/me", undefined, { token: u.token })).body.avatarUrl).toBeNull();
	});
});

describe("after a crash mid-upload", () => {
	it("the sweep removes an upload left pending for an hour, frees its quota, and old spool files", async () => {
		const u = await registerUser(h.url, "med");
		const kept = (await upload(u.token, files.png(2, 2, 71), "kept.png", "image/png")).body;
		const svc = h.broker.getLocalService("media") as unknown as {
			store: { insert(doc: object): Promise<unknown>; findById(id: string): Promise<unknown> };
			stores: { media_usage: { updateMany(q: object, u: object): Promise<number> } };
			runSweep(name: string): Promise<void>;
		};
		// What a node that died between the document and its blob leaves: a pending document, its
		// bytes counted in the quota, and a spool file.
		const stale = `${idFloor(Date.now() - 2 * 3600_000).slice(0, 10)}ZZZZZZZZZZZZZZZZ`;
		await svc.store.insert({
			_id: stale,
			ownerId: u.id,
			kind: "image",
			contentType: "image/png",
			key: `${"b".repeat(64)}.png`,
			hash: "b".repeat(64),
			ext: "png",
			size: 5000,
			name: "lost.png",
			status: "pending",
			createdAt: new Date(Date.now() - 2 * 3600_000).toISOString(),
		});
		await svc.stores.media_usage.updateMany({ _id: u.id }, { $inc: { bytes: 5000 } });
		const spool = path.join(dataDir, "media", ".incoming");
		const leftover = path.join(spool, "01LEFTOVERFROMACRASH00000.part");
		fs.writeFileSync(leftover, "half an upload");
		const old = new Date(Date.now() - 2 * 3600_000);
		fs.utimesSync(leftover, old, old);
		const fresh = path.join(spool, "01UPLOADSTILLINPROGRESS00.part");
		fs.writeFileSync(fresh, "an upload in progress");

		await svc.runSweep("abandoned-uploads");
		expect(await svc.store.findById(stale)).toBeNull();
		expect(fs.existsSync(leftover)).toBe(false);
		expect(fs.existsSync(fresh)).toBe(true);
		fs.rmSync(fresh);
		const list = await api("GET", "/api/media", undefined, { token: u.token });
		expect(list.body.usedBytes).toBe(kept.size);
		expect(list.body.items.map((m: { id: string }) => m.id)).toEqual([kept.id]);
	});
});
