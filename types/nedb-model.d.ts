/** @seald-io/nedb's internal modules used by lib/db/nedb-file.ts and lib/db/nedb-index.ts. */
declare module "@seald-io/nedb/lib/model.js" {
	const model: { serialize(doc: unknown): string; getDotValue(doc: unknown, field: string): unknown; deepCopy(doc: unknown): unknown };
	export default model;
}
declare module "@seald-io/nedb/lib/indexes.js" {
	const Index: unknown;
	export default Index;
}
