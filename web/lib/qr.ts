/**
 * A small QR Code encoder (ISO/IEC 18004, byte mode, error correction level M, versions 1–40),
 * so a QRIS payment string can be scanned from the screen without loading an image from the
 * payment provider. Follows the structure of Project Nayuki's reference implementation.
 */

// Per version (index 0 unused), level M.
const ECC_CODEWORDS_PER_BLOCK_M = [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28];
const NUM_ERROR_CORRECTION_BLOCKS_M = [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49];
const FORMAT_BITS_M = 0;

export interface QrCode {
	version: number;
	size: number;
	/** modules[y][x]: true = dark. */
	modules: boolean[][];
}

function numRawDataModules(ver: number): number {
	let result = (16 * ver + 128) * ver + 64;
	if (ver >= 2) {
		const numAlign = Math.floor(ver / 7) + 2;
		result -= (25 * numAlign - 10) * numAlign - 55;
		if (ver >= 7) result -= 36;
	}
	return result;
}

function numDataCodewords(ver: number): number {
	return Math.floor(numRawDataModules(ver) / 8) - ECC_CODEWORDS_PER_BLOCK_M[ver] * NUM_ERROR_CORRECTION_BLOCKS_M[ver];
}

function gfMul(x: number, y: number): number {
	let z = 0;
	for (let i = 7; i >= 0; i--) {
		z = (z << 1) ^ ((z >>> 7) * 0x11d);
		z ^= ((y >>> i) & 1) * x;
	}
	return z & 0xff;
}

function rsDivisor(degree: number): number[] {
	const result: number[] = new Array(degree - 1).fill(0);
	result.push(1);
	let root = 1;
	for (let i = 0; i < degree; i++) {
		for (let j = 0; j < result.length; j++) {
			result[j] = gfMul(result[j], root);
			if (j + 1 < result.length) result[j] ^= result[j + 1];
		}
		root = gfMul(root, 0x02);
	}
	return result;
}

function rsRemainder(data: number[], divisor: number[]): number[] {
	const result: number[] = divisor.map(() => 0);
	for (const b of data) {
		const factor = b ^ (result.shift() as number);
		result.push(0);
		divisor.forEach((coef, i) => (result[i] ^= gfMul(coef, factor)));
	}
	return result;
}

/** Encodes text (UTF-8, byte mode) at level M in the smallest version that fits. */
export function encodeQr(text: string): QrCode {
	const bytes = Array.from(new TextEncoder().encode(text));
	let ver = 1;
	for (; ; ver++) {
		if (ver > 40) throw new RangeError("Text too long for a QR code");
		const countBits = ver <= 9 ? 8 : 16;
		if (4 + countBits + bytes.length * 8 <= numDataCodewords(ver) * 8) break;
	}
	const capacityBits = numDataCodewords(ver) * 8;
	const bits: number[] = [];
	const put = (value: number, len: number) => {
		for (let i = len - 1; i >= 0; i--) bits.push((value >>> i) & 1);
	};
	put(0b0100, 4);
	put(bytes.length, ver <= 9 ? 8 : 16);
	for (const b of bytes) put(b, 8);
	put(0, Math.min(4, capacityBits - bits.length));
	put(0, (8 - (bits.length % 8)) % 8);
	for (let pad = 0xec; bits.length < capacityBits; pad ^= 0xec ^ 0x11) put(pad, 8);
	const data: number[] = [];
	for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((acc, b) => (acc << 1) | b, 0));
	return draw(ver, interleave(ver, data));
}

function interleave(ver: number, data: number[]): number[] {
	const numBlocks = NUM_ERROR_CORRECTION_BLOCKS_M[ver];
	const blockEccLen = ECC_CODEWORDS_PER_BLOCK_M[ver];
	const rawCodewords = Math.floor(numRawDataModules(ver) / 8);
	const numShortBlocks = numBlocks - (rawCodewords % numBlocks);
	const shortBlockLen = Math.floor(rawCodewords / numBlocks);
	const divisor = rsDivisor(blockEccLen);
	const blocks: number[][] = [];
	for (let i = 0, k = 0; i < numBlocks; i++) {
		const dat = data.slice(k, k + shortBlockLen - blockEccLen + (i < numShortBlocks ? 0 : 1));
		k += dat.length;
		const ecc = rsRemainder(dat, divisor);
		if (i < numShortBlocks) dat.push(0);
		blocks.push(dat.concat(ecc));
	}
	const result: number[] = [];
	for (let i = 0; i < blocks[0].length; i++) {
		blocks.forEach((block, j) => {
			if (i !== shortBlockLen - blockEccLen || j >= numShortBlocks) result.push(block[i]);
		});
	}
	return result;
}

function draw(ver: number, codewords: number[]): QrCode {
	const size = ver * 4 + 17;
	const modules: boolean[][] = Array.from({ length: size }, () => new Array(size).fill(false));
	const isFunction: boolean[][] = Array.from({ length: size }, () => new Array(size).fill(false));
	const setFunction = (x: number, y: number, dark: boolean) => {
		modules[y][x] = dark;
		isFunction[y][x] = true;
	};

	// Timing patterns, finder patterns with separators, alignment patterns.
	for (let i = 0; i < size; i++) {
		setFunction(6, i, i % 2 === 0);
		setFunction(i, 6, i % 2 === 0);
	}
	for (const [cx, cy] of [
		[3, 3],
		[size - 4, 3],
		[3, size - 4],
	]) {
		for (let dy = -4; dy <= 4; dy++) {
			for (let dx = -4; dx <= 4; dx++) {
				const dist = Math.max(Math.abs(dx), Math.abs(dy));
				const x = cx + dx;
				const y = cy + dy;
				if (x >= 0 && x < size && y >= 0 && y < size) setFunction(x, y, dist !== 2 && dist !== 4);
			}
		}
	}
	const align = alignmentPositions(ver, size);
	align.forEach((ay, i) =>
		align.forEach((ax, j) => {
			const corner = (i === 0 && j === 0) || (i === 0 && j === align.length - 1) || (i === align.length - 1 && j === 0);
			if (corner) return;
			for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) setFunction(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
		}),
	);
	drawFormat(0, size, setFunction); // reserve the format areas; real bits after masking
	if (ver >= 7) {
		let rem = ver;
		for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
		const bits = (ver << 12) | rem;
		for (let i = 0; i < 18; i++) {
			const dark = ((bits >>> i) & 1) !== 0;
			const a = size - 11 + (i % 3);
			const b = Math.floor(i / 3);
			setFunction(a, b, dark);
			setFunction(b, a, dark);
		}
	}

	// Codewords in the zigzag order.
	let i = 0;
	for (let right = size - 1; right >= 1; right -= 2) {
		if (right === 6) right = 5;
		for (let vert = 0; vert < size; vert++) {
			for (let j = 0; j < 2; j++) {
				const x = right - j;
				const upward = ((right + 1) & 2) === 0;
				const y = upward ? size - 1 - vert : vert;
				if (!isFunction[y][x] && i < codewords.length * 8) {
					modules[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0;
					i++;
				}
			}
		}
	}

	// Pick the mask with the lowest penalty.
	let best = 0;
	let bestPenalty = Infinity;
	for (let mask = 0; mask < 8; mask++) {
		applyMask(mask, modules, isFunction);
		drawFormat(mask, size, setFunction);
		const p = penalty(modules);
		if (p < bestPenalty) {
			best = mask;
			bestPenalty = p;
		}
		applyMask(mask, modules, isFunction); // undo (XOR)
	}
	applyMask(best, modules, isFunction);
	drawFormat(best, size, setFunction);
	return { version: ver, size, modules };
}

function alignmentPositions(ver: number, size: number): number[] {
	if (ver === 1) return [];
	const numAlign = Math.floor(ver / 7) + 2;
	const step = ver === 32 ? 26 : Math.ceil((ver * 4 + 4) / (numAlign * 2 - 2)) * 2;
	const result = [6];
	for (let pos = size - 7; result.length < numAlign; pos -= step) result.splice(1, 0, pos);
	return result;
}

function drawFormat(mask: number, size: number, set: (x: number, y: number, dark: boolean) => void) {
	const data = (FORMAT_BITS_M << 3) | mask;
	let rem = data;
	for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
	const bits = ((data << 10) | rem) ^ 0x5412;
	const bit = (i: number) => ((bits >>> i) & 1) !== 0;
	for (let i = 0; i <= 5; i++) set(8, i, bit(i));
	set(8, 7, bit(6));
	set(8, 8, bit(7));
	set(7, 8, bit(8));
	for (let i = 9; i < 15; i++) set(14 - i, 8, bit(i));
	for (let i = 0; i < 8; i++) set(size - 1 - i, 8, bit(i));
	for (let i = 8; i < 15; i++) set(8, size - 15 + i, bit(i));
	set(8, size - 8, true);
}

function applyMask(mask: number, modules: boolean[][], isFunction: boolean[][]) {
	const size = modules.length;
	for (let y = 0; y < size; y++) {
		for (let x = 0; x < size; x++) {
			let invert: boolean;
			switch (mask) {
				case 0: invert = (x + y) % 2 === 0; break;
				case 1: invert = y % 2 === 0; break;
				case 2: invert = x % 3 === 0; break;
				case 3: invert = (x + y) % 3 === 0; break;
				case 4: invert = (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0; break;
				case 5: invert = ((x * y) % 2) + ((x * y) % 3) === 0; break;
				case 6: invert = (((x * y) % 2) + ((x * y) % 3)) % 2 === 0; break;
				default: invert = (((x + y) % 2) + ((x * y) % 3)) % 2 === 0;
			}
			if (!isFunction[y][x] && invert) modules[y][x] = !modules[y][x];
		}
	}
}

/** Runs of 5+ same-colour modules, 2×2 blocks and dark/light balance (finder-like patterns are not scored). */
function penalty(m: boolean[][]): number {
	const size = m.length;
	let result = 0;
	for (let a = 0; a < size; a++) {
		for (const horizontal of [true, false]) {
			let run = 1;
			for (let b = 1; b <= size; b++) {
				const same = b < size && (horizontal ? m[a][b] === m[a][b - 1] : m[b][a] === m[b - 1][a]);
				if (same) run++;
				else {
					if (run >= 5) result += 3 + (run - 5);
					run = 1;
				}
			}
		}
	}
	for (let y = 0; y < size - 1; y++) for (let x = 0; x < size - 1; x++) if (m[y][x] === m[y][x + 1] && m[y][x] === m[y + 1][x] && m[y][x] === m[y + 1][x + 1]) result += 3;
	const dark = m.reduce((n, row) => n + row.filter(Boolean).length, 0);
	const total = size * size;
	result += (Math.ceil(Math.abs(dark * 20 - total * 10) / total) - 1) * 10;
	return result;
}

/** Draws the code on a canvas (with the 4-module quiet zone), crisp at any size. */
export function qrCanvas(text: string, pixels = 240): HTMLCanvasElement {
	const qr = encodeQr(text);
	const quiet = 4;
	const scale = Math.max(1, Math.floor(pixels / (qr.size + quiet * 2)));
	const canvas = document.createElement("canvas");
	canvas.width = canvas.height = (qr.size + quiet * 2) * scale;
	const g = canvas.getContext("2d")!;
	g.fillStyle = "#fff";
	g.fillRect(0, 0, canvas.width, canvas.height);
	g.fillStyle = "#000";
	qr.modules.forEach((row, y) => row.forEach((dark, x) => dark && g.fillRect((x + quiet) * scale, (y + quiet) * scale, scale, scale)));
	return canvas;
}
