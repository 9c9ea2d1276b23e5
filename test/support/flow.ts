import { createHmac, randomUUID } from "node:crypto";
import type { Socket } from "socket.io-client";
import { client, connectSocket, registerUser, waitFor } from "./harness";

export const SANDBOX_SECRET = process.env.SANDBOX_WEBHOOK_SECRET || "dev-only-sandbox-webhook-secret";

/** Registers a streamer with donations on (IDR, minimum Rp 1.000) and returns its overlay token. */
export async function setupStreamer(base: string, settings: Record<string, unknown> = {}) {
	const api = client(base);
	const s = await registerUser(base, "streamer");
	const patch = await api(
		"PATCH",
		"/api/users/me",
		{ settings: { donations: { enabled: true, minAmount: 1_000_00, currency: "IDR" }, ...settings } },
		{ token: s.token },
	);
	if (patch.status !== 200) throw new Error(`settings failed: ${patch.status} ${JSON.stringify(patch.body)}`);
	return { ...s, overlayToken: patch.body.overlayToken as string };
}

/** An overlay socket that records every alert and can acknowledge them. */
export async function openOverlay(base: string, token: string) {
	const alerts: any[] = [];
	const socket = await connectSocket(base, "/overlay", { token }, (s) => s.on("alert", (a) => alerts.push(a)));
	return {
		socket,
		alerts,
		async next(count = alerts.length + 1, timeoutMs = 8000) {
			await waitFor(() => alerts.length >= count, timeoutMs, `alert #${count}`);
			return alerts[count - 1];
		},
		done(id: string) {
			return socket.timeout(5000).emitWithAck("alert:done", { id });
		},
		close() {
			socket.close();
		},
	};
}

export type Overlay = Awaited<ReturnType<typeof openOverlay>>;

export async function donate(base: string, to: string, body: Record<string, unknown> = {}, opts: { token?: string; key?: string } = {}) {
	const headers: Record<string, string> = {};
	if (opts.key) headers["Idempotency-Key"] = opts.key;
	return client(base)(
		"POST",
		"/api/donations",
		{ to, amount: 5_000_00, currency: "IDR", provider: "sandbox", donorName: "Budi", message: "semangat!", ...body },
		{ token: opts.token, headers },
	);
}

/** Signs and posts a sandbox webhook exactly as the sandbox provider does. */
export async function sandboxWebhook(base: string, body: Record<string, unknown>, opts: { secret?: string; t?: number; scheme?: string } = {}) {
	const raw = JSON.stringify({ event_id: randomUUID(), ...body });
	const t = opts.t ?? Math.floor(Date.now() / 1000);
	const sig = createHmac("sha256", opts.secret ?? SANDBOX_SECRET)
		.update(`${t}.${raw}`)
		.digest("hex");
	const res = await fetch(`${base}/api/payments/webhooks/sandbox`, {
		method: "POST",
		headers: { "Content-Type": "application/json", "X-Sandbox-Signature": `t=${t},${opts.scheme ?? "v1"}=${sig}` },
		body: raw,
	});
	return { status: res.status, raw, body: await res.text() };
}

/** Completes a sandbox payment through its public endpoint and waits for the donation to settle. */
export async function pay(base: string, paymentId: string, outcome: "settlement" | "deny" | "expire" = "settlement") {
	return client(base)("POST", `/api/payments/sandbox/${paymentId}/complete`, { outcome });
}

export async function donationStatus(base: string, token: string, id: string): Promise<string> {
	const res = await client(base)("GET", `/api/donations/${id}`, undefined, { token });
	return res.body?.status;
}

export async function waitStatus(base: string, token: string, id: string, status: string, timeoutMs = 8000) {
	await waitFor(async () => (await donationStatus(base, token, id)) === status, timeoutMs, `donation ${id} to be ${status}`);
}

export function closeAll(...sockets: (Socket | Overlay | undefined)[]) {
	for (const s of sockets) (s as any)?.close?.();
}
