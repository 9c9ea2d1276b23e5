/**
 * Alert ids this overlay already showed, kept in localStorage so a reconnect, a reload or a
 * server restart that re-sends an alert never shows it twice. Bounded (oldest forgotten first).
 */
export class ShownIds {
	private ids: string[];
	private set: Set<string>;

	constructor(
		private readonly key: string,
		private readonly max = 500,
	) {
		let list: string[] = [];
		try {
			const raw = JSON.parse(localStorage.getItem(key) ?? "[]");
			if (Array.isArray(raw)) list = raw.filter((x): x is string => typeof x === "string");
		} catch {
			list = [];
		}
		this.ids = list.slice(-max);
		this.set = new Set(this.ids);
	}

	has(id: string): boolean {
		// Another overlay tab with the same storage may have shown it meanwhile.
		if (this.set.has(id)) return true;
		try {
			const raw = JSON.parse(localStorage.getItem(this.key) ?? "[]");
			if (Array.isArray(raw) && raw.includes(id)) {
				this.add(id);
				return true;
			}
		} catch {
			/* unreadable storage: rely on memory */
		}
		return false;
	}

	add(id: string) {
		if (this.set.has(id)) return;
		this.ids.push(id);
		this.set.add(id);
		while (this.ids.length > this.max) this.set.delete(this.ids.shift()!);
		try {
			localStorage.setItem(this.key, JSON.stringify(this.ids));
		} catch {
			/* storage full or disabled: memory still dedupes this session */
		}
	}
}
