import SearchableMap from "minisearch/SearchableMap";
import { fuzzyDistance, usernameWords, words } from "./text";

/**
 * The creator search index of one node, in memory: username, display name and bio, matched by
 * prefix and with typos, username weighing most. Pure: the search service feeds it from the
 * users service (a rebuild at start, then every change) and asks it; nothing here reads a store.
 * Only searchable creators are kept (`searchable`: never banned or deleted accounts).
 *
 * The terms live in MiniSearch's radix tree (`minisearch/SearchableMap`: exact, prefix and
 * fuzzy look-up of terms); each term's postings are kept ordered by the creator's rank (followers
 * at indexing time, most first). A query reads at most `PER_TERM` postings of a term and
 * `PER_WORD` in all for one query word, so its cost does not grow with the number of creators:
 * MiniSearch's own `search` scores every document a term matches, and at 100,000 creators a
 * common word ("budi", "main") took 100 ms to 1 s (docs/benchmarks.md, search). The price: among
 * more than `PER_TERM` creators sharing one term, only the most followed can be found by that
 * term alone (a second word, or more letters of the name, narrows it down).
 */

/** What a search answers for one creator (and all the index keeps of it besides its terms). */
export interface CreatorEntry {
	id: string;
	username: string;
	displayName: string;
	bio: string;
	avatarUrl: string | null;
	followerCount: number;
}

/** What the API shows of a found creator (`GET /search/creators`, `GET /explore`). */
export function creatorHit(e: CreatorEntry) {
	return { username: e.username, displayName: e.displayName, bio: e.bio, avatarUrl: e.avatarUrl, followerCount: e.followerCount };
}

/** The fields of an account the index decides on. */
export interface CreatorSource extends CreatorEntry {
	bannedAt?: string | null;
	deletedAt?: string | null;
}

/** Whether an account may be found at all: banned and deleted ones never are. */
export function searchable(u: Pick<CreatorSource, "bannedAt" | "deletedAt">): boolean {
	return !u.bannedAt && !u.deletedAt;
}

/** Field weights: a username hit counts most, then the display name, then the bio. */
export const BOOST = { username: 3, displayName: 2, bio: 0.5 } as const;
const FIELD_BITS = { username: 1, displayName: 2, bio: 4 } as const;
/** The best boost of the fields a posting's bit mask names. */
const MASK_BOOST = [0, 3, 2, 3, 0.5, 3, 2, 3];

/** Postings read per term, and per query word over all its terms. */
export const PER_TERM = 500;
export const PER_WORD = 3000;
/** Prefix completions and fuzzy neighbours taken per query word. */
const MAX_EXPANSIONS = 48;
/** A query word that finds fewer creators than this as typed is also looked up with typos. */
const FUZZY_BELOW = 100;
/** Query words considered (the rest of a long query is ignored). */
const MAX_WORDS = 6;
/** How a matched term counts: exact, by prefix, one and two letters off. */
const QUALITY = { exact: 1, prefix: 0.7, fuzzy1: 0.6, fuzzy2: 0.35 };

export interface SearchPage {
	items: CreatorEntry[];
	/** Offset of the next page, or null at the end. */
	next: number | null;
}

/** A posting: `slot * 8 + field mask`. */
type Postings = number[];

export class CreatorIndex {
	private readonly terms = new SearchableMap<Postings>();
	private readonly slotOf = new Map<string, number>();
	private readonly slots: (CreatorEntry | undefined)[] = [];
	/** The rank each slot's postings were ordered by (followers when indexed). */
	private readonly rank: number[] = [];
	private readonly free: number[] = [];
	/** During `load`, postings are appended and sorted once at the end. */
	private bulk = false;
	/** Per-slot scratch of one search (reset before it returns): summed score, words matched, this word's best. */
	private accScore = new Float64Array(0);
	private accCount = new Uint8Array(0);
	private wordBest = new Float64Array(0);
	/** Slots by their whole username without separators ("alice_streams" → "alicestreams"). */
	private readonly wholeNames = new Map<string, number[]>();

	get size(): number {
		return this.slotOf.size;
	}

	has(id: string): boolean {
		return this.slotOf.has(id);
	}

	get(id: string): CreatorEntry | undefined {
		const slot = this.slotOf.get(id);
		return slot === undefined ? undefined : this.slots[slot];
	}

	/** Many creators at once (a rebuild): the postings are ordered once at the end. */
	load(sources: Iterable<CreatorSource>): void {
		this.bulk = true;
		try {
			for (const s of sources) this.apply(s);
		} finally {
			this.bulk = false;
		}
		for (const [, postings] of this.terms) postings.sort((a: number, b: number) => this.rank[b >> 3] - this.rank[a >> 3] || a - b);
	}

	/** Puts a creator in (or updates it), or takes it out when it may not be found (banned, deleted). */
	apply(source: CreatorSource): void {
		if (!searchable(source)) return this.remove(source.id);
		const entry: CreatorEntry = {
			id: source.id,
			username: source.username,
			displayName: source.displayName ?? "",
			bio: source.bio ?? "",
			avatarUrl: source.avatarUrl ?? null,
			followerCount: source.followerCount ?? 0,
		};
		const slot = this.slotOf.get(entry.id);
		if (slot !== undefined) {
			const before = this.slots[slot]!;
			// A new follower count or avatar changes the answer, not the terms.
			if (before.username === entry.username && before.displayName === entry.displayName && before.bio === entry.bio) {
				this.slots[slot] = entry;
				return;
			}
			this.unindex(slot, before);
			this.slots[slot] = entry;
			this.index(slot, entry);
			return;
		}
		const fresh = this.free.pop() ?? this.slots.length;
		this.slots[fresh] = entry;
		this.slotOf.set(entry.id, fresh);
		this.index(fresh, entry);
	}

	remove(id: string): void {
		const slot = this.slotOf.get(id);
		if (slot === undefined) return;
		this.unindex(slot, this.slots[slot]!);
		this.slotOf.delete(id);
		this.slots[slot] = undefined;
		this.free.push(slot);
	}

	/** Best match first: more query words matched, then the better matches, then more followers. */
	search(query: string, limit: number, offset = 0): SearchPage {
		const qWords = [...new Set(words(query))].slice(0, MAX_WORDS);
		if (qWords.length === 0) return { items: [], next: null };
		this.ensureScratch();
		const { accScore, accCount, wordBest } = this;
		const touched: number[] = [];
		try {
			for (const w of qWords) {
				for (const slot of this.matchWord(w)) {
					if (accCount[slot] === 0) touched.push(slot);
					accScore[slot] += wordBest[slot];
					accCount[slot]++;
					wordBest[slot] = 0;
				}
			}
			// A query that is the whole username, written any way ("Alice Streams" for alice_streams), comes first.
			const exact = new Set(this.wholeNames.get(qWords.join("")) ?? []);
			const better = (a: number, b: number): boolean => {
				const ea = exact.has(a) ? 1 : 0;
				const eb = exact.has(b) ? 1 : 0;
				if (ea !== eb) return ea > eb;
				if (accCount[a] !== accCount[b]) return accCount[a] > accCount[b];
				if (accScore[a] !== accScore[b]) return accScore[a] > accScore[b];
				const x = this.slots[a]!;
				const y = this.slots[b]!;
				if (x.followerCount !== y.followerCount) return x.followerCount > y.followerCount;
				return x.username < y.username;
			};
			const top = topK(touched, offset + limit, better);
			const items = top.slice(offset).map((slot) => this.slots[slot]!);
			const end = offset + items.length;
			return { items, next: end < touched.length && items.length === limit ? end : null };
		} finally {
			for (const slot of touched) {
				accScore[slot] = 0;
				accCount[slot] = 0;
			}
		}
	}

	private ensureScratch(): void {
		const n = this.slots.length;
		if (this.accScore.length >= n) return;
		const cap = Math.max(n, this.accScore.length * 2, 1024);
		this.accScore = new Float64Array(cap);
		this.accCount = new Uint8Array(cap);
		this.wordBest = new Float64Array(cap);
	}

	/** The slots one query word finds; the best score of each is left in `wordBest`. */
	private matchWord(w: string): number[] {
		const found: number[] = [];
		const best = this.wordBest;
		let budget = PER_WORD;
		const take = (postings: Postings, quality: number) => {
			const n = Math.min(postings.length, PER_TERM, budget);
			budget -= n;
			for (let i = 0; i < n; i++) {
				const p = postings[i];
				const slot = p >> 3;
				const s = quality * MASK_BOOST[p & 7];
				const b = best[slot];
				if (b === 0) found.push(slot);
				if (s > b) best[slot] = s;
			}
		};
		const seen = new Set<string>([w]);
		const exact = this.terms.get(w);
		if (exact) take(exact, QUALITY.exact);
		// More completions than are taken: the word is the start of many terms, not a typo.
		let manyCompletions = false;
		if (w.length >= 2) {
			let n = 0;
			for (const [t, postings] of this.terms.atPrefix(w)) {
				if (budget <= 0 || n >= MAX_EXPANSIONS) {
					manyCompletions = true;
					break;
				}
				if (seen.has(t)) continue;
				seen.add(t);
				n++;
				// A completion counts more the less it adds to what was typed.
				take(postings, QUALITY.prefix * Math.sqrt(w.length / t.length));
			}
		}
		// Typos are looked for when the word as typed finds few creators and starts few terms: a
		// word many names share or start with is what was meant (and its neighbours in the tree are
		// many, so looking is slow: 100 ms and more at a million creators).
		const distance = fuzzyDistance(w);
		if (distance === 0 || manyCompletions || found.length >= FUZZY_BELOW) return found;
		const near = [...this.terms.fuzzyGet(w, distance)].filter(([t]) => !seen.has(t)).sort((a, b) => a[1][1] - b[1][1]);
		for (const [, [postings, d]] of near.slice(0, MAX_EXPANSIONS)) {
			if (budget <= 0) break;
			take(postings, d === 1 ? QUALITY.fuzzy1 : QUALITY.fuzzy2);
		}
		return found;
	}

	/** Each term of a creator with the fields it appears in. */
	private termsOf(e: CreatorEntry): Map<string, number> {
		const out = new Map<string, number>();
		const add = (list: string[], bit: number) => {
			for (const t of list) out.set(t, (out.get(t) ?? 0) | bit);
		};
		add(usernameWords(e.username), FIELD_BITS.username);
		add(words(e.displayName), FIELD_BITS.displayName);
		add(words(e.bio), FIELD_BITS.bio);
		return out;
	}

	private index(slot: number, e: CreatorEntry): void {
		const rank = e.followerCount;
		this.rank[slot] = rank;
		const whole = usernameWords(e.username)[0];
		if (whole) this.wholeNames.set(whole, [...(this.wholeNames.get(whole) ?? []), slot]);
		for (const [term, mask] of this.termsOf(e)) {
			const p = slot * 8 + mask;
			let postings = this.terms.get(term);
			if (!postings) this.terms.set(term, (postings = []));
			if (this.bulk) {
				postings.push(p);
				continue;
			}
			// Ordered by rank, most first: binary search for the first posting ranked lower.
			let lo = 0;
			let hi = postings.length;
			while (lo < hi) {
				const mid = (lo + hi) >> 1;
				if (this.rank[postings[mid] >> 3] >= rank) lo = mid + 1;
				else hi = mid;
			}
			postings.splice(lo, 0, p);
		}
	}

	private unindex(slot: number, e: CreatorEntry): void {
		const whole = usernameWords(e.username)[0];
		const same = (this.wholeNames.get(whole) ?? []).filter((x) => x !== slot);
		if (same.length) this.wholeNames.set(whole, same);
		else this.wholeNames.delete(whole);
		for (const [term, mask] of this.termsOf(e)) {
			const postings = this.terms.get(term);
			if (!postings) continue;
			const at = postings.indexOf(slot * 8 + mask);
			if (at >= 0) postings.splice(at, 1);
			if (postings.length === 0) this.terms.delete(term);
		}
	}
}

/** The `k` best of `items`, best first (a bounded heap: the query's cost is its candidates, not their sort). */
export function topK<T>(items: T[], k: number, better: (a: T, b: T) => boolean): T[] {
	if (k <= 0) return [];
	// A min-heap on "better": the root is the worst of the kept ones.
	const heap: T[] = [];
	const up = (i: number) => {
		while (i > 0) {
			const parent = (i - 1) >> 1;
			if (!better(heap[parent], heap[i])) break;
			[heap[parent], heap[i]] = [heap[i], heap[parent]];
			i = parent;
		}
	};
	const down = (i: number) => {
		for (;;) {
			const l = 2 * i + 1;
			const r = l + 1;
			let worst = i;
			if (l < heap.length && better(heap[worst], heap[l])) worst = l;
			if (r < heap.length && better(heap[worst], heap[r])) worst = r;
			if (worst === i) return;
			[heap[worst], heap[i]] = [heap[i], heap[worst]];
			i = worst;
		}
	};
	for (const item of items) {
		if (heap.length < k) {
			heap.push(item);
			up(heap.length - 1);
		} else if (better(item, heap[0])) {
			heap[0] = item;
			down(0);
		}
	}
	return heap.sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0));
}
