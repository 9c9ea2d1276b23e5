// esbuild bundles CSS imported from a page into the page's stylesheet.
declare module "*.css";
