import { CURRENCIES, formatMoney } from "../../lib/domain/money";

/**
 * Money on the pages: the server's rules (ISO 4217 exponents, home-locale formatting) come from
 * the same lib/domain/money.ts the services use, so the page shows exactly what the API will answer.
 */
export { formatMoney, CURRENCIES };

export function exponentOf(currency: string): number {
	return CURRENCIES[currency]?.exponent ?? 2;
}

/** Whole-unit currencies (IDR, JPY) are typed and shown without decimals. */
export function wholeUnits(currency: string): boolean {
	return !(CURRENCIES[currency]?.showMinor ?? true);
}

/**
 * What a person typed in major units → integer minor units, or null when it is not an amount.
 * IDR "10.000" / "10,000" / "10000" → 1000000; USD "5", "5.5", "5,50" → 500, 550, 550.
 */
export function parseMajor(input: string, currency: string): number | null {
	const exp = exponentOf(currency);
	// A currency prefix ("Rp", "$", "IDR") is fine; a sign is not.
	const s = input
		.trim()
		.replace(/[\s\u00a0]/g, "")
		.replace(/^[A-Za-z$€£¥]+\.?/, "");
	if (!s || !/^\d/.test(s)) return null;
	if (wholeUnits(currency)) {
		if (!/^\d{1,3}([.,]\d{3})*$|^\d+$/.test(s)) return null;
		const major = Number(s.replace(/[.,]/g, ""));
		return Number.isSafeInteger(major * 10 ** exp) ? major * 10 ** exp : null;
	}
	const m = /^(\d+|\d{1,3}(?:,\d{3})+)(?:[.,](\d{1,2}))?$/.exec(s);
	if (!m) return null;
	const whole = Number(m[1].replace(/,/g, ""));
	const frac = (m[2] ?? "").padEnd(exp, "0").slice(0, exp);
	const minor = whole * 10 ** exp + (frac ? Number(frac) : 0);
	return Number.isSafeInteger(minor) ? minor : null;
}

/** Minor units → what goes back into an input box ("10000" for IDR, "5.50" for USD). */
export function toInput(minor: number, currency: string): string {
	const exp = exponentOf(currency);
	const major = minor / 10 ** exp;
	return wholeUnits(currency) ? String(Math.trunc(major)) : major.toFixed(exp);
}

/** Suggested amounts (minor units) at or above the channel's minimum. */
export function presets(currency: string, minAmount: number): number[] {
	const exp = exponentOf(currency);
	const majors = currency === "IDR" ? [10_000, 25_000, 50_000, 100_000] : currency === "JPY" ? [500, 1_000, 3_000, 5_000] : [2, 5, 10, 20];
	const list = majors.map((m) => m * 10 ** exp).filter((a) => a >= minAmount);
	if (minAmount > 0 && !list.includes(minAmount)) list.unshift(minAmount);
	return list.slice(0, 4);
}

/** Seconds of media an amount buys (the server decides; this is the preview). */
export function mediaSecondsFor(amount: number, pricePerSecond: number, maxSeconds: number): number {
	if (pricePerSecond <= 0) return maxSeconds;
	return Math.min(maxSeconds, Math.floor(amount / pricePerSecond));
}
