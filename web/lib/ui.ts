import { h } from "./dom";
import { ApiError } from "./api";
import { t } from "./i18n";

/** A short message at the bottom of the screen. */
export function toast(text: string, ms = 2500) {
	const el = h("div", { class: "toast", role: "status" }, text);
	document.body.appendChild(el);
	setTimeout(() => el.remove(), ms);
}

/** A person-readable sentence for any error (API, network, other). */
export function errorText(err: unknown): string {
	if (err instanceof ApiError) {
		if (err.status === 0) return t("err.network");
		if (err.status === 429) return t("err.rateLimited", { sec: err.retryAfterSec ?? 60 });
		if (err.status === 503) return t("err.unavailable");
		if (err.status >= 500) return t("err.server");
		const fields = Object.values(err.fields()).filter(Boolean);
		return fields.length ? [...new Set(fields)].join(" ") : err.message;
	}
	return err instanceof Error ? err.message : String(err);
}

/** Runs `fn` with the button disabled, showing errors in `errorEl`. */
export async function busy<T>(button: HTMLButtonElement | null, errorEl: HTMLElement | null, fn: () => Promise<T>): Promise<T | undefined> {
	if (button) button.disabled = true;
	if (errorEl) errorEl.textContent = "";
	try {
		return await fn();
	} catch (err) {
		if (errorEl) errorEl.textContent = errorText(err);
		else toast(errorText(err));
		return undefined;
	} finally {
		if (button) button.disabled = false;
	}
}

export function field(labelText: string, input: HTMLElement, hint?: string | Node | null, name?: string): HTMLElement {
	const id = input.id || `f-${Math.random().toString(36).slice(2, 8)}`;
	input.id = id;
	return h(
		"div",
		{ class: "field", dataset: name ? { field: name } : undefined },
		h("label", { for: id }, labelText),
		input,
		hint ? h("div", { class: "hint" }, hint) : null,
		h("div", { class: "error", "aria-live": "polite" }),
	);
}

/** Puts a 422's field messages under the matching `.field[data-field]` inputs. */
export function showFieldErrors(form: HTMLElement, err: unknown): boolean {
	form.querySelectorAll(".field .error").forEach((e) => (e.textContent = ""));
	if (!(err instanceof ApiError)) return false;
	let placed = false;
	for (const [name, msg] of Object.entries(err.fields())) {
		const slot = form.querySelector(`.field[data-field="${CSS.escape(name)}"] .error`);
		if (slot) {
			slot.textContent = msg || err.message;
			placed = true;
		}
	}
	return placed;
}
