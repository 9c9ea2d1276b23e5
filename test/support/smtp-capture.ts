import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

/**
 * A local SMTP server that keeps every message it is given (a real SMTP conversation, as the
 * mailer has with a provider), with the plain-text body decoded, and lets a test wait for the
 * next message to one address.
 */

export interface CapturedMail {
	to: string[];
	subject: string;
	text: string;
	raw: string;
}

function decodeQuotedPrintable(s: string): string {
	const bytes: number[] = [];
	const soft = s.replace(/=\r?\n/g, "");
	for (let i = 0; i < soft.length; i++) {
		const hex = soft[i] === "=" ? /^[0-9A-Fa-f]{2}$/.exec(soft.slice(i + 1, i + 3)) : null;
		if (hex) {
			bytes.push(parseInt(hex[0], 16));
			i += 2;
		} else bytes.push(...Buffer.from(soft[i]));
	}
	return Buffer.from(bytes).toString("utf8");
}

function decodeHeaderWords(v: string): string {
	return v.replace(/=\?utf-8\?([BQ])\?([^?]*)\?=/gi, (_m, enc: string, data: string) =>
		enc.toUpperCase() === "B" ? Buffer.from(data, "base64").toString("utf8") : decodeQuotedPrintable(data.replace(/_/g, " ")),
	);
}

/** Headers and the decoded text of a single-part message. */
export function parseMail(raw: string): { subject: string; text: string } {
	const split = raw.indexOf("\r\n\r\n");
	const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
	const body = raw.slice(split + 4);
	const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(head)?.[1] ?? "";
	const cte = header("Content-Transfer-Encoding").toLowerCase();
	const text = cte === "quoted-printable" ? decodeQuotedPrintable(body) : cte === "base64" ? Buffer.from(body, "base64").toString("utf8") : body;
	return { subject: decodeHeaderWords(header("Subject")), text: text.replace(/\r\n/g, "\n") };
}

export class SmtpCapture {
	readonly mails: CapturedMail[] = [];
	private server: SMTPServer;
	private waiters: Array<() => void> = [];

	constructor() {
		this.server = new SMTPServer({
			authOptional: true,
			disabledCommands: ["STARTTLS", "AUTH"],
			logger: false,
			onData: (stream, session, cb) => {
				let raw = "";
				stream.on("data", (c: Buffer) => (raw += c.toString()));
				stream.on("end", () => {
					this.mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw, ...parseMail(raw) });
					for (const w of this.waiters.splice(0)) w();
					cb();
				});
			},
		});
	}

	/** Listens on an ephemeral port; resolves with the SMTP_URL to give the mailer. */
	listen(): Promise<string> {
		return new Promise((resolve) =>
			this.server.listen(0, "127.0.0.1", () => resolve(`smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`)),
		);
	}

	/** Every message to `address` so far. */
	to(address: string): CapturedMail[] {
		return this.mails.filter((m) => m.to.includes(address.toLowerCase()));
	}

	/** The `n`th message (1-based) to `address`, waiting for it up to `timeoutMs`. */
	async waitFor(address: string, n = 1, timeoutMs = 5000): Promise<CapturedMail> {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const got = this.to(address);
			if (got.length >= n) return got[n - 1];
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`no email #${n} to ${address} within ${timeoutMs} ms (got ${got.length})`);
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
	}

	close(): Promise<void> {
		return new Promise((resolve) => this.server.close(() => resolve()));
	}
}

/** The one-time token of the link in an email that starts with `publicUrl + page`. */
export function linkToken(mail: CapturedMail, publicUrl: string, page: string): string {
	const m = new RegExp(`${publicUrl.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}${page}\\?\\S*`).exec(mail.text);
	if (!m) throw new Error(`no ${page} link in: ${mail.text}`);
	const token = new URL(m[0]).searchParams.get("token");
	if (!token) throw new Error(`no token in ${m[0]}`);
	return token;
}
