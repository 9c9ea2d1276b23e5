/** @seald-io/nedb's internal document serializer (lib/model.js), used by lib/nedb-file.ts. */
declare module "@seald-io/nedb/lib/model.js" {
	const model: { serialize(doc: unknown): string };
	export default model;
}
