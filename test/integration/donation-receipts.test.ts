import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, registerUser, startHarness, waitFor, type Harness } from "../support/harness";
import { donate, pay, sandboxWebhook, setupStreamer, waitStatus } from "../support/flow";
import { SmtpCapture } from "../support/smtp-capture";

/**
 * A receipt email to a signed-in donor when the donation is paid: in the donor's language, with
 * the amount formatted and a PUBLIC_URL link, exactly once however often the payment's webhook
 * is delivered; none for anonymous donors or an unpaid donation. Mail through a real SMTP conversation.
 */
const PUBLIC_URL = "https://mediashar.example";
const smtp = new SmtpCapture();
let h: Harness;
let api: ReturnType<typeof client>;
let streamer: Awaited<ReturnType<typeof setupStreamer>>;

const receiptsTo = (address: string) => smtp.to(address).filter((m) => m.subject.includes("Receipt") || m.subject.includes("Tanda terima"));

beforeAll(async () => {
	const smtpUrl = await smtp.listen();
	h = await startHarness({
		services: ["users", "payments", "donations", "ledger", "stats", "notifications", "mailer"],
		env: { SCRYPT_COST: "1024", SMTP_URL: smtpUrl, PUBLIC_URL, MAIL_RETRY_BASE_MS: "50", MAIL_SWEEP_MS: "50", REDRIVE_INTERVAL_MS: "500" },
	});
	api = client(h.url);
	streamer = await setupStreamer(h.url);
});
afterAll(async () => {
	await h?.stop();
	await smtp.close();
});

describe("donation receipts", () => {
	it("mails a signed-in donor one English receipt with the formatted amount and the creator's page, however often the webhook comes", async () => {
		const donor = await registerUser(h.url, "donor");
		const address = `${donor.username}@example.test`;
		const res = await donate(h.url, streamer.username, { amount: 12_500_00, donorName: undefined, message: "mantap" }, { token: donor.token });
		expect(res.status).toBe(201);
		// Not paid yet: no receipt.
		expect(receiptsTo(address)).toHaveLength(0);
		const event = { event_id: `evt-receipt-${res.body.payment.id}`, payment_id: res.body.payment.id, status: "settlement" };
		expect((await sandboxWebhook(h.url, event)).status).toBe(200);
		await waitStatus(h.url, streamer.token, res.body.donation.id, "paid");
		await waitFor(() => receiptsTo(address).length === 1, 8000, "receipt");
		const mail = receiptsTo(address)[0];
		expect(mail.subject).toBe(`[MediaShar] Receipt: Rp 12.500 to ${streamer.username}`);
		expect(mail.text).toContain(`Your donation of Rp 12.500 to ${streamer.username} is paid.`);
		expect(mail.text).toContain(`Donation: ${res.body.donation.id}`);
		expect(mail.text).toContain("Message: mantap");
		expect(mail.text).toContain(`${PUBLIC_URL}/u/${streamer.username}`);

		// The same webhook again, and a second settlement event for the same payment: still one receipt.
		expect((await sandboxWebhook(h.url, event)).status).toBe(200);
		expect((await sandboxWebhook(h.url, { ...event, event_id: `evt-receipt-2-${res.body.payment.id}` })).status).toBe(200);
		// donations.paid redelivered (a node died before acknowledging it): the mailer's key holds.
		const view = (await api("GET", `/api/donations/${res.body.donation.id}`, undefined, { token: donor.token })).body;
		await h.broker.sendToChannel("donations.paid", { donation: view });
		// A later donation by someone else goes through the same mailer: once it arrives, the first was not repeated.
		const other = await registerUser(h.url, "later");
		const second = await donate(h.url, streamer.username, { donorName: undefined }, { token: other.token });
		await pay(h.url, second.body.payment.id);
		await waitFor(() => receiptsTo(`${other.username}@example.test`).length === 1, 8000, "second receipt");
		expect(receiptsTo(address)).toHaveLength(1);
	});

	it("writes the receipt in Indonesian for a donor who signed up in Indonesian", async () => {
		const name = `donorid${Date.now() % 100000}`;
		const reg = await api("POST", "/api/auth/register", { username: name, email: `${name}@example.test`, password: "correct horse battery", lang: "id" });
		expect(reg.status).toBe(201);
		const res = await donate(h.url, streamer.username, { amount: 100_000_00, donorName: undefined, message: undefined }, { token: reg.body.accessToken });
		await pay(h.url, res.body.payment.id);
		await waitFor(() => receiptsTo(`${name}@example.test`).length === 1, 8000, "receipt");
		const receipt = receiptsTo(`${name}@example.test`)[0];
		expect(receipt.subject).toBe(`[MediaShar] Tanda terima: Rp 100.000 untuk ${streamer.username}`);
		expect(receipt.text).toContain(`Terima kasih! Donasi kamu sebesar Rp 100.000 untuk ${streamer.username} sudah dibayar.`);
		expect(receipt.text).toContain(`Nomor donasi: ${res.body.donation.id}`);
		expect(receipt.text).not.toContain("Pesan:");
		expect(receipt.text).toContain(`${PUBLIC_URL}/u/${streamer.username}`);
	});

	it("sends nothing to an anonymous donor (no account), for a denied payment, or to a donor who turned receipts off", async () => {
		const donor = await registerUser(h.url, "denied");
		const denied = await donate(h.url, streamer.username, { donorName: undefined }, { token: donor.token });
		await pay(h.url, denied.body.payment.id, "deny");
		await waitStatus(h.url, streamer.token, denied.body.donation.id, "failed");
		const anon = await donate(h.url, streamer.username, { donorName: "Tamu" });
		await pay(h.url, anon.body.payment.id);
		await waitStatus(h.url, streamer.token, anon.body.donation.id, "paid");
		// A donor who turned receipts off gets none.
		const quiet = await registerUser(h.url, "quiet");
		expect((await api("PATCH", "/api/users/me", { settings: { email: { "donation.receipt": false } } }, { token: quiet.token })).status).toBe(200);
		const q = await donate(h.url, streamer.username, { donorName: undefined }, { token: quiet.token });
		await pay(h.url, q.body.payment.id);
		await waitStatus(h.url, streamer.token, q.body.donation.id, "paid");
		// Something that is mailed after both: a signed-in donor's paid donation.
		const marker = await registerUser(h.url, "marker");
		const m = await donate(h.url, streamer.username, { donorName: undefined }, { token: marker.token });
		await pay(h.url, m.body.payment.id);
		await waitFor(() => receiptsTo(`${marker.username}@example.test`).length === 1, 8000, "marker receipt");
		expect(receiptsTo(`${donor.username}@example.test`)).toHaveLength(0);
		expect(receiptsTo(`${quiet.username}@example.test`)).toHaveLength(0);
		expect(smtp.mails.filter((x) => x.subject.includes("Receipt") && x.text.includes(anon.body.donation.id))).toHaveLength(0);
	});
});
