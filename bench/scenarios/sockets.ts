import { io as ioClient, type Socket } from "socket.io-client";

/** Opens `count` Socket.IO connections, `batch` at a time; `setup` runs before each connects. */
export async function connectMany(
	url: string,
	count: number,
	opts: { auth?: Record<string, unknown>; batch?: number; setup?: (s: Socket, i: number) => void } = {},
): Promise<Socket[]> {
	const sockets: Socket[] = [];
	const batch = opts.batch ?? 100;
	for (let i = 0; i < count; i += batch) {
		const n = Math.min(batch, count - i);
		const opened = await Promise.all(
			Array.from(
				{ length: n },
				(_, k) =>
					new Promise<Socket>((resolve, reject) => {
						const s = ioClient(url, { auth: opts.auth, transports: ["websocket"], reconnection: false, forceNew: true, timeout: 30_000 });
						opts.setup?.(s, i + k);
						s.once("connect", () => resolve(s));
						s.once("connect_error", (e) => reject(e));
					}),
			),
		);
		sockets.push(...opened);
	}
	return sockets;
}

export function closeAll(sockets: Socket[]) {
	for (const s of sockets) s.close();
}

/** Emits with an ack, resolving with the ack payload. */
export function ack<T = any>(s: Socket, event: string, payload: unknown, timeoutMs = 30_000): Promise<T> {
	return s.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
}
