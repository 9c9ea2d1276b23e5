import { io, type Socket } from "socket.io-client";
import { api } from "../lib/api";
import { app, avatar, colorFor, h, mount, query, randomId, segment } from "../lib/dom";
import { langSwitch, locale, t } from "../lib/i18n";
import { freshSession, loadSession, onSessionChange, saveSession, signOut, type Session } from "../lib/session";
import { busy, errorText, field, toast } from "../lib/ui";
import "../styles/base.css";
import "../styles/chat.css";

/**
 * Embeddable channel chat: /chat/:username[?theme=dark]. Anyone can read; signed-in users (the
 * session is shared with the dashboard through localStorage) can send. Owners, moderators and
 * admins get delete / timeout / ban buttons. Deleted and cleared messages stay visible as such.
 */
interface ChatUser {
	id: string;
	username: string;
	displayName?: string;
}
interface Message {
	id: string;
	channel: string;
	user: ChatUser;
	text: string;
	createdAt: string;
	deleted?: boolean;
}
interface Ack {
	ok: boolean;
	error?: { type: string; message: string; retryAfterSec?: number };
	[k: string]: unknown;
}

const channel = segment(1).toLowerCase();
const root = app();
if (query("theme") === "dark") document.documentElement.classList.add("dark");

let session: Session | null = loadSession();
let socket: Socket | null = null;
let canModerate = false;
let slowModeSec = 0;
let cooldownUntil = 0;
let viewers = 0;
let showSignIn = false;
const messages = new Map<string, Message>();
const typing = new Map<string, { name: string; until: number }>();

/** The channel's avatar from its public profile (initials until it loads, or when it has none). */
let channelAvatar: HTMLElement = avatar(channel, 24);
void api<{ displayName: string; avatarUrl?: string | null }>("GET", `/api/users/${encodeURIComponent(channel)}`)
	.then((p) => {
		const next = avatar(p.displayName || channel, 24, p.avatarUrl);
		channelAvatar.replaceWith(next);
		channelAvatar = next;
	})
	.catch(() => undefined);

const list = h("ol", { class: "chat-list", "aria-live": "polite", "aria-label": t("chat.messages") });
const statusLine = h("span", { class: "chat-status small muted" });
const viewersEl = h("span", { class: "chat-viewers small muted" });
const typingEl = h("div", { class: "chat-typing small muted" });
const footer = h("div", { class: "chat-footer" });

function isMine(m: Message) {
	return session?.user.id === m.user.id;
}

function messageEl(m: Message): HTMLElement {
	const name = m.user.displayName || m.user.username;
	const mod = canModerate && !isMine(m) && m.user.username !== channel;
	return h(
		"li",
		{ class: `chat-msg${m.deleted ? " deleted" : ""}`, dataset: { id: m.id, user: m.user.id } },
		h("span", { class: "chat-time small muted" }, new Date(m.createdAt).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" })),
		" ",
		h("span", { class: "chat-name", style: { color: colorFor(m.user.username) }, title: `@${m.user.username}` }, name),
		m.user.username === channel ? h("span", { class: "pill small owner-pill" }, t("chat.owner")) : null,
		": ",
		m.deleted ? h("em", { class: "chat-text muted" }, t("chat.deleted")) : h("span", { class: "chat-text" }, m.text),
		mod && !m.deleted
			? h(
					"span",
					{ class: "chat-mod" },
					h(
						"button",
						{
							type: "button",
							class: "small ghost",
							dataset: { act: "delete" },
							title: t("chat.delete"),
							onclick: () => void moderate("delete", m),
						},
						t("chat.delete"),
					),
					h(
						"button",
						{
							type: "button",
							class: "small ghost",
							dataset: { act: "timeout" },
							title: t("chat.timeout"),
							onclick: () => void moderate("timeout", m),
						},
						t("chat.timeoutShort"),
					),
					h(
						"button",
						{ type: "button", class: "small ghost", dataset: { act: "ban" }, title: t("chat.ban"), onclick: () => void moderate("ban", m) },
						t("chat.ban"),
					),
				)
			: null,
	);
}

function atBottom() {
	return list.scrollHeight - list.scrollTop - list.clientHeight < 60;
}

function upsert(m: Message) {
	const stick = atBottom();
	messages.set(m.id, m);
	const existing = list.querySelector(`[data-id="${CSS.escape(m.id)}"]`);
	const el = messageEl(m);
	if (existing) existing.replaceWith(el);
	else list.appendChild(el);
	while (list.children.length > 200) {
		const first = list.firstElementChild as HTMLElement;
		messages.delete(first.dataset.id!);
		first.remove();
	}
	if (stick) list.scrollTop = list.scrollHeight;
}

function markDeleted(id: string) {
	const m = messages.get(id);
	if (m) upsert({ ...m, deleted: true });
}

function renderAll() {
	list.replaceChildren(...[...messages.values()].map(messageEl));
	list.scrollTop = list.scrollHeight;
}

function renderTyping() {
	const now = Date.now();
	const names = [...typing.values()].filter((x) => x.until > now).map((x) => x.name);
	typingEl.textContent = names.length ? t("chat.typing", { names: names.slice(0, 3).join(", ") }) : "";
}
setInterval(renderTyping, 1000);

function renderFooter() {
	if (!session) {
		if (!showSignIn) {
			return mount(
				footer,
				h(
					"div",
					{ class: "spread" },
					h("span", { class: "small muted" }, t("chat.readOnly")),
					h("button", { type: "button", class: "small", onclick: () => ((showSignIn = true), renderFooter()) }, t("chat.signIn")),
				),
			);
		}
		return mount(footer, signInForm());
	}
	const input = h("input", {
		type: "text",
		name: "text",
		maxlength: "500",
		autocomplete: "off",
		placeholder: t("chat.placeholder"),
		"aria-label": t("chat.placeholder"),
	});
	const send = h("button", { type: "submit", class: "chat-send" }, t("chat.send"));
	const error = h("p", { class: "form-error chat-error", role: "alert" });
	const form = h("form", { class: "chat-form" }, input, send);
	let lastTyping = 0;
	input.addEventListener("input", () => {
		if (Date.now() - lastTyping > 2000 && input.value) {
			lastTyping = Date.now();
			socket?.emit("chat:typing", { channel });
		}
	});
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		const text = input.value.trim();
		if (!text || Date.now() < cooldownUntil) return;
		void busy(send, error, async () => {
			const ack = await emitAck("chat:send", { channel, text, nonce: randomId() });
			if (!ack.ok) {
				if (ack.error?.retryAfterSec) startCooldown(ack.error.retryAfterSec, send);
				throw new Error(ackError(ack));
			}
			input.value = "";
			if (ack.message) upsert(ack.message as Message);
			// Owners and moderators are exempt from slow mode.
			if (slowModeSec > 0 && !canModerate) startCooldown(slowModeSec, send);
		}).then(() => {
			if (Date.now() < cooldownUntil) send.disabled = true;
			input.focus();
		});
	});
	mount(
		footer,
		form,
		error,
		canModerate ? slowModeControl() : null,
		h(
			"div",
			{ class: "spread small muted" },
			h(
				"span",
				null,
				t("chat.signedInAs", { name: session.user.displayName || session.user.username }),
				slowModeSec > 0 ? ` · ${t("chat.slowMode", { sec: slowModeSec })}` : "",
			),
			h("button", { type: "button", class: "small ghost", onclick: () => void signOut().then(() => ((session = null), reconnect())) }, t("chat.signOut")),
		),
	);
}

function slowModeControl(): HTMLElement {
	const options = [0, 5, 30, 60, 120];
	if (!options.includes(slowModeSec)) options.push(slowModeSec);
	const select = h(
		"select",
		{ name: "slowMode", "aria-label": t("chat.slowModeLabel") },
		options.map((sec) => h("option", { value: String(sec), selected: sec === slowModeSec }, sec === 0 ? t("chat.slowOff") : t("chat.slowMode", { sec }))),
	);
	select.addEventListener("change", async () => {
		try {
			await api("PUT", `/api/channels/${encodeURIComponent(channel)}/settings`, { slowModeSec: Number(select.value) }, { auth: "required" });
			toast(t("common.saved"));
		} catch (err) {
			toast(errorText(err));
		}
	});
	return h("label", { class: "chat-slow small muted row" }, t("chat.slowModeLabel"), select);
}

function startCooldown(sec: number, button: HTMLButtonElement) {
	cooldownUntil = Date.now() + sec * 1000;
	const tick = () => {
		const left = Math.ceil((cooldownUntil - Date.now()) / 1000);
		if (left <= 0 || !button.isConnected) {
			button.disabled = false;
			button.textContent = t("chat.send");
			return;
		}
		button.disabled = true;
		button.textContent = t("chat.wait", { sec: left });
		setTimeout(tick, 250);
	};
	tick();
}

function ackError(ack: Ack): string {
	const e = ack.error;
	if (!e) return t("err.server");
	const known: Record<string, string> = {
		SLOW_MODE: t("chat.err.slow", { sec: e.retryAfterSec ?? slowModeSec }),
		BANNED: t("chat.err.banned"),
		TIMED_OUT: t("chat.err.timedOut", { sec: e.retryAfterSec ?? 0 }),
		FOLLOWERS_ONLY: t("chat.err.followers"),
		BLOCKED_TERM: t("chat.err.blocked"),
		RATE_LIMITED: t("chat.err.rate"),
		UNAUTHORIZED: t("chat.err.signIn"),
	};
	return known[e.type] ?? e.message;
}

function signInForm(): HTMLElement {
	const login = h("input", { type: "text", name: "login", autocomplete: "username", required: true });
	const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
	const submit = h("button", { type: "submit" }, t("auth.signIn"));
	const error = h("p", { class: "form-error", role: "alert" });
	const form = h(
		"form",
		{ class: "chat-signin" },
		field(t("auth.login"), login),
		field(t("auth.password"), password),
		error,
		h(
			"div",
			{ class: "row" },
			submit,
			h("button", { type: "button", class: "ghost", onclick: () => ((showSignIn = false), renderFooter()) }, t("common.cancel")),
			h("a", { class: "small", href: "/dashboard", target: "_blank", rel: "noopener" }, t("chat.register")),
		),
	);
	form.addEventListener("submit", (e) => {
		e.preventDefault();
		void busy(submit, error, async () => {
			const res = await api<Session & { user: Session["user"] }>("POST", "/api/auth/login", { login: login.value.trim(), password: password.value });
			saveSession({ accessToken: res.accessToken, refreshToken: res.refreshToken, user: res.user });
			session = loadSession();
			showSignIn = false;
			reconnect();
		});
	});
	return form;
}

async function moderate(action: "delete" | "timeout" | "ban", m: Message) {
	const base = `/api/channels/${encodeURIComponent(channel)}`;
	try {
		if (action === "delete") await api("DELETE", `${base}/messages/${encodeURIComponent(m.id)}`, undefined, { auth: "required" });
		else await api("POST", `${base}/bans`, action === "timeout" ? { userId: m.user.id, durationSec: 600 } : { userId: m.user.id }, { auth: "required" });
		if (action === "delete") markDeleted(m.id);
		toast(
			action === "delete"
				? t("chat.didDelete")
				: action === "timeout"
					? t("chat.didTimeout", { name: m.user.username })
					: t("chat.didBan", { name: m.user.username }),
		);
	} catch (err) {
		toast(errorText(err));
	}
}

function emitAck(event: string, payload: unknown): Promise<Ack> {
	return new Promise((resolve) => {
		if (!socket?.connected) return resolve({ ok: false, error: { type: "OFFLINE", message: t("chat.offline") } });
		socket
			.timeout(8000)
			.emit(event, payload, (err: Error | null, ack: Ack) => resolve(err ? { ok: false, error: { type: "TIMEOUT", message: t("chat.offline") } } : ack));
	});
}

async function join() {
	const ack = await emitAck("chat:join", { channel });
	if (!ack.ok) {
		statusLine.textContent = ackError(ack);
		return;
	}
	statusLine.textContent = "";
	const history = ((ack.history as Message[]) ?? [])
		.slice()
		.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
	messages.clear();
	for (const m of history) messages.set(m.id, m);
	viewers = Number(ack.viewers) || viewers;
	viewersEl.textContent = t("chat.viewers", { n: viewers });
	const settings = (ack.settings ?? {}) as { slowModeSec?: number };
	slowModeSec = Number(settings.slowModeSec ?? ack.slowModeSec ?? 0) || 0;
	const roles = session?.user.roles ?? [];
	const role = String(ack.role ?? "");
	canModerate = Boolean(
		session &&
		(session.user.username === channel ||
			roles.includes("admin") ||
			ack.canModerate ||
			ack.isModerator ||
			ack.moderator ||
			role === "moderator" ||
			role === "owner" ||
			role === "admin"),
	);
	document.body.dataset.state = "joined";
	document.body.dataset.moderator = String(canModerate);
	renderAll();
	renderFooter();
}

async function connect() {
	session = await freshSession();
	socket = io("/", { auth: session ? { token: session.accessToken } : {}, reconnectionDelayMax: 10_000 });
	socket.on("connect", () => void join());
	socket.on("connect_error", async (err: Error & { data?: { type?: string } }) => {
		statusLine.textContent = t("chat.offline");
		if (err.data?.type === "TOKEN_EXPIRED" || err.data?.type === "INVALID_TOKEN") {
			session = await freshSession(true);
			if (socket) socket.auth = session ? { token: session.accessToken } : {};
			setTimeout(() => socket?.connect(), 500);
		}
	});
	socket.on("disconnect", (reason) => {
		document.body.dataset.state = "offline";
		statusLine.textContent = t("chat.offline");
		if (reason === "io server disconnect") setTimeout(() => socket?.connect(), 2000);
	});
	socket.on("chat:message", (m: Message) => m.channel === channel && upsert(m));
	socket.on("chat:deleted", (p: { channel: string; id: string }) => p.channel === channel && markDeleted(p.id));
	socket.on("chat:cleared", (p: { channel: string; userId: string }) => {
		if (p.channel !== channel) return;
		for (const m of [...messages.values()]) if (m.user.id === p.userId) markDeleted(m.id);
	});
	socket.on("chat:typing", (p: { channel: string; user: ChatUser }) => {
		if (p.channel !== channel || !p.user || p.user.id === session?.user.id) return;
		typing.set(p.user.id, { name: p.user.displayName || p.user.username, until: Date.now() + 4000 });
		renderTyping();
	});
	socket.on("chat:settings", (p: { channel: string; slowModeSec?: number }) => {
		if (p.channel !== channel) return;
		slowModeSec = Number(p.slowModeSec) || 0;
		if (slowModeSec === 0) cooldownUntil = 0;
		const input = footer.querySelector<HTMLInputElement>("input[name=text]");
		const draft = input?.value ?? "";
		renderFooter();
		const fresh = footer.querySelector<HTMLInputElement>("input[name=text]");
		if (fresh) fresh.value = draft;
	});
	socket.on("presence", (p: { channel: string; viewers: number }) => {
		if (p.channel !== channel) return;
		viewers = p.viewers;
		viewersEl.textContent = t("chat.viewers", { n: viewers });
	});
	// The access token expires after minutes; keep the socket's handshake token fresh for reconnects.
	setInterval(async () => {
		if (!session || !socket) return;
		const s = await freshSession();
		if (s) socket.auth = { token: s.accessToken };
	}, 60_000);
}

function reconnect() {
	socket?.removeAllListeners();
	socket?.disconnect();
	socket = null;
	void connect();
	renderFooter();
}

function render() {
	mount(
		root,
		h(
			"div",
			{ class: "chat" },
			h(
				"header",
				{ class: "chat-head spread" },
				h("strong", { class: "break row" }, channelAvatar, t("chat.title", { name: channel })),
				h(
					"div",
					{ class: "row" },
					viewersEl,
					langSwitch(() => (render(), renderAll())),
				),
			),
			statusLine,
			list,
			typingEl,
			footer,
		),
	);
	renderFooter();
}

onSessionChange((s) => {
	if ((s?.user.id ?? null) !== (session?.user.id ?? null)) {
		session = s;
		reconnect();
	}
});

render();
void connect();
