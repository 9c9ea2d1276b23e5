import { startFakeServer, type FakeServer } from "./fake-providers";

/**
 * A local stand-in for Google Cloud Text-to-Speech's REST API (`POST /v1/text:synthesize`, API key
 * in `?key=`), answering as Google documents: 200 `{audioContent}` (the audio file, base64) for a
 * request with `input.text` (or `input.ssml`), `voice.languageCode` and `audioConfig.audioEncoding`;
 * 400 `INVALID_ARGUMENT` for a request without them; 403 `PERMISSION_DENIED` for a wrong key. Errors
 * have Google's shape `{error: {code, message, status}}`. The audio is a fixed small MP3 frame header
 * followed by the text's bytes, so a test can tell which text a file came from.
 */
export interface FakeGoogleTts extends FakeServer {
	/** The JSON bodies of the synthesize requests, in order. */
	synthesized: { input: { text?: string }; voice: { languageCode: string; name?: string }; audioConfig: { audioEncoding: string } }[];
	/** Next answers fail with this status (e.g. 503 `UNAVAILABLE`) while > 0. */
	failNext: number;
}

const MP3_HEADER = Buffer.from([0xff, 0xfb, 0x90, 0x64]);

export async function startFakeGoogleTts(apiKey = "fake-google-key"): Promise<FakeGoogleTts> {
	const server = (await startFakeServer()) as FakeGoogleTts;
	server.synthesized = [];
	server.failNext = 0;
	const error = (code: number, status: string, message: string) => ({ status: code, body: { error: { code, message, status } } });
	server.route("POST /v1/text:synthesize", (req) => {
		if (req.query.get("key") !== apiKey) return error(403, "PERMISSION_DENIED", "The request is missing a valid API key.");
		if (server.failNext > 0) {
			server.failNext--;
			return error(503, "UNAVAILABLE", "The service is currently unavailable.");
		}
		let body: FakeGoogleTts["synthesized"][number];
		try {
			body = JSON.parse(req.body);
		} catch {
			return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
		}
		if (!body?.input?.text || !body.voice?.languageCode || !body.audioConfig?.audioEncoding)
			return error(400, "INVALID_ARGUMENT", "input, voice.languageCode and audioConfig.audioEncoding are required.");
		server.synthesized.push(body);
		return { body: { audioContent: Buffer.concat([MP3_HEADER, Buffer.from(body.input.text, "utf8")]).toString("base64") } };
	});
	return server;
}
