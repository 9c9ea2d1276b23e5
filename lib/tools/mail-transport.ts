import nodemailer from "nodemailer";

/**
 * Where outgoing email goes. SMTP_URL set → nodemailer SMTP (e.g. smtp://user:pass@host:587,
 * smtps://… for implicit TLS); otherwise the log transport writes each message to the service
 * log, which is what development and a fresh install want.
 */
export interface MailMessage {
	from: string;
	to: string;
	subject: string;
	text: string;
	headers?: Record<string, string>;
}

export interface MailTransport {
	readonly kind: "smtp" | "log";
	send(msg: MailMessage): Promise<{ messageId?: string }>;
	close(): void;
}

export function createMailTransport(env: NodeJS.ProcessEnv, log: (line: string) => void): MailTransport {
	const url = env.SMTP_URL;
	if (url) {
		if (!/^smtps?:\/\//i.test(url)) throw new Error(`SMTP_URL must start with smtp:// or smtps:// (got "${url.split(":")[0]}:…").`);
		const timeout = Number(env.SMTP_TIMEOUT_MS || 10_000);
		const transporter = nodemailer.createTransport(url, { connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout } as any);
		return {
			kind: "smtp",
			async send(msg) {
				const info = await transporter.sendMail(msg);
				return { messageId: info.messageId };
			},
			close() {
				transporter.close();
			},
		};
	}
	return {
		kind: "log",
		async send(msg) {
			log(`email to=${msg.to} subject=${JSON.stringify(msg.subject)}\n${msg.text}`);
			return {};
		},
		close() {},
	};
}
