import fs from "node:fs";
import { vi } from "vitest";

export interface FailingDisk {
	/** Space is back: writes go through again. */
	free(): void;
	/** The storage refuses writes again. */
	fill(): void;
	/** Writes refused so far. */
	refused: number;
	restore(): void;
}

/**
 * Makes `fs.writeSync` fail the way a full (or quota-limited, read-only, failing) disk does:
 * the first `partial` bytes of each write land in the file, then the call throws `code`, as a
 * disk that fills up in the middle of a line; `fs.writeFileSync` throws `code` too. Everything
 * else about the file system is real.
 */
export function failingDisk(code = "ENOSPC", partial = 5): FailingDisk {
	const writeSync = fs.writeSync.bind(fs) as (fd: number, buf: Buffer, off: number, len: number) => number;
	let full = true;
	const disk: FailingDisk = {
		refused: 0,
		free: () => void (full = false),
		fill: () => void (full = true),
		restore: () => {
			spy.mockRestore();
			whole.mockRestore();
		},
	};
	const writeFileSync = fs.writeFileSync.bind(fs);
	const whole = vi.spyOn(fs, "writeFileSync").mockImplementation(((...args: Parameters<typeof fs.writeFileSync>) => {
		if (!full) return writeFileSync(...args);
		disk.refused++;
		throw Object.assign(new Error(`${code}: simulated storage fault, write`), { code, syscall: "write" });
	}) as typeof fs.writeFileSync);
	const spy = vi.spyOn(fs, "writeSync").mockImplementation(((fd: number, buf: Buffer, off = 0, len = buf.length - off) => {
		if (!full) return writeSync(fd, buf, off, len);
		if (partial > 0 && off === 0 && len > partial) return writeSync(fd, buf, 0, partial);
		disk.refused++;
		throw Object.assign(new Error(`${code}: simulated storage fault, write`), { code, syscall: "write" });
	}) as unknown as typeof fs.writeSync);
	return disk;
}
