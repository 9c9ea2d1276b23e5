/**
 * Demo data through the public HTTP API only (what a real client would do): a streamer with
 * donations on and a goal, a few viewers who follow, post, like and comment, and donations paid
 * through the sandbox provider. A step whose endpoint answers 404 (its service is not running in
 * this deployment) is skipped with a message, not failed.
 */

export interface DemoOptions {
	password?: string;
	streamer?: string;
	viewers?: number;
	log?: (line: string) => void;
	/** How long to wait for a sandbox payment to settle. */
	settleTimeoutMs?: number;
}

export interface DemoResult {
	base: string;
	streamer: { username: string; token: string; overlayUrl: string | null };
	viewers: string[];
	donations: Array<{ id: string; status: string }>;
	posts: string[];
	skipped: string[];
	urls: Record<string, string>;
	curl: string[];
}

class Skip extends Error {}

interface Res {
	status: number;
	body: any;
}

export function demoClient(base: string) {
	return async function request(method: string, p: string, body?: unknown, token?: string): Promise<Res> {
		const headers: Record<string, string> = {};
		if (token) headers.Authorization = `Bearer ${token}`;
		if (body !== undefined) headers["Content-Type"] = "application/json";
		const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
		const text = await res.text();
		let parsed: any = text;
		try {
			parsed = text ? JSON.parse(text) : null;
		} catch {
			/* not JSON */
		}
		return { status: res.status, body: parsed };
	};
}

/** Throws Skip on 404 (endpoint not deployed), an Error on any other unexpected status. */
function expectStatus(res: Res, ok: number[], what: string): Res {
	if (ok.includes(res.status)) return res;
	if (res.status === 404) throw new Skip(`${what} answered 404`);
	throw new Error(`${what} failed: HTTP ${res.status} ${typeof res.body === "object" ? JSON.stringify(res.body) : String(res.body).slice(0, 200)}`);
}

export async function runDemo(base: string, opts: DemoOptions = {}): Promise<DemoResult> {
	const log = opts.log ?? ((l: string) => console.log(l));
	const api = demoClient(base.replace(/\/+$/, ""));
	const password = opts.password ?? "demo password 1234";
	const streamerName = opts.streamer ?? "demo_streamer";
	const skipped: string[] = [];
	const result: DemoResult = {
		base,
		streamer: { username: streamerName, token: "", overlayUrl: null },
		viewers: [],
		donations: [],
		posts: [],
		skipped,
		urls: {},
		curl: [],
	};

	async function step<T>(title: string, fn: () => Promise<T>): Promise<T | undefined> {
		const started = Date.now();
		try {
			const v = await fn();
			log(`  ✓ ${title} (${Date.now() - started} ms)`);
			return v;
		} catch (err) {
			if (err instanceof Skip) {
				skipped.push(`${title}: ${err.message}`);
				log(`  - ${title}: skipped, ${err.message} (that service is not running here)`);
				return undefined;
			}
			log(`  ✗ ${title}: ${(err as Error).message}`);
			throw err;
		}
	}

	/** Registers, or signs in when the account already exists (the demo can run twice). */
	async function account(username: string, displayName: string): Promise<{ token: string; user: any }> {
		const reg = await api("POST", "/api/auth/register", { username, email: `${username}@example.test`, password, displayName });
		if (reg.status === 201) return { token: reg.body.accessToken, user: reg.body.user };
		if (reg.status === 409) {
			const login = expectStatus(await api("POST", "/api/auth/login", { login: username, password }), [200], `sign in as ${username}`);
			return { token: login.body.accessToken, user: login.body.user };
		}
		expectStatus(reg, [201], `register ${username}`);
		throw new Error("unreachable");
	}

	log(`MediaShar demo against ${base}`);
	const health = await api("GET", "/health").catch((err: Error) => {
		throw new Error(`${base} is not reachable (${err.message}). Start it with \`npm start\` or unset DEMO_URL.`);
	});
	if (health.status !== 200) throw new Error(`${base}/health answered ${health.status}`);

	const streamer = await step(`streamer @${streamerName}`, () => account(streamerName, "Demo Streamer"));
	if (!streamer) throw new Error("The users service must be running: nothing can be seeded without accounts.");
	result.streamer.token = streamer.token;

	await step("donations on (IDR, minimum Rp 1.000) and alert settings", async () => {
		const res = expectStatus(
			await api(
				"PATCH",
				"/api/users/me",
				{
					bio: "Streaming MediaShar demos every night",
					settings: { donations: { enabled: true, minAmount: 1_000_00, currency: "IDR" }, alerts: { displaySeconds: 8 } },
				},
				streamer.token,
			),
			[200],
			"PATCH /api/users/me",
		);
		result.streamer.overlayUrl = res.body.overlayUrl ?? null;
		if (!result.streamer.overlayUrl && res.body.overlayToken)
			result.streamer.overlayUrl = `${base}/overlay/alerts?token=${encodeURIComponent(res.body.overlayToken)}`;
	});

	await step("goal: New microphone, Rp 1.000.000", async () => {
		expectStatus(
			await api("PUT", "/api/me/goal", { title: "New microphone", target: 1_000_000_00, currency: "IDR" }, streamer.token),
			[200, 201, 204],
			"PUT /api/me/goal",
		);
	});

	const viewers: Array<{ username: string; token: string }> = [];
	for (let i = 1; i <= (opts.viewers ?? 3); i++) {
		const name = `demo_viewer${i}`;
		const v = await step(`viewer @${name}`, () => account(name, `Viewer ${i}`));
		if (v) viewers.push({ username: name, token: v.token });
	}
	result.viewers = viewers.map((v) => v.username);

	await step("viewers follow the streamer", async () => {
		for (const v of viewers)
			expectStatus(await api("PUT", `/api/users/${streamerName}/follow`, undefined, v.token), [200, 204], "PUT /api/users/:username/follow");
	});

	const posts = [
		{ title: "Schedule this week", body: "Mon/Wed/Fri 20:00 WIB, ranked grind. Thank you for every donation!" },
		{ title: "Goal: a new microphone", body: "Every donation goes to the mic goal on the overlay." },
	];
	await step("streamer posts", async () => {
		for (const p of posts) {
			const res = expectStatus(await api("POST", "/api/posts", p, streamer.token), [200, 201], "POST /api/posts");
			const id = res.body?.id ?? res.body?.post?.id;
			if (id) result.posts.push(id);
		}
	});

	if (result.posts.length) {
		await step("viewers like and comment", async () => {
			const postId = result.posts[0];
			for (const v of viewers)
				expectStatus(await api("PUT", `/api/likes/post/${postId}`, undefined, v.token), [200, 201, 204], "PUT /api/likes/:type/:id");
			const first = viewers[0];
			if (first)
				expectStatus(
					await api("POST", "/api/comments", { type: "post", id: postId, text: "See you on stream! 🎮" }, first.token),
					[200, 201],
					"POST /api/comments",
				);
		});
	}

	const gifts = [
		{ donorName: "Budi", message: "Semangat bang!", amount: 10_000_00, token: undefined as string | undefined },
		{ donorName: viewers[0]?.username ?? "Sari", message: "For the mic 🎤", amount: 50_000_00, token: viewers[0]?.token },
		{ donorName: viewers[1]?.username ?? "Andi", message: "GG tonight", amount: 25_000_00, token: viewers[1]?.token },
	];
	await step(`${gifts.length} donations paid through the sandbox`, async () => {
		for (const g of gifts) {
			const res = expectStatus(
				await api(
					"POST",
					"/api/donations",
					{ to: streamerName, amount: g.amount, currency: "IDR", provider: "sandbox", donorName: g.donorName, message: g.message },
					g.token,
				),
				[200, 201],
				"POST /api/donations",
			);
			const donation = res.body.donation;
			const payment = res.body.payment;
			expectStatus(
				await api("POST", `/api/payments/sandbox/${payment.id}/complete`, { outcome: "settlement" }),
				[200, 202],
				"POST /api/payments/sandbox/:id/complete",
			);
			const status = await waitPaid(api, donation.id, streamer.token, opts.settleTimeoutMs ?? 10_000);
			result.donations.push({ id: donation.id, status });
			log(`      Rp ${(g.amount / 100).toLocaleString("id-ID")} from ${g.donorName}: ${status}`);
		}
	});

	await step("stats", async () => {
		const res = expectStatus(await api("GET", `/api/users/${streamerName}/stats`), [200], "GET /api/users/:username/stats");
		const totals = (res.body?.totals ?? [])
			.map((t: any) => `${t.count} paid donation(s), ${t.formattedAmount ?? `${t.amount} ${t.currency} (minor units)`}`)
			.join("; ");
		log(`      ${totals || "no paid donations yet"}`);
	});

	result.urls = {
		overlay: result.streamer.overlayUrl ?? "(overlay token not available)",
		donationPage: `${base}/u/${streamerName}`,
		dashboard: `${base}/dashboard`,
		apiDocs: `${base}/api/docs`,
		health: `${base}/health/services`,
		metrics: `${base}/metrics`,
	};
	result.curl = [
		`curl -s ${base}/api/users/${streamerName}`,
		`curl -s ${base}/api/users/${streamerName}/stats`,
		`curl -s -X POST ${base}/api/auth/login -H 'Content-Type: application/json' -d '{"login":"${streamerName}","password":"${password}"}'`,
		`curl -s -X POST ${base}/api/donations -H 'Content-Type: application/json' -d '{"to":"${streamerName}","amount":500000,"currency":"IDR","provider":"sandbox","donorName":"Curl","message":"hello from curl"}'`,
		`curl -s -X POST ${base}/api/payments/sandbox/<payment.id>/complete -H 'Content-Type: application/json' -d '{"outcome":"settlement"}'`,
		`curl -s ${base}/metrics | grep mediashar_`,
	];
	return result;
}

async function waitPaid(api: ReturnType<typeof demoClient>, donationId: string, token: string, timeoutMs: number): Promise<string> {
	const deadline = Date.now() + timeoutMs;
	let status = "pending";
	while (Date.now() < deadline) {
		const res = await api("GET", `/api/donations/${donationId}`, undefined, token);
		if (res.status === 404) throw new Skip("GET /api/donations/:id answered 404");
		status = res.body?.status ?? res.body?.donation?.status ?? status;
		if (status !== "pending") return status;
		await new Promise((r) => setTimeout(r, 100));
	}
	return status;
}

/** The closing text: where to look and what to try. */
export function demoSummary(r: DemoResult, password: string): string {
	const lines = [
		"",
		"Open these:",
		`  Overlay (add as an OBS browser source): ${r.urls.overlay}`,
		`  Donation page:                          ${r.urls.donationPage}`,
		`  Dashboard (sign in as ${r.streamer.username} / "${password}"): ${r.urls.dashboard}`,
		`  API docs:                               ${r.urls.apiDocs}`,
		`  Health / metrics:                       ${r.urls.health}  ${r.urls.metrics}`,
		"",
		"Try:",
		...r.curl.map((c) => `  ${c}`),
	];
	if (r.skipped.length) lines.push("", "Skipped (not running in this deployment):", ...r.skipped.map((s) => `  ${s}`));
	return lines.join("\n");
}
