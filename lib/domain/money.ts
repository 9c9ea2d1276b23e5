/**
 * Money in integer minor units (ISO 4217 exponents). Formatting follows each currency's home
 * locale: IDR 1000000 → "Rp 10.000", USD 500 → "$5.00".
 */
export interface CurrencyInfo {
	code: string;
	exponent: number;
	locale: string;
	/** Show decimals when formatting (IDR amounts are shown in whole rupiah). */
	showMinor: boolean;
	/** Largest single donation accepted, in minor units. */
	max: number;
}

export const CURRENCIES: Record<string, CurrencyInfo> = {
	IDR: { code: "IDR", exponent: 2, locale: "id-ID", showMinor: false, max: 100_000_000_00 },
	USD: { code: "USD", exponent: 2, locale: "en-US", showMinor: true, max: 10_000_000 },
	EUR: { code: "EUR", exponent: 2, locale: "de-DE", showMinor: true, max: 10_000_000 },
	SGD: { code: "SGD", exponent: 2, locale: "en-SG", showMinor: true, max: 10_000_000 },
	MYR: { code: "MYR", exponent: 2, locale: "ms-MY", showMinor: true, max: 50_000_000 },
	GBP: { code: "GBP", exponent: 2, locale: "en-GB", showMinor: true, max: 10_000_000 },
	AUD: { code: "AUD", exponent: 2, locale: "en-AU", showMinor: true, max: 10_000_000 },
	JPY: { code: "JPY", exponent: 0, locale: "ja-JP", showMinor: false, max: 10_000_000 },
	PHP: { code: "PHP", exponent: 2, locale: "en-PH", showMinor: true, max: 500_000_000 },
	THB: { code: "THB", exponent: 2, locale: "th-TH", showMinor: true, max: 300_000_000 },
};

export const CURRENCY_CODES = Object.keys(CURRENCIES);

export function isCurrency(code: unknown): code is string {
	return typeof code === "string" && Object.prototype.hasOwnProperty.call(CURRENCIES, code);
}

export function currencyInfo(code: string): CurrencyInfo {
	const info = CURRENCIES[code];
	if (!info) throw new RangeError(`Unsupported currency ${code}`);
	return info;
}

const formatters = new Map<string, Intl.NumberFormat>();

function formatter(info: CurrencyInfo): Intl.NumberFormat {
	let f = formatters.get(info.code);
	if (!f) {
		const digits = info.showMinor ? info.exponent : 0;
		f = new Intl.NumberFormat(info.locale, { style: "currency", currency: info.code, minimumFractionDigits: digits, maximumFractionDigits: digits });
		formatters.set(info.code, f);
	}
	return f;
}

/** Formats minor units for people: formatMoney(1000000, "IDR") === "Rp 10.000". */
export function formatMoney(amount: number, currency: string): string {
	const info = currencyInfo(currency);
	const major = amount / 10 ** info.exponent;
	const shown = info.showMinor ? major : Math.trunc(major);
	// Intl uses no-break spaces; plain spaces are friendlier to overlays, TTS and JSON clients.
	return formatter(info)
		.format(shown)
		.replace(/[\u00a0\u202f]/g, " ");
}

/** Minor units → the decimal string providers want ("10000.00"). */
export function toMajorString(amount: number, currency: string): string {
	const info = currencyInfo(currency);
	if (info.exponent === 0) return String(amount);
	const sign = amount < 0 ? "-" : "";
	const abs = Math.abs(amount);
	const unit = 10 ** info.exponent;
	return `${sign}${Math.trunc(abs / unit)}.${String(abs % unit).padStart(info.exponent, "0")}`;
}

/** Fee in minor units for basis points, rounded half up; the streamer's share is amount - fee. */
export function feeFor(amount: number, bps: number): number {
	return Math.floor((amount * bps + 5_000) / 10_000);
}

/** Problems with an amount for a currency, or null when it is acceptable. */
export function amountProblem(amount: unknown, currency: string): string | null {
	if (typeof amount !== "number" || !Number.isSafeInteger(amount)) return "amount must be an integer in the currency's minor unit";
	if (amount <= 0) return "amount must be positive";
	const info = CURRENCIES[currency];
	if (!info) return `currency ${currency} is not supported`;
	if (amount > info.max) return `amount must be at most ${formatMoney(info.max, currency)}`;
	if (!info.showMinor && info.exponent > 0 && amount % 10 ** info.exponent !== 0) {
		return `${currency} amounts must be whole units (a multiple of ${10 ** info.exponent})`;
	}
	return null;
}
