/**
 * Synthetic creators for the search bench: Indonesian- and English-looking usernames, display
 * names and bios, reproducible from a seed (a small linear congruential generator), and queries a
 * viewer would type: a name's first letters, a whole display-name word, a name with one or two
 * letters wrong, a bio word.
 */

const SYLLABLES = "ba bu di ka ko la li ma mi na nu pa ra ri sa si ta tu wa ya jo ge de an in ar el on us ey".split(" ");
const FIRST =
	"adi agus ayu bayu budi citra dewi dimas eka fajar gilang hana indah joko kevin lina made nanda putri rizky sari tono wulan yoga alex emma jack lily mason nora oliver ruby sam zoe".split(
		" ",
	);
const BIO = (
	"main game setiap malam streaming santai ngobrol bareng penonton mabar valorant mobile legends minecraft " +
	"musik gitar nyanyi masak kuliner jalan jalan vlog harian belajar coding tutorial desain gambar anime " +
	"playing games every night chill streams talking with chat speedrun retro music cooking travel daily " +
	"learning art drawing podcast news football badminton horror indie jakarta bandung surabaya bali medan"
).split(" ");

export function rng(seed: number) {
	let s = seed >>> 0 || 1;
	return () => {
		s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
		return s / 2 ** 32;
	};
}

export interface SyntheticCreator {
	id: string;
	username: string;
	displayName: string;
	bio: string;
	avatarUrl: null;
	followerCount: number;
}

/** Creator number `i` (usernames are unique: the number is part of them). */
export function creator(i: number): SyntheticCreator {
	const r = rng(i * 7919 + 13);
	const pick = <T>(a: T[]) => a[Math.floor(r() * a.length)];
	const stem = pick(SYLLABLES) + pick(SYLLABLES) + pick(SYLLABLES);
	const first = pick(FIRST);
	const username = r() < 0.5 ? `${stem}${i.toString(36)}` : `${first}_${stem}${i.toString(36)}`;
	const displayName = `${first[0].toUpperCase()}${first.slice(1)} ${stem[0].toUpperCase()}${stem.slice(1)}`;
	const bio = Array.from({ length: 6 + Math.floor(r() * 10) }, () => pick(BIO)).join(" ");
	return { id: `c${i.toString(36).padStart(8, "0")}`, username, displayName, bio, avatarUrl: null, followerCount: Math.floor(r() * 1000) };
}

/** A word `edits` letters off (each a letter replaced, dropped or added; the first letter kept). */
export function typo(word: string, edits: number, r: () => number): string {
	let w = word;
	for (let e = 0; e < edits; e++) {
		const at = 1 + Math.floor(r() * (w.length - 1));
		const kind = Math.floor(r() * 3);
		if (kind === 0) w = w.slice(0, at) + (w[at] === "q" ? "x" : "q") + w.slice(at + 1);
		else if (kind === 1) w = w.slice(0, at) + w.slice(at + 1);
		else w = w.slice(0, at) + "q" + w.slice(at);
	}
	return w;
}

/** `n` queries over the first `size` creators: prefixes, display-name words, typos, bio words. */
export function queries(size: number, n: number, seed = 42) {
	const r = rng(seed);
	const out: { q: string; kind: string; expect?: string }[] = [];
	for (let k = 0; k < n; k++) {
		const c = creator(Math.floor(r() * size));
		const name = c.username.replace(/_/g, "");
		switch (k % 4) {
			case 0:
				out.push({ q: c.username.slice(0, 3 + Math.floor(r() * 4)), kind: "prefix" });
				break;
			case 1:
				out.push({ q: c.displayName, kind: "display name" });
				break;
			case 2:
				out.push({ q: typo(name, name.length > 7 ? 2 : 1, r), kind: "typo", expect: c.username });
				break;
			default:
				out.push({ q: c.bio.split(" ")[0], kind: "bio word" });
		}
	}
	return out;
}
