import { CURRENCY_CODES } from "./money";
import { DEFAULT_BLOCKED_TERMS } from "./alerts/default-terms";
import { DEFAULT_TTS_MAX_CHARS, TTS_LANGUAGES, type TtsLanguage } from "./alerts/speech";

/** A user's channel settings: defaults, deep merge and the public projection. */
export interface UserSettings {
	donations: { enabled: boolean; minAmount: number; currency: string };
	mediaShare: { enabled: boolean; pricePerSecond: number; maxSeconds: number; requireApproval: boolean };
	/** `useDefaultList` adds the built-in ID/EN list to `blockedTerms`; `linkAction` is what a URL in a message does. */
	moderation: { blockedTerms: string[]; blockedTermAction: "mask" | "hold"; useDefaultList: boolean; linkAction: "allow" | "strip" | "hold" };
	alerts: { displaySeconds: number; tts: boolean; ttsMinAmount: number; ttsLanguage: TtsLanguage; ttsMaxChars: number };
	email: Record<string, boolean>;
}

export function defaultSettings(): UserSettings {
	return {
		donations: { enabled: false, minAmount: 0, currency: "IDR" },
		mediaShare: { enabled: false, pricePerSecond: 0, maxSeconds: 60, requireApproval: true },
		moderation: { blockedTerms: [], blockedTermAction: "mask", useDefaultList: false, linkAction: "allow" },
		alerts: { displaySeconds: 8, tts: false, ttsMinAmount: 0, ttsLanguage: "id", ttsMaxChars: DEFAULT_TTS_MAX_CHARS },
		email: {},
	};
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep merge: objects merge key by key, arrays and scalars replace. Never mutates its inputs. */
export function deepMerge<T>(base: T, patch: unknown): T {
	if (!isPlainObject(base) || !isPlainObject(patch)) return (patch === undefined ? base : patch) as T;
	const out: Record<string, unknown> = { ...base };
	for (const [k, v] of Object.entries(patch)) {
		if (k === "__proto__" || k === "constructor" || k === "prototype") continue;
		if (v === undefined) continue;
		out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
	}
	return out as T;
}

/**
 * Email preferences are keyed by notification type ("donation.received"); document stores do not
 * take dots in field names, so they are stored with ":" and turned back on read.
 */
export function toStored(settings: UserSettings): UserSettings {
	const email = Object.fromEntries(Object.entries(settings.email ?? {}).map(([k, v]) => [k.replace(/\./g, ":"), v]));
	return { ...settings, email };
}

function fromStoredEmail(email: unknown): Record<string, boolean> {
	if (!email || typeof email !== "object") return {};
	return Object.fromEntries(Object.entries(email as Record<string, boolean>).map(([k, v]) => [k.replace(/:/g, "."), v]));
}

/** Stored settings completed with defaults added since the user last saved. */
export function withDefaults(stored: unknown): UserSettings {
	const merged = deepMerge(defaultSettings(), stored ?? {});
	return { ...merged, email: fromStoredEmail(merged.email) };
}

/** Normalizes blocked terms: trimmed, lower-cased, unique, non-empty. */
export function normalizeTerms(terms: string[]): string[] {
	return [...new Set(terms.map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0))];
}

/** Every term a channel blocks: its own, plus the built-in list when it asks for it. */
export function blockedTermsOf(s: Pick<UserSettings, "moderation">): string[] {
	return s.moderation.useDefaultList ? [...new Set([...s.moderation.blockedTerms, ...DEFAULT_BLOCKED_TERMS])] : s.moderation.blockedTerms;
}

/** A settings patch as stored: merged into the current settings, blocked terms normalized, email keys stored. */
export type SettingsPatch = { [K in keyof UserSettings]?: Partial<UserSettings[K]> };

export function applySettingsPatch(stored: unknown, patch: SettingsPatch): UserSettings {
	const merged = deepMerge(withDefaults(stored), patch);
	merged.moderation.blockedTerms = normalizeTerms(merged.moderation.blockedTerms);
	return toStored(merged);
}

/** The fastest-validator rule of a settings patch (`PATCH /users/me`): every group and key optional, nothing else. */
export const SETTINGS_PATCH_RULE = {
	type: "object",
	optional: true,
	strict: true,
	props: {
		donations: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				enabled: { type: "boolean", optional: true },
				minAmount: { type: "number", integer: true, min: 0, max: 1e12, optional: true },
				currency: { type: "enum", values: CURRENCY_CODES, optional: true },
			},
		},
		mediaShare: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				enabled: { type: "boolean", optional: true },
				pricePerSecond: { type: "number", integer: true, min: 0, max: 1e10, optional: true },
				maxSeconds: { type: "number", integer: true, min: 1, max: 600, optional: true },
				requireApproval: { type: "boolean", optional: true },
			},
		},
		moderation: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				blockedTerms: { type: "array", items: { type: "string", min: 1, max: 100 }, max: 500, optional: true },
				blockedTermAction: { type: "enum", values: ["mask", "hold"], optional: true },
				useDefaultList: { type: "boolean", optional: true },
				linkAction: { type: "enum", values: ["allow", "strip", "hold"], optional: true },
			},
		},
		alerts: {
			type: "object",
			optional: true,
			strict: true,
			props: {
				displaySeconds: { type: "number", integer: true, min: 2, max: 120, optional: true },
				tts: { type: "boolean", optional: true },
				ttsMinAmount: { type: "number", integer: true, min: 0, max: 1e12, optional: true },
				ttsLanguage: { type: "enum", values: TTS_LANGUAGES, optional: true },
				ttsMaxChars: { type: "number", integer: true, min: 10, max: 500, optional: true },
			},
		},
		email: { type: "record", optional: true, key: { type: "string", pattern: /^[a-z]+(\.[a-z]+)*$/, max: 50 }, value: { type: "boolean" } },
	},
};
