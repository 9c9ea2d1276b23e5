import { io } from "socket.io-client";
import { t } from "./i18n";

/**
 * The /overlay socket of an OBS widget (overlay token in the URL): connects, retries a refused
 * handshake slowly, and shows its state in `#overlay-status` when there is one.
 */
export type OverlaySocket = ReturnType<typeof io>;

function setState(state: string, text?: string) {
	document.body.dataset.state = state;
	const status = document.getElementById("overlay-status");
	if (status) {
		status.textContent = text ?? "";
		status.hidden = !text;
	}
}

export function overlaySocket(token: string, onConnect?: (socket: OverlaySocket) => void): OverlaySocket {
	setState("connecting", t("overlay.connecting"));
	const socket = io("/overlay", { auth: { token }, reconnectionDelayMax: 10_000 });
	socket.on("connect", () => {
		setState("connected");
		onConnect?.(socket);
	});
	socket.on("connect_error", (err: Error & { data?: { type?: string } }) => {
		const type = err.data?.type;
		setState("error", type === "INVALID_TOKEN" ? t("overlay.badToken") : t("overlay.offline"));
		// A refused handshake is not retried by socket.io itself; retry slowly (the URL may be fixed server-side).
		if (!socket.active) setTimeout(() => socket.connect(), type === "INVALID_TOKEN" ? 30_000 : 3_000);
	});
	socket.on("disconnect", (reason) => {
		setState("connecting", t("overlay.connecting"));
		// Disconnected by the server (token rotated, account suspended): try once more, the handshake tells why.
		if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1_000);
	});
	return socket;
}

export { setState as setOverlayState };
