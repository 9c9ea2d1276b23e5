import zlib from "node:zlib";

/**
 * Tiny but real media files, built byte by byte as their formats specify, for the media library
 * tests: each is recognised by `file-type` and parsed by `image-size` / `music-metadata` as what
 * it is. Sizes and durations are the ones the tests assert.
 */

const u32be = (n: number) => {
	const b = Buffer.alloc(4);
	b.writeUInt32BE(n >>> 0);
	return b;
};

/** PNG, `w`×`h`, RGB, one colour (`seed` changes the colour, so the bytes and their hash). */
export function png(w = 2, h = 3, seed = 0): Buffer {
	const chunk = (type: string, data: Buffer) => {
		const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
		return Buffer.concat([u32be(data.length), td, u32be(zlib.crc32(td))]);
	};
	const ihdr = Buffer.concat([u32be(w), u32be(h), Buffer.from([8, 2, 0, 0, 0])]);
	const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, seed & 0xff)]);
	const raw = Buffer.concat(Array.from({ length: h }, () => row));
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk("IHDR", ihdr),
		chunk("IDAT", zlib.deflateSync(raw)),
		chunk("IEND", Buffer.alloc(0)),
	]);
}

/** A PNG of about `bytes` bytes (uncompressed random pixels), for the size limits. */
export function bigPng(bytes: number, seed = 1): Buffer {
	const w = 1024;
	const h = Math.max(1, Math.ceil(bytes / (w * 3 + 1)));
	const chunk = (type: string, data: Buffer) => {
		const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
		return Buffer.concat([u32be(data.length), td, u32be(zlib.crc32(td))]);
	};
	const raw = Buffer.alloc(h * (w * 3 + 1));
	let x = seed * 2654435761;
	for (let i = 0; i < raw.length; i++) {
		x = (x * 1103515245 + 12345) >>> 0;
		raw[i] = x >>> 24;
	}
	for (let y = 0; y < h; y++) raw[y * (w * 3 + 1)] = 0;
	const ihdr = Buffer.concat([u32be(w), u32be(h), Buffer.from([8, 2, 0, 0, 0])]);
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk("IHDR", ihdr),
		chunk("IDAT", zlib.deflateSync(raw, { level: 0 })),
		chunk("IEND", Buffer.alloc(0)),
	]);
}

/** GIF89a, 1×1, one colour. */
export function gif(): Buffer {
	return Buffer.from("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==", "base64");
}

/** JPEG, 1×1 (SOF2). */
export function jpeg(): Buffer {
	return Buffer.from(
		"/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=",
		"base64",
	);
}

/** WebP (VP8L lossless), 1×1. */
export function webp(): Buffer {
	return Buffer.from("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==", "base64");
}

/** WAV, 8 kHz mono 16-bit PCM, `seconds` long (`seed` changes the samples). */
export function wav(seconds = 0.5, seed = 0): Buffer {
	const rate = 8000;
	const samples = Math.round(rate * seconds);
	const data = Buffer.alloc(samples * 2);
	for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((i + seed) / 5) * 8000), i * 2);
	const h = Buffer.alloc(44);
	h.write("RIFF", 0, "ascii");
	h.writeUInt32LE(36 + data.length, 4);
	h.write("WAVE", 8, "ascii");
	h.write("fmt ", 12, "ascii");
	h.writeUInt32LE(16, 16);
	h.writeUInt16LE(1, 20);
	h.writeUInt16LE(1, 22);
	h.writeUInt32LE(rate, 24);
	h.writeUInt32LE(rate * 2, 28);
	h.writeUInt16LE(2, 32);
	h.writeUInt16LE(16, 34);
	h.write("data", 36, "ascii");
	h.writeUInt32LE(data.length, 40);
	return Buffer.concat([h, data]);
}

/** MP3: `frames` MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz (1152 samples, 417 bytes each). */
export function mp3(frames = 40): Buffer {
	const frame = Buffer.alloc(417);
	frame.set([0xff, 0xfb, 0x90, 0x64]);
	return Buffer.concat(Array.from({ length: frames }, () => frame));
}

/** Ogg's CRC-32 (polynomial 0x04c11db7, not reflected). */
function oggCrc(data: Buffer): number {
	let crc = 0;
	for (const byte of data) {
		crc ^= byte << 24;
		for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
	}
	return crc >>> 0;
}

function oggPage(packet: Buffer, seq: number, granule: bigint, flags: number): Buffer {
	const segments: number[] = [];
	let left = packet.length;
	while (left >= 255) {
		segments.push(255);
		left -= 255;
	}
	segments.push(left);
	const h = Buffer.alloc(27 + segments.length);
	h.write("OggS", 0, "ascii");
	h[4] = 0;
	h[5] = flags;
	h.writeBigInt64LE(granule, 6);
	h.writeUInt32LE(0x4d534853, 14);
	h.writeUInt32LE(seq, 18);
	h[26] = segments.length;
	Buffer.from(segments).copy(h, 27);
	const page = Buffer.concat([h, packet]);
	page.writeUInt32LE(oggCrc(page), 22);
	return page;
}

/** Ogg Opus, mono, `seconds` long (20 ms frames of silence). */
export function ogg(seconds = 1): Buffer {
	const head = Buffer.alloc(19);
	head.write("OpusHead", 0, "ascii");
	head[8] = 1;
	head[9] = 1;
	head.writeUInt16LE(0, 10);
	head.writeUInt32LE(48000, 12);
	const vendor = Buffer.from("mediashar", "ascii");
	const tags = Buffer.concat([Buffer.from("OpusTags", "ascii"), Buffer.from([vendor.length, 0, 0, 0]), vendor, Buffer.alloc(4)]);
	const frames = Math.round(seconds / 0.02);
	// TOC 0xF8: CELT-only fullband 20 ms, one frame; a zero-length frame is silence.
	const pages = [oggPage(head, 0, 0n, 2), oggPage(tags, 1, 0n, 0)];
	for (let i = 0; i < frames; i++) pages.push(oggPage(Buffer.from([0xf8]), i + 2, BigInt((i + 1) * 960), i === frames - 1 ? 4 : 0));
	return Buffer.concat(pages);
}

/** EBML element: id bytes, size as an 8-byte vint, data. */
function ebml(id: number[], data: Buffer): Buffer {
	const size = Buffer.alloc(8);
	size.writeBigUInt64BE(BigInt(data.length));
	size[0] = 0x01;
	return Buffer.concat([Buffer.from(id), size, data]);
}
const uint = (n: number, bytes = 4) => {
	const b = Buffer.alloc(bytes);
	b.writeUIntBE(n, 0, bytes);
	return b;
};

/** WebM: EBML header (DocType webm), Segment with Info (1 ms timecodes, `seconds` duration), one VP8 video track and `padding` bytes of Void. */
export function webm(seconds = 2, padding = 0): Buffer {
	const header = ebml(
		[0x1a, 0x45, 0xdf, 0xa3],
		Buffer.concat([
			ebml([0x42, 0x86], uint(1, 1)),
			ebml([0x42, 0xf7], uint(1, 1)),
			ebml([0x42, 0xf2], uint(4, 1)),
			ebml([0x42, 0xf3], uint(8, 1)),
			ebml([0x42, 0x82], Buffer.from("webm", "ascii")),
			ebml([0x42, 0x87], uint(4, 1)),
			ebml([0x42, 0x85], uint(2, 1)),
		]),
	);
	const duration = Buffer.alloc(8);
	duration.writeDoubleBE(seconds * 1000);
	const info = ebml([0x15, 0x49, 0xa9, 0x66], Buffer.concat([ebml([0x2a, 0xd7, 0xb1], uint(1_000_000, 3)), ebml([0x44, 0x89], duration)]));
	const track = ebml(
		[0xae],
		Buffer.concat([
			ebml([0xd7], uint(1, 1)),
			ebml([0x73, 0xc5], uint(1, 1)),
			ebml([0x83], uint(1, 1)),
			ebml([0x86], Buffer.from("V_VP8", "ascii")),
			ebml([0xe0], Buffer.concat([ebml([0xb0], uint(2, 2)), ebml([0xba], uint(2, 2))])),
		]),
	);
	const tracks = ebml([0x16, 0x54, 0xae, 0x6b], track);
	const pad = padding > 0 ? ebml([0xec], Buffer.alloc(padding)) : Buffer.alloc(0);
	return Buffer.concat([header, ebml([0x18, 0x53, 0x80, 0x67], Buffer.concat([info, tracks, pad]))]);
}

function box(type: string, ...parts: Buffer[]): Buffer {
	const body = Buffer.concat(parts);
	return Buffer.concat([u32be(8 + body.length), Buffer.from(type, "ascii"), body]);
}

/** MP4: ftyp (isom), moov with mvhd and one video track (tkhd, mdhd, hdlr), `seconds` long at timescale 1000. */
export function mp4(seconds = 3): Buffer {
	const ftyp = box("ftyp", Buffer.from("isom", "ascii"), u32be(512), Buffer.from("isomiso2mp41", "ascii"));
	const mvhd = box(
		"mvhd",
		Buffer.alloc(4),
		u32be(0),
		u32be(0),
		u32be(1000),
		u32be(seconds * 1000),
		u32be(0x00010000),
		Buffer.from([0x01, 0x00]),
		Buffer.alloc(10),
		Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0]),
		Buffer.alloc(24),
		u32be(2),
	);
	const tkhd = box(
		"tkhd",
		Buffer.from([0, 0, 0, 3]),
		u32be(0),
		u32be(0),
		u32be(1),
		u32be(0),
		u32be(seconds * 1000),
		Buffer.alloc(52),
		u32be(2 << 16),
		u32be(2 << 16),
	);
	const mdhd = box("mdhd", Buffer.alloc(4), u32be(0), u32be(0), u32be(1000), u32be(seconds * 1000), Buffer.from([0x55, 0xc4, 0, 0]));
	const hdlr = box("hdlr", Buffer.alloc(4), u32be(0), Buffer.from("vide", "ascii"), Buffer.alloc(12), Buffer.from([0]));
	const trak = box("trak", tkhd, box("mdia", mdhd, hdlr));
	return Buffer.concat([ftyp, box("moov", mvhd, trak)]);
}

/** What a browser would send for an HTML page or an SVG image: refused whatever it is called. */
export const HTML_PAGE = Buffer.from("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>");
export const SVG_IMAGE = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>');
