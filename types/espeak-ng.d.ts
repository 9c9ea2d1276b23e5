/** npm `espeak-ng` (eSpeak NG compiled to WebAssembly) ships no types; lib/tts/espeak.ts types what it uses. */
declare module "espeak-ng" {
	const factory: (opts: Record<string, unknown>) => Promise<unknown>;
	export default factory;
}
