/**
 * Alert variations: how an alert looks and sounds, chosen by the donation's amount. A streamer keeps
 * a few (`alert_variations`, owned by the alerts service); a paid donation uses the enabled one whose
 * range holds its amount (`minAmount` ≤ amount ≤ `maxAmount`, open above when `maxAmount` is null).
 * Where several do, the highest `minAmount` wins (the more specific, bigger-tip look), ties broken
 * by the oldest id so the choice is stable; where none does, the default look.
 */

export const LAYOUTS = ["image-above", "image-left", "text-over-image"] as const;
export type Layout = (typeof LAYOUTS)[number];

/** The placeholders a template may use; any other `{word}` is refused. */
export const PLACEHOLDERS = ["name", "amount", "message"] as const;
export const DEFAULT_TEMPLATE = "{name} donated {amount}";
export const DEFAULT_LAYOUT: Layout = "image-above";
export const MAX_VARIATIONS = 50;

export interface Variation {
	id: string;
	name: string;
	enabled: boolean;
	minAmount: number;
	maxAmount: number | null;
	template: string;
	imageMediaId: string | null;
	soundMediaId: string | null;
	volume: number;
	durationSec: number;
	tts: boolean;
	layout: Layout;
}

/** The amount range and switch the choice reads. */
export type Candidate = Pick<Variation, "id" | "enabled" | "minAmount" | "maxAmount">;

export function matches(v: Candidate, amount: number): boolean {
	return v.enabled && v.minAmount <= amount && (v.maxAmount === null || amount <= v.maxAmount);
}

/** The variation a donation of `amount` uses, or null for the default look. */
export function chooseVariation<T extends Candidate>(variations: readonly T[], amount: number): T | null {
	let best: T | null = null;
	for (const v of variations) {
		if (!matches(v, amount)) continue;
		if (!best || v.minAmount > best.minAmount || (v.minAmount === best.minAmount && v.id < best.id)) best = v;
	}
	return best;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The `{placeholders}` of a template that are not allowed (distinct, in order of appearance). */
export function unknownPlaceholders(template: string): string[] {
	const bad = new Set<string>();
	for (const m of template.matchAll(PLACEHOLDER)) if (!(PLACEHOLDERS as readonly string[]).includes(m[1])) bad.add(m[1]);
	return [...bad];
}

/** The template with its placeholders filled (values are inserted as they are: the overlay shows text, never HTML). */
export function renderTemplate(template: string, values: Record<(typeof PLACEHOLDERS)[number], string>): string {
	return template.replace(PLACEHOLDER, (whole, key: string) =>
		(PLACEHOLDERS as readonly string[]).includes(key) ? values[key as keyof typeof values] : whole,
	);
}

/** A range problem (`maxAmount` below `minAmount`), or null. */
export function rangeProblem(minAmount: number, maxAmount: number | null): string | null {
	return maxAmount !== null && maxAmount < minAmount ? "maxAmount must be at least minAmount" : null;
}
