/**
 * Render queue for text-to-speech: one render at a time per channel (a burst of tips to one
 * streamer waits its turn instead of pinning the CPU) and at most `concurrency` renders in the
 * process overall. A job that has not finished `timeoutMs` after it was queued is given up with an
 * error that says so, and its slot is freed (a hung engine cannot block every other channel; the
 * late render may still finish in the background, its result is dropped).
 */
export class RenderQueue {
	private readonly tails = new Map<string, Promise<unknown>>();
	private running = 0;
	private readonly waiting: (() => void)[] = [];

	constructor(
		private readonly concurrency: number,
		private readonly timeoutMs: number,
	) {}

	/** Channels with a job queued or running. */
	get size(): number {
		return this.tails.size;
	}

	run<T>(key: string, job: () => Promise<T>): Promise<T> {
		const deadline = Date.now() + this.timeoutMs;
		const prev = this.tails.get(key) ?? Promise.resolve();
		const work = withTimeout(prev, Math.max(0, deadline - Date.now()), this.late())
			.catch((err: Error) => {
				if (err.message === this.late()) throw err;
			})
			.then(() => this.limited(job, deadline));
		const tail = work.catch(() => undefined);
		this.tails.set(key, tail);
		void tail.then(() => {
			if (this.tails.get(key) === tail) this.tails.delete(key);
		});
		return work;
	}

	private late(): string {
		return `text-to-speech took longer than ${this.timeoutMs} ms`;
	}

	private async limited<T>(job: () => Promise<T>, deadline: number): Promise<T> {
		if (this.running >= this.concurrency) {
			let resolveSlot!: () => void;
			const slot = new Promise<void>((r) => (resolveSlot = r));
			this.waiting.push(resolveSlot);
			try {
				await withTimeout(slot, Math.max(0, deadline - Date.now()), this.late());
			} catch (err) {
				const i = this.waiting.indexOf(resolveSlot);
				if (i >= 0) this.waiting.splice(i, 1);
				else this.release(); // the slot was handed over just as the wait ended
				throw err;
			}
		} else this.running++;
		try {
			return await withTimeout(job(), Math.max(0, deadline - Date.now()), this.late());
		} finally {
			this.release();
		}
	}

	/** Frees a slot: handed straight to the next waiting job, or counted free. */
	private release(): void {
		const next = this.waiting.shift();
		if (next) next();
		else this.running--;
	}
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
	return new Promise<T>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(message)), ms);
		timer.unref?.();
		p.then(
			(v) => {
				clearTimeout(timer);
				resolve(v);
			},
			(err) => {
				clearTimeout(timer);
				reject(err);
			},
		);
	});
}
