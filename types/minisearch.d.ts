/**
 * minisearch publishes `minisearch/SearchableMap` through package `exports`, which this
 * project's `moduleResolution: "node"` does not read; point the subpath at its own typings.
 */
declare module "minisearch/SearchableMap" {
	import SearchableMap from "minisearch/dist/es/SearchableMap";
	export default SearchableMap;
}
