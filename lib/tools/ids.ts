import { randomBytes } from "node:crypto";

/**
 * Time-ordered ids (ULID layout: 48-bit millisecond time + 80 random bits, Crockford base32,
 * 26 chars). Sorting ids sorts by creation time, so "newest first" pages are a range scan on
 * `_id` in NeDB and MongoDB alike, and a cursor is simply the last id of a page.
 * Monotonic inside one process: ids made in the same millisecond still sort in creation order.
 */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(time: number): string {
	let out = "";
	for (let i = 0; i < 10; i++) {
		out = ALPHABET[time % 32] + out;
		time = Math.floor(time / 32);
	}
	return out;
}

/** Random bytes drawn from the CSPRNG 4 KB at a time (one call per 256 ids instead of per id). */
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

function freshRandom(): number[] {
	if (poolOffset + 16 > POOL_SIZE) {
		pool = randomBytes(POOL_SIZE);
		poolOffset = 0;
	}
	const out = new Array<number>(16);
	for (let i = 0; i < 16; i++) out[i] = pool[poolOffset + i] % 32;
	poolOffset += 16;
	return out;
}

function increment(digits: number[]): number[] {
	const next = digits.slice();
	for (let i = next.length - 1; i >= 0; i--) {
		if (next[i] < 31) {
			next[i]++;
			return next;
		}
		next[i] = 0;
	}
	return freshRandom();
}

export function newId(now: number = Date.now()): string {
	if (now <= lastTime) {
		lastRandom = increment(lastRandom);
		now = lastTime;
	} else {
		lastTime = now;
		lastRandom = freshRandom();
	}
	return encodeTime(now) + lastRandom.map((d) => ALPHABET[d]).join("");
}

/**
 * An id in the same layout whose random part is always fresh: for ids that work as a key to
 * something (a payment's checkout), where newId's monotonic increment inside one millisecond would
 * make an id made right after a known one easy to guess.
 */
export function randomId(now: number = Date.now()): string {
	return (
		encodeTime(now) +
		freshRandom()
			.map((d) => ALPHABET[d])
			.join("")
	);
}

/** The smallest id that could have been made at `time`: a lower bound for time-range queries. */
export function idFloor(time: number): string {
	return encodeTime(time) + "0".repeat(16);
}

/** Decodes the creation time of an id made by newId. */
export function idTime(id: string): number {
	let t = 0;
	for (const ch of id.slice(0, 10)) t = t * 32 + ALPHABET.indexOf(ch);
	return t;
}

export function isId(value: unknown): value is string {
	return typeof value === "string" && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(value);
}

/** A random opaque token (refresh tokens, overlay tokens, webhook secrets). */
export function randomToken(bytes = 32): string {
	return randomBytes(bytes).toString("base64url");
}
